package label

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// report computes the dashboard's figures: the labels, the events, and a
// line for every annotator, those without labels included.
func (s *Server) report() (Report, error) {
	if err := s.refresh(); err != nil {
		return Report{}, err
	}
	rep := Summarize(s.queue.Pairs(), s.store.Labels(), s.cfg.Policy)
	AddEvents(&rep, s.events.counting())
	have := map[string]bool{}
	for _, a := range rep.Annotators {
		have[a.Name] = true
	}
	var missing []Event
	for _, name := range s.accounts.annotators() {
		if !have[name] {
			missing = append(missing, Event{Annotator: name})
		}
	}
	AddEvents(&rep, missing) // an event of no kind adds the line only
	return rep, nil
}

type adminAccount struct {
	Name  string
	Link  string // set once, right after the account is made
	Count int
}

type adminPage struct {
	Title, Who, CSRF string
	Report           Report
	Accounts         []adminAccount
	BadLines         []string
	Flash            string
	NewLink          string
	NewName          string
	Error            string
}

func (s *Server) adminPage(r *http.Request, tok string) (adminPage, error) {
	rep, err := s.report()
	if err != nil {
		return adminPage{}, err
	}
	page := adminPage{Title: s.cfg.Title, Who: "admin", CSRF: csrfToken(tok), Report: rep}
	for _, name := range s.accounts.annotators() {
		page.Accounts = append(page.Accounts, adminAccount{Name: name, Count: s.store.CountBy(name)})
	}
	page.BadLines = append(append(append(s.queue.BadLines(), s.store.BadLines()...), s.events.badLines()...), s.accounts.badLines()...)
	switch m := r.URL.Query().Get("m"); m {
	case "revoked":
		page.Flash = "The annotator's link no longer works. Their labels stay."
	}
	return page, nil
}

func (s *Server) getAdmin(w http.ResponseWriter, r *http.Request, _, tok string) {
	page, err := s.adminPage(r, tok)
	if err != nil {
		http.Error(w, "label: "+err.Error(), http.StatusInternalServerError)
		return
	}
	s.render(w, "admin.html", page)
}

func (s *Server) apiReport(w http.ResponseWriter, r *http.Request, _, _ string) {
	rep, err := s.report()
	if err != nil {
		http.Error(w, "label: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, rep)
}

// Export formats of /admin/export?format=.
const (
	ExportFormatJSONL       = "jsonl"       // the labels that count, one Label a line
	ExportFormatLabelStudio = "labelstudio" // Label Studio tasks with the labels as annotations
	ExportFormatArgilla     = "argilla"     // Argilla records with the labels as responses
)

func (s *Server) getExport(w http.ResponseWriter, r *http.Request, _, _ string) {
	if err := s.refresh(); err != nil {
		http.Error(w, "label: "+err.Error(), http.StatusInternalServerError)
		return
	}
	labels := s.store.Labels()
	var (
		write func(io.Writer) error
		name  string
		ctype = "application/json"
	)
	switch f := r.URL.Query().Get("format"); f {
	case ExportFormatJSONL:
		write, name, ctype = func(w io.Writer) error { return ExportLabels(w, labels) }, "human_labels.jsonl", "application/jsonl"
	case ExportFormatLabelStudio:
		write, name = func(w io.Writer) error { return ExportLabelStudioLabels(w, s.queue.Pairs(), labels) }, "labelstudio_tasks.json"
	case ExportFormatArgilla:
		write, name = func(w io.Writer) error { return ExportArgillaLabels(w, s.queue.Pairs(), labels) }, "argilla_records.json"
	default:
		s.httpError(w, r, http.StatusBadRequest, "unknown export format %q (want %s, %s or %s)", f, ExportFormatJSONL, ExportFormatLabelStudio, ExportFormatArgilla)
		return
	}
	// Written to memory first, so that a failure is a 500, not a file cut
	// short that looks whole.
	var b bytes.Buffer
	if err := write(&b); err != nil {
		http.Error(w, "label: export: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_, _ = w.Write(b.Bytes())
}

// baseURL is the address the browser used to reach the server.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// postAddAnnotator makes an annotator account and shows its link once: only
// its hash is kept.
func (s *Server) postAddAnnotator(w http.ResponseWriter, r *http.Request, _, tok string) {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	page, err := s.adminPage(r, tok)
	if err != nil {
		http.Error(w, "label: "+err.Error(), http.StatusInternalServerError)
		return
	}
	switch err := checkName(name); {
	case err != nil:
		page.Error = "Cannot add this annotator: " + err.Error() + "."
	case s.accounts.has(name):
		page.Error = "There is already an annotator named " + name + ": revoke them first to give them a new link."
	default:
		newTok := NewToken()
		if err := s.accounts.set(name, roleAnnotator, newTok, s.now()); err != nil {
			http.Error(w, "label: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if page, err = s.adminPage(r, tok); err != nil {
			http.Error(w, "label: "+err.Error(), http.StatusInternalServerError)
			return
		}
		page.NewName = name
		page.NewLink = baseURL(r) + "/?token=" + url.QueryEscape(newTok)
	}
	w.Header().Set("Cache-Control", "no-store")
	if page.Error != "" {
		w.WriteHeader(http.StatusBadRequest)
	}
	s.render(w, "admin.html", page)
}

// postRevoke ends an annotator's access: their link stops working, their
// leases go back to the queue, their labels stay.
func (s *Server) postRevoke(w http.ResponseWriter, r *http.Request, _, _ string) {
	name := r.PostForm.Get("name")
	if !s.accounts.has(name) || name == adminName {
		s.httpError(w, r, http.StatusNotFound, "no annotator %q", name)
		return
	}
	if err := s.accounts.revoke(name, s.now()); err != nil {
		http.Error(w, "label: "+err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	s.take(nil, name, s.now(), false)
	s.mu.Unlock()
	http.Redirect(w, r, "/admin?m=revoked", http.StatusSeeOther)
}
