package label

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prefdata/prefdata"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Annotator is one person allowed to label.
type Annotator struct {
	Name string
	// Token is the secret in the annotator's link: [NewToken] makes good
	// ones, and a weak one is refused ([CheckToken]). Leave it empty to keep
	// the token the annotator already has in the run directory's
	// [FileAccounts] (their link keeps working), or to have a new one made
	// for a new annotator; [Server.Annotators] returns the new ones.
	Token string
}

// Config configures a [Server].
type Config struct {
	// Dir is the run directory: the queue is read from it, labels are
	// appended to its [FileHumanLabels], skips, flags and gold answers to
	// its [FileLabelEvents], and the accounts (hashed tokens) kept in its
	// [FileAccounts].
	Dir *prefdata.RunDir
	// Annotators are people to add (or whose token to change). Those made
	// before (by an earlier server on Dir or from the dashboard) stay.
	Annotators []Annotator
	// AdminToken opens the dashboard. Empty keeps the one in Dir's
	// [FileAccounts], or makes one on the first start
	// ([Server.AdminToken] returns it).
	AdminToken string
	// Policy sets the overlap (Policy.Labels distinct annotators per pair)
	// and how labels are aggregated; give [Human] the same one.
	Policy Policy
	// Lease is how long an item handed to an annotator stays theirs before
	// it goes back to the queue (default 10 minutes).
	Lease time.Duration
	// Title heads every page (default "prefdata labeling").
	Title string
	// Guidelines is the text of the guidelines page, written by the data
	// owner, in Markdown.
	Guidelines string
	// Seed varies the random side order; the order is stable for a given
	// seed, annotator and item, so a reload shows the same sides.
	Seed string
	// StrengthOptional lets a label of A or B be saved without a strength
	// (stored as 0: unknown). By default none is preselected and the label
	// waits until the annotator picks one: a preset strength biases the
	// data toward it.
	StrengthOptional bool
	// Gold are items whose answer is known, shown unmarked among the queue's
	// items at GoldRate (the share of items served, 0 to 1) to measure each
	// annotator's accuracy; each annotator sees each gold item at most once.
	// Their answers go to [FileLabelEvents], never to the labels.
	Gold     []GoldItem
	GoldRate float64
	// Now returns the time (default time.Now); tests move it to expire
	// leases.
	Now func() time.Time
}

// Server is the annotation web app: an [http.Handler] that serves the human
// queue of a run directory to annotators and a dashboard to the data owner.
// Labels are appended to the run directory before a response returns, so
// killing the server loses nothing, and a new server on the same directory
// carries on where the last one stopped, with the same links.
//
// Every label is written to the operating system before the response; it
// is fsynced within the run directory's SyncInterval when more labels
// follow. Set RunDir.SyncInterval negative to fsync each label, or call
// Store().Sync on a timer (examples/label-server does both, by flag).
// Other processes may append labels to the same file meanwhile (an import,
// a second server): the server picks them up.
//
// Pairs are offered by Provenance.Value, highest first (ties in queue
// order); Provenance is never shown to annotators, so audit pairs
// (Provenance.Audit) are unmarked among the others.
//
// Routes: /label (the pairwise view; POST submits a label), /skip (POST: a
// skip or a "broken" flag with a reason), /undo (POST), /guidelines,
// /api/next and /api/progress (JSON) for annotators; /admin (dashboard),
// /admin/export, /admin/api/report, /admin/annotators and /admin/revoke
// (POST) for the data owner; /static/. Authenticate with ?token=T once (it
// becomes a cookie: the annotator's for /, the admin's for /admin only, so
// both work in one browser), or an "Authorization: Bearer T" header. Serve
// it with [NewHTTPServer], whose timeouts bound slow and idle clients.
type Server struct {
	cfg      Config
	queue    *Queue
	store    *Store
	events   *events
	accounts *accounts
	mux      *http.ServeMux
	tmpl     *template.Template
	now      func() time.Time

	newTokens map[string]string // annotator → token made or given at start
	adminTok  string            // made or given at start; "" when kept
	gold      map[string]GoldItem

	mu       sync.Mutex
	leases   map[string]map[string]lease // pair → annotator → lease
	mine     map[string][]string         // annotator → pairs leased (one item: a pair, or a ranking group)
	goldHeld map[string]goldLease        // annotator → the gold item they hold
	cache    map[string]Decision         // pair → decision, valid for cacheAt
	cacheAt  uint64
	order    []int // queue indexes by Value, highest first
	cursor   int   // items of order before it are all closed
}

type lease struct {
	start, expires time.Time
}

type goldLease struct {
	id string
	lease
}

// Cookie names: the annotator's is sent to every path, the admin's only to
// /admin, so an admin link opened in an annotator's browser leaves the
// annotator's session alone (and the other way round).
const (
	cookieName      = "prefdata_label"
	adminCookieName = "prefdata_admin"
)

// NewServer reads the queue, the labels and the accounts of cfg.Dir and
// returns the app.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Dir == nil {
		return nil, errors.New("label: Config.Dir is nil")
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 10 * time.Minute
	}
	if cfg.Title == "" {
		cfg.Title = "prefdata labeling"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.GoldRate < 0 || cfg.GoldRate > 1 || cfg.GoldRate != cfg.GoldRate {
		return nil, fmt.Errorf("label: Config.GoldRate %v is not between 0 and 1", cfg.GoldRate)
	}
	s := &Server{
		cfg: cfg, now: cfg.Now,
		newTokens: map[string]string{}, gold: map[string]GoldItem{},
		leases: map[string]map[string]lease{}, mine: map[string][]string{}, goldHeld: map[string]goldLease{},
	}
	var err error
	if s.accounts, err = openAccounts(cfg.Dir); err != nil {
		return nil, err
	}
	if err := s.setAccounts(); err != nil {
		return nil, err
	}
	if s.queue, err = OpenQueue(cfg.Dir); err != nil {
		return nil, err
	}
	if s.store, err = OpenStore(cfg.Dir); err != nil {
		return nil, err
	}
	if s.events, err = openEvents(cfg.Dir); err != nil {
		return nil, err
	}
	for i, g := range cfg.Gold {
		if err := g.check(); err != nil {
			return nil, fmt.Errorf("label: gold item %d: %w", i, err)
		}
		if _, dup := s.gold[g.Pair.ID]; dup {
			return nil, fmt.Errorf("label: gold item %d: pair %s given twice", i, g.Pair.ID)
		}
		if _, inQueue := s.queue.Pair(g.Pair.ID); inQueue {
			return nil, fmt.Errorf("label: gold item %d: pair %s is also in the queue", i, g.Pair.ID)
		}
		s.gold[g.Pair.ID] = g
	}
	s.tmpl, err = template.New("").Funcs(template.FuncMap{
		"role": func(r string) string {
			switch r {
			case prefdata.RoleSystem, prefdata.RoleUser, prefdata.RoleAssistant:
				return r
			}
			return "other"
		},
		"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) },
		"f3":    func(f float64) string { return fmt.Sprintf("%.3f", f) },
		"f1":    func(f float64) string { return fmt.Sprintf("%.1f", f) },
		"inc":   func(i int) int { return i + 1 },
		"md":    RenderMarkdown,
		"lower": strings.ToLower,
		"turns": func(p prefdata.Prompt) []turn {
			return promptTurns(p)
		},
	}).ParseFS(assets, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("label: templates: %w", err)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /static/", staticFiles)
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		u := url.URL{Path: "/label", RawQuery: r.URL.RawQuery} // keeps ?token=
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
	})
	s.mux.HandleFunc("GET /label", s.annotator(s.getLabel))
	s.mux.HandleFunc("POST /label", s.annotator(s.csrf(s.postLabel)))
	s.mux.HandleFunc("POST /rank", s.annotator(s.csrf(s.postRank)))
	s.mux.HandleFunc("POST /skip", s.annotator(s.csrf(s.postSkip)))
	s.mux.HandleFunc("POST /undo", s.annotator(s.csrf(s.postUndo)))
	s.mux.HandleFunc("GET /guidelines", s.annotator(s.getGuidelines))
	s.mux.HandleFunc("GET /api/next", s.annotator(s.apiNext))
	s.mux.HandleFunc("GET /api/progress", s.annotator(s.apiProgress))
	s.mux.HandleFunc("GET /admin", s.admin(s.getAdmin))
	s.mux.HandleFunc("GET /admin/api/report", s.admin(s.apiReport))
	s.mux.HandleFunc("GET /api/report", s.admin(s.apiReport))
	s.mux.HandleFunc("GET /admin/export", s.admin(s.getExport))
	s.mux.HandleFunc("POST /admin/annotators", s.admin(s.csrf(s.postAddAnnotator)))
	s.mux.HandleFunc("POST /admin/revoke", s.admin(s.csrf(s.postRevoke)))
	return s, nil
}

// setAccounts writes the tokens of the configuration to the accounts file:
// given ones (checked), and made ones for new names.
func (s *Server) setAccounts() error {
	now := s.now()
	seen := map[string]bool{}
	given := map[string]string{} // token → who
	claim := func(name, who, tok string) error {
		if other, dup := given[tok]; dup {
			return fmt.Errorf("label: %s and %s were given the same token", other, who)
		}
		given[tok] = who
		if a, ok := s.accounts.lookup(tok); ok && a.name != name {
			return fmt.Errorf("label: the token given for %s is already another account's", who)
		}
		return nil
	}
	for i, a := range s.cfg.Annotators {
		if err := checkName(a.Name); err != nil {
			return fmt.Errorf("label: annotator %d: %w", i, err)
		}
		if seen[a.Name] {
			return fmt.Errorf("label: annotator %q listed twice", a.Name)
		}
		seen[a.Name] = true
		tok := a.Token
		if tok == "" {
			if s.accounts.has(a.Name) {
				continue // keeps the link already handed out
			}
			tok = NewToken()
		} else if err := CheckToken(tok); err != nil {
			return fmt.Errorf("label: annotator %q: weak token refused: %w", a.Name, err)
		}
		if err := claim(a.Name, fmt.Sprintf("annotator %q", a.Name), tok); err != nil {
			return err
		}
		if err := s.accounts.set(a.Name, roleAnnotator, tok, now); err != nil {
			return err
		}
		s.newTokens[a.Name] = tok
	}
	tok := s.cfg.AdminToken
	if tok == "" {
		if s.accounts.has(adminName) {
			return nil
		}
		tok = NewToken()
	} else if err := CheckToken(tok); err != nil {
		return fmt.Errorf("label: admin token: weak token refused: %w", err)
	}
	if err := claim(adminName, "the admin", tok); err != nil {
		return err
	}
	s.adminTok = tok
	return s.accounts.set(adminName, roleAdmin, tok, now)
}

// NewToken returns a fresh random token: 32 characters of URL-safe base64
// (192 bits).
func NewToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic("label: crypto/rand: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Annotators returns every annotator who may label now (made by this
// server or an earlier one on the same run directory), in the order they
// were first made. Token is set for the tokens made or given to this
// server, and empty for those kept from before (only their hash is stored;
// the links handed out then still work).
func (s *Server) Annotators() []Annotator {
	var out []Annotator
	for _, name := range s.accounts.annotators() {
		out = append(out, Annotator{Name: name, Token: s.newTokens[name]})
	}
	return out
}

// AdminToken returns the dashboard's token when this server made it or was
// given it, and "" when it was kept from an earlier server on the same run
// directory (give a new one in Config.AdminToken to replace it).
func (s *Server) AdminToken() string { return s.adminTok }

// Store returns the labels the server writes.
func (s *Server) Store() *Store { return s.store }

// Queue returns the queue the server serves.
func (s *Server) Queue() *Queue { return s.queue }

// NewHTTPServer returns an http.Server for h with limits for an app open to
// a team for hours: a client that sends its request slowly, or keeps an
// idle connection open, is cut off, and headers are bounded.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		// A label form is a few kilobytes: 10 s is generous.
		ReadTimeout: 10 * time.Second,
		// An export of a large queue takes the longest to write.
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    30 * time.Second,
		MaxHeaderBytes: 16 << 10,
	}
}

// ServeHTTP implements [http.Handler].
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	s.mux.ServeHTTP(w, r)
}

// staticFiles serves the embedded assets, files only: a directory (the
// folder itself, /static/) is not found rather than listed.
func staticFiles(w http.ResponseWriter, r *http.Request) {
	static, _ := fs.Sub(assets, "static")
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	if st, err := fs.Stat(static, name); name == "" || err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, static, name)
}

// httpError is a 4xx with a message for the person or program that sent
// the request: a page for a browser, plain text for a program.
func (s *Server) httpError(w http.ResponseWriter, r *http.Request, code int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	w.Header().Set("Cache-Control", "no-store")
	if r != nil && strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		_ = s.tmpl.ExecuteTemplate(w, "error.html", struct {
			Title, Who, Status, Message string
			Code                        int
		}{s.cfg.Title, "", http.StatusText(code), msg, code})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, "%d %s: %s\n", code, http.StatusText(code), msg)
}

// linkToken handles a ?token= on a GET: the token becomes the cookie of its
// role (the annotator's or the admin's, never both) and the browser is sent
// to the same page without it, so it does not linger in the address bar or
// history. It reports whether it answered the request.
func (s *Server) linkToken(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if !q.Has("token") || r.Method != http.MethodGet {
		return false
	}
	a, ok := s.accounts.lookup(q.Get("token"))
	if !ok {
		s.httpError(w, r, http.StatusUnauthorized, "This link's token is not valid: it was mistyped, or revoked. Ask the person who runs the labeling for your link.")
		return true
	}
	q.Del("token")
	u := *r.URL
	u.RawQuery = q.Encode()
	if a.role == roleAdmin {
		http.SetCookie(w, &http.Cookie{Name: adminCookieName, Value: r.URL.Query().Get("token"), Path: "/admin", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		if !strings.HasPrefix(u.Path, "/admin") {
			u.Path = "/admin"
		}
	} else {
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: r.URL.Query().Get("token"), Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		if strings.HasPrefix(u.Path, "/admin") {
			u.Path = "/label"
		}
	}
	http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
	return true
}

// requestToken returns the bearer token, or the named cookie's.
func requestToken(r *http.Request, cookie string) string {
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		return strings.TrimPrefix(a, "Bearer ")
	}
	if c, err := r.Cookie(cookie); err == nil {
		return c.Value
	}
	return ""
}

type annotatorHandler func(w http.ResponseWriter, r *http.Request, name, tok string)

func (s *Server) annotator(h annotatorHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.linkToken(w, r) {
			return
		}
		tok := requestToken(r, cookieName)
		a, ok := s.accounts.lookup(tok)
		switch {
		case ok && a.role == roleAnnotator:
			h(w, r, a.name, tok)
		case ok:
			s.httpError(w, r, http.StatusForbidden, "the admin token opens the dashboard (/admin), not the labeling pages: open an annotator's link to label")
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="prefdata labeling"`)
			s.httpError(w, r, http.StatusUnauthorized, "a valid annotator token is required: open the link you were given (…?token=…)")
		}
	}
}

func (s *Server) admin(h annotatorHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.linkToken(w, r) {
			return
		}
		tok := requestToken(r, adminCookieName)
		if a, ok := s.accounts.lookup(tok); !ok || a.role != roleAdmin {
			w.Header().Set("WWW-Authenticate", `Bearer realm="prefdata labeling admin"`)
			s.httpError(w, r, http.StatusUnauthorized, "the admin token is required: open the dashboard's link (/admin?token=…)")
			return
		}
		h(w, r, "admin", tok)
	}
}

// csrfToken is derived from the secret token, so only a page that was
// served to its holder knows it, and it survives restarts.
func csrfToken(tok string) string {
	m := hmac.New(sha256.New, []byte(tok))
	m.Write([]byte("prefdata label csrf"))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

const maxForm = 64 << 10

func (s *Server) csrf(h annotatorHandler) annotatorHandler {
	return func(w http.ResponseWriter, r *http.Request, name, tok string) {
		if o := r.Header.Get("Origin"); o != "" && o != "null" {
			u, err := url.Parse(o)
			if err != nil || u.Host != r.Host {
				s.httpError(w, r, http.StatusForbidden, "cross-site request refused (Origin %q)", o)
				return
			}
		}
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			s.httpError(w, r, http.StatusForbidden, "cross-site request refused")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			code := http.StatusBadRequest
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				code = http.StatusRequestEntityTooLarge
			}
			s.httpError(w, r, code, "cannot read the form: %v", err)
			return
		}
		got := r.PostForm.Get("csrf")
		if got == "" {
			got = r.Header.Get("X-CSRF-Token")
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(tok))) != 1 {
			s.httpError(w, r, http.StatusForbidden, "missing or wrong CSRF token: reload the page and try again")
			return
		}
		h(w, r, name, tok)
	}
}

// refresh picks up pairs queued and labels added by other processes.
func (s *Server) refresh() error {
	if _, err := s.queue.Refresh(); err != nil {
		return err
	}
	if err := s.events.refresh(); err != nil {
		return err
	}
	changed, err := s.store.refresh()
	if changed {
		// A label from elsewhere can reopen a settled pair (a tie that asks
		// for one more label): look at the whole queue again.
		s.mu.Lock()
		s.cursor = 0
		s.mu.Unlock()
	}
	return err
}

// decision returns the pair's decision, cached until the labels change.
// s.mu is held.
func (s *Server) decision(p prefdata.Pair) Decision {
	if v := s.store.Version(); v != s.cacheAt || s.cache == nil {
		s.cache, s.cacheAt = map[string]Decision{}, v
	}
	d, ok := s.cache[p.ID]
	if !ok {
		d = s.cfg.Policy.Decide(p, s.store.ForPair(p.ID))
		s.cache[p.ID] = d
	}
	return d
}

// ordered returns the queue indexes in serving order: Value, highest
// first, ties in queue order. It is rebuilt when the queue grows. s.mu is
// held.
func (s *Server) ordered() []int {
	n := s.queue.Len()
	if len(s.order) == n {
		return s.order
	}
	order := make([]int, n)
	value := make([]float64, n)
	for i := range order {
		order[i] = i
		value[i] = s.queue.At(i).Provenance.Value
	}
	sort.SliceStable(order, func(a, b int) bool { return value[order[a]] > value[order[b]] })
	s.order, s.cursor = order, 0
	return order
}

// activeLeases counts the unexpired leases of a pair other than except's.
// s.mu is held.
func (s *Server) activeLeases(pairID, except string, now time.Time) int {
	n := 0
	for a, l := range s.leases[pairID] {
		if a != except && l.expires.After(now) {
			n++
		}
	}
	return n
}

// open reports whether pair p can take another label from annotator.
// s.mu is held.
func (s *Server) open(p prefdata.Pair, annotator string, now time.Time) bool {
	d := s.decision(p)
	if d.Status != Pending || s.store.Has(p.ID, annotator) || s.events.hasPassed(annotator, p.ID) {
		return false
	}
	return s.store.Count(p.ID)+s.activeLeases(p.ID, annotator, now) < d.Want
}

// next returns the item annotator should label now, leasing it: the item
// they already hold, or the first open one by Value. An item is one pair,
// or, when other open pairs of the same prompt bring the responses to three
// or more, all of them: a ranking. At Config.GoldRate, while queue items
// remain, it is a gold item instead (gold is true).
func (s *Server) next(annotator string) (group []prefdata.Pair, gold bool, err error) {
	if err := s.refresh(); err != nil {
		return nil, false, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.goldHeld[annotator]; ok && g.expires.After(now) && !s.events.hasPassed(annotator, g.id) {
		g.expires = now.Add(s.cfg.Lease)
		s.goldHeld[annotator] = g
		return []prefdata.Pair{s.gold[g.id].Pair}, true, nil
	}
	var held []prefdata.Pair
	for _, id := range s.mine[annotator] {
		l := s.leases[id][annotator]
		p, _ := s.queue.Pair(id)
		if l.expires.After(now) && !s.store.Has(id, annotator) && !s.events.hasPassed(annotator, id) && s.decision(p).Status == Pending {
			held = append(held, p)
		}
	}
	if len(held) > 0 {
		ids := make([]string, len(held))
		for i, p := range held {
			ids[i] = p.ID
		}
		s.take(ids, annotator, now, true)
		return held, false, nil
	}
	group = s.firstOpen(annotator, now)
	if len(group) == 0 {
		return nil, false, nil
	}
	if g, ok := s.drawGold(annotator); ok {
		s.take(nil, annotator, now, false)
		s.goldHeld[annotator] = goldLease{g.Pair.ID, lease{start: now, expires: now.Add(s.cfg.Lease)}}
		return []prefdata.Pair{g.Pair}, true, nil
	}
	ids := make([]string, len(group))
	for i, q := range group {
		ids[i] = q.ID
	}
	s.take(ids, annotator, now, false)
	return group, false, nil
}

// firstOpen returns the first open item for annotator by Value, without
// leasing it. s.mu is held.
func (s *Server) firstOpen(annotator string, now time.Time) []prefdata.Pair {
	order := s.ordered()
	allClosed := true
	for k := s.cursor; k < len(order); k++ {
		p := s.queue.At(order[k])
		if allClosed {
			if s.decision(p).Status != Pending {
				s.cursor = k + 1
				continue
			}
			allClosed = false
		}
		if !s.open(p, annotator, now) {
			continue
		}
		group := []prefdata.Pair{p}
		resp := map[string]bool{p.Chosen.ID: true, p.Rejected.ID: true}
		for _, q := range s.queue.SamePrompt(p.Prompt.ID) {
			if q.ID != p.ID && s.open(q, annotator, now) {
				group = append(group, q)
				resp[q.Chosen.ID], resp[q.Rejected.ID] = true, true
			}
		}
		if len(resp) < 3 {
			group = group[:1]
		}
		return group
	}
	return nil
}

// drawGold decides whether annotator's next item is a gold one, and which:
// a stable draw per annotator and item count against Config.GoldRate, and
// the first gold item, in an order shuffled per annotator, they have not
// answered. s.mu is held.
func (s *Server) drawGold(annotator string) (GoldItem, bool) {
	if len(s.gold) == 0 || s.cfg.GoldRate <= 0 {
		return GoldItem{}, false
	}
	n := s.store.CountBy(annotator) + s.events.countBy(annotator)
	if unit(s.cfg.Seed, "gold", annotator, strconv.Itoa(n)) >= s.cfg.GoldRate {
		return GoldItem{}, false
	}
	var best GoldItem
	bestKey, found := 2.0, false
	for id, g := range s.gold {
		if s.events.hasPassed(annotator, id) {
			continue
		}
		if k := unit(s.cfg.Seed, "gold order", annotator, id); k < bestKey {
			best, bestKey, found = g, k, true
		}
	}
	return best, found
}

// take leases the pairs to annotator, releasing whatever else they held;
// keep extends leases already held instead of restarting them. s.mu is held.
func (s *Server) take(ids []string, annotator string, now time.Time, keep bool) {
	delete(s.goldHeld, annotator)
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for _, old := range s.mine[annotator] {
		if !want[old] {
			delete(s.leases[old], annotator)
		}
	}
	for _, id := range ids {
		if s.leases[id] == nil {
			s.leases[id] = map[string]lease{}
		}
		start := now
		if l, ok := s.leases[id][annotator]; ok && keep {
			start = l.start
		}
		s.leases[id][annotator] = lease{start: start, expires: now.Add(s.cfg.Lease)}
	}
	if len(ids) == 0 {
		delete(s.mine, annotator)
		return
	}
	s.mine[annotator] = ids
}

// release drops annotator's lease on a labeled pair. s.mu is held.
func (s *Server) release(pairID, annotator string) {
	delete(s.leases[pairID], annotator)
	ids := s.mine[annotator][:0:0]
	for _, id := range s.mine[annotator] {
		if id != pairID {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		delete(s.mine, annotator)
		return
	}
	s.mine[annotator] = ids
}

// submitError is a refused label: an HTTP status and a message.
type submitError struct {
	code int
	msg  string
}

func (e *submitError) Error() string { return e.msg }

func refuse(code int, format string, args ...any) error {
	return &submitError{code, fmt.Sprintf(format, args...)}
}

// errNoStrength refuses a preference without a strength.
var errNoStrength = refuse(http.StatusBadRequest, "choose how much better (1 slightly, 2 clearly, 3 much) before A or B")

// Choices of the form, relative to the sides shown.
const (
	ChoiceA       = "a" // the left response is better
	ChoiceB       = "b" // the right response is better
	ChoiceTie     = "tie"
	ChoiceBothBad = "both_bad"
)

// makeLabel builds the label of a choice on pair p as annotator saw it.
func (s *Server) makeLabel(annotator string, p prefdata.Pair, choice, strength, comment string) (Label, error) {
	shown := shownOrder(s.cfg.Seed, annotator, p)
	l := Label{PairID: p.ID, PromptID: p.Prompt.ID, Annotator: annotator, Shown: shown, Source: SourceApp, Comment: comment}
	switch choice {
	case ChoiceA, ChoiceB:
		l.Verdict = VerdictPrefer
		l.Preferred = shown[0]
		if choice == ChoiceB {
			l.Preferred = shown[1]
		}
		switch {
		case strength != "":
			n, err := strconv.Atoi(strength)
			if err != nil || n < int(Slightly) || n > int(Much) {
				return Label{}, refuse(http.StatusBadRequest, "unknown strength %q (want 1 slightly, 2 clearly or 3 much better)", strength)
			}
			l.Strength = Strength(n)
		case !s.cfg.StrengthOptional:
			return Label{}, errNoStrength
		}
	case ChoiceTie:
		l.Verdict = VerdictTie
	case ChoiceBothBad:
		l.Verdict = VerdictBothBad
	case "":
		return Label{}, refuse(http.StatusBadRequest, "no choice given (want a, b, tie or both_bad)")
	default:
		return Label{}, refuse(http.StatusBadRequest, "unknown choice %q (want a, b, tie or both_bad)", choice)
	}
	if len(comment) > MaxCommentBytes {
		return Label{}, refuse(http.StatusRequestEntityTooLarge, "comment is %d bytes, more than the %d allowed", len(comment), MaxCommentBytes)
	}
	return l, nil
}

// submit checks and stores one label from the app.
func (s *Server) submit(annotator, item, choice, strength, comment string) (Label, error) {
	if g, ok := s.gold[item]; ok {
		return s.submitGold(annotator, g, choice, strength, comment)
	}
	p, ok := s.queue.Pair(item)
	if !ok {
		if item == "" {
			return Label{}, refuse(http.StatusBadRequest, "no item given")
		}
		return Label{}, refuse(http.StatusNotFound, "unknown item %q", item)
	}
	l, err := s.makeLabel(annotator, p, choice, strength, comment)
	if err != nil {
		return Label{}, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ls, leased := s.leases[p.ID][annotator]
	switch {
	case s.store.Has(p.ID, annotator):
		return Label{}, refuse(http.StatusConflict, "you have already labeled item %s", p.ID)
	case !leased:
		return Label{}, refuse(http.StatusForbidden, "item %s is not assigned to you", p.ID)
	case !ls.expires.After(now) && !s.open(p, annotator, now):
		return Label{}, refuse(http.StatusConflict, "your time on item %s ran out and it went to someone else", p.ID)
	}
	l.ID = "app-" + NewToken()[:20]
	l.Time = now.UTC()
	l.LeadTime = now.Sub(ls.start).Seconds()
	if err := l.Check(p); err != nil {
		return Label{}, refuse(http.StatusBadRequest, "%v", err)
	}
	if err := s.store.Add(l); err != nil {
		return Label{}, err
	}
	s.release(p.ID, annotator)
	s.reopen(p)
	return l, nil
}

// submitGold records annotator's answer to a gold item they hold.
func (s *Server) submitGold(annotator string, g GoldItem, choice, strength, comment string) (Label, error) {
	l, err := s.makeLabel(annotator, g.Pair, choice, strength, comment)
	if err != nil {
		return Label{}, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	held, ok := s.goldHeld[annotator]
	switch {
	case s.events.hasPassed(annotator, g.Pair.ID):
		return Label{}, refuse(http.StatusConflict, "you have already labeled item %s", g.Pair.ID)
	case !ok || held.id != g.Pair.ID:
		return Label{}, refuse(http.StatusForbidden, "item %s is not assigned to you", g.Pair.ID)
	}
	l.ID = "gold-" + NewToken()[:20]
	l.Time = now.UTC()
	l.LeadTime = now.Sub(held.start).Seconds()
	if err := l.Check(g.Pair); err != nil {
		return Label{}, refuse(http.StatusBadRequest, "%v", err)
	}
	ev := Event{ID: l.ID, Kind: EventGold, PairID: g.Pair.ID, Annotator: annotator, Time: l.Time, LeadTime: l.LeadTime, Label: &l, Correct: g.matches(l)}
	if err := s.events.add(ev); err != nil {
		return Label{}, err
	}
	delete(s.goldHeld, annotator)
	return l, nil
}

// skip records a skip or a "broken" flag of the items annotator holds.
func (s *Server) skip(annotator string, items []string, kind, reason string) error {
	reason = strings.TrimSpace(reason)
	switch {
	case kind != EventSkip && kind != EventBroken:
		return refuse(http.StatusBadRequest, "unknown action %q (want skip or broken)", kind)
	case reason == "":
		return refuse(http.StatusBadRequest, "say why: a reason is needed to skip an item or flag it as broken")
	case len(reason) > MaxReasonBytes:
		return refuse(http.StatusRequestEntityTooLarge, "the reason is %d bytes, more than the %d allowed", len(reason), MaxReasonBytes)
	case !utf8.ValidString(reason):
		return refuse(http.StatusBadRequest, "the reason is not valid UTF-8")
	case len(items) == 0:
		return refuse(http.StatusBadRequest, "no item given")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	starts := make([]time.Time, len(items))
	for i, id := range items {
		if g, ok := s.goldHeld[annotator]; ok && g.id == id {
			starts[i] = g.start
			continue
		}
		l, ok := s.leases[id][annotator]
		if !ok || s.store.Has(id, annotator) || s.events.hasPassed(annotator, id) {
			return refuse(http.StatusForbidden, "item %s is not assigned to you", id)
		}
		starts[i] = l.start
	}
	for i, id := range items {
		ev := Event{ID: kind + "-" + NewToken()[:20], Kind: kind, PairID: id, Annotator: annotator, Reason: reason, Time: now.UTC(), LeadTime: now.Sub(starts[i]).Seconds()}
		if err := s.events.add(ev); err != nil {
			return err
		}
		if g, ok := s.goldHeld[annotator]; ok && g.id == id {
			delete(s.goldHeld, annotator)
		} else {
			s.release(id, annotator)
		}
	}
	return nil
}

// reopen moves the cursor back if p still needs labels: a label can turn a
// pair settled by labels from elsewhere into a tie that asks for one more.
// s.mu is held.
func (s *Server) reopen(p prefdata.Pair) {
	if s.decision(p).Status == Pending {
		s.cursor = 0
	}
}

// undo retracts annotator's last action from the app (a label, a skip, a
// flag or a gold answer) and hands its item back to them.
func (s *Server) undo(annotator string) (string, error) {
	now := s.now()
	// Find and retract under s.mu, so that two undos at once retract two
	// actions rather than the same one twice.
	s.mu.Lock()
	defer s.mu.Unlock()
	l, hasLabel := s.store.Last(annotator, SourceApp)
	ev, hasEvent := s.events.last(annotator)
	if hasEvent && (!hasLabel || !ev.Time.Before(l.Time)) {
		if err := s.events.add(Event{ID: "undo-" + NewToken()[:20], Kind: EventUndo, Annotator: annotator, PairID: ev.PairID, Undoes: ev.ID, Time: now.UTC()}); err != nil {
			return "", err
		}
		if _, ok := s.gold[ev.PairID]; ok {
			s.take(nil, annotator, now, false)
			s.goldHeld[annotator] = goldLease{ev.PairID, lease{start: now, expires: now.Add(s.cfg.Lease)}}
		} else {
			s.take([]string{ev.PairID}, annotator, now, false)
		}
		return ev.Kind, nil
	}
	if !hasLabel {
		return "", refuse(http.StatusConflict, "nothing to undo")
	}
	if err := s.store.Retract(annotator, l.ID, now); err != nil {
		return "", err
	}
	if p, ok := s.queue.Pair(l.PairID); ok {
		s.reopen(p)
	}
	s.take([]string{l.PairID}, annotator, now, false)
	return "label", nil
}

// holds reports whether annotator leased the pair. s.mu is held.
func (s *Server) holds(annotator, pairID string) bool {
	for _, id := range s.mine[annotator] {
		if id == pairID {
			return true
		}
	}
	return false
}

// Progress is an annotator's progress.
type Progress struct {
	Annotator string `json:"annotator"`
	// Done counts the items labeled.
	Done int `json:"done"`
	// Skipped counts the items skipped or flagged as broken.
	Skipped int `json:"skipped"`
	// Remaining counts the items still open to this annotator.
	Remaining int `json:"remaining"`
}

func (s *Server) progress(annotator string) Progress {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	done, skipped := s.events.tally(annotator)
	pr := Progress{Annotator: annotator, Done: s.store.CountBy(annotator) + done, Skipped: skipped}
	order := s.ordered()
	for k := s.cursor; k < len(order); k++ {
		p := s.queue.At(order[k])
		if s.open(p, annotator, now) || s.holds(annotator, p.ID) && !s.store.Has(p.ID, annotator) && !s.events.hasPassed(annotator, p.ID) && s.decision(p).Status == Pending {
			pr.Remaining++
		}
	}
	return pr
}

// turn is one message of a prompt, rendered.
type turn struct {
	N     int
	Role  string
	Class string
	HTML  template.HTML
}

// promptTurns renders a conversation turn by turn.
func promptTurns(p prefdata.Prompt) []turn {
	out := make([]turn, len(p.Messages))
	for i, m := range p.Messages {
		class := m.Role
		switch m.Role {
		case prefdata.RoleSystem, prefdata.RoleUser, prefdata.RoleAssistant:
		default:
			class = "other"
		}
		out[i] = turn{N: i + 1, Role: m.Role, Class: class, HTML: RenderMarkdown(m.Content)}
	}
	return out
}

type side struct {
	Letter string
	HTML   template.HTML
	Diff   []diffSeg
}

type labelPage struct {
	Title    string
	Who      string
	CSRF     string
	Progress Progress
	ItemID   string
	Turns    []turn
	Left     side
	Right    side
	Flash    string
	// StrengthOptional: a label of A or B may go without a strength.
	StrengthOptional bool
}

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.tmpl.ExecuteTemplate(w, name, data); err != nil {
		// Headers are gone; the page is cut short. Nothing else to do.
		fmt.Fprintf(w, "\n<!-- template error -->")
	}
}

// flashes are the messages a redirect after a POST may ask the next page
// to show (by key, so a link cannot put words on the page).
var flashes = map[string]string{
	"saved":    "Saved.",
	"skip":     "Skipped: the reason is recorded.",
	"broken":   "Flagged as broken: the reason is recorded.",
	"undone":   "Your last action was undone: do the item again.",
	"strength": "Choose how much better (1, 2 or 3), then A or B.",
}

func (s *Server) getLabel(w http.ResponseWriter, r *http.Request, name, tok string) {
	group, _, err := s.next(name)
	if err != nil {
		http.Error(w, "label: "+err.Error(), http.StatusInternalServerError)
		return
	}
	page := labelPage{Title: s.cfg.Title, Who: name, CSRF: csrfToken(tok), Progress: s.progress(name), Flash: r.URL.Query().Get("m"), StrengthOptional: s.cfg.StrengthOptional}
	if _, ok := flashes[page.Flash]; !ok {
		page.Flash = ""
	}
	if len(group) > 0 {
		page.Turns = promptTurns(group[0].Prompt)
		page.ItemID = group[0].ID
	}
	if len(group) > 1 {
		s.render(w, "rank.html", rankPage{labelPage: page, Items: group, Prompt: group[0].Prompt, Responses: rankOrder(s.cfg.Seed, name, group)})
		return
	}
	if len(group) == 1 {
		p := group[0]
		shown := shownOrder(s.cfg.Seed, name, p)
		text := map[string]string{p.Chosen.ID: p.Chosen.Text, p.Rejected.ID: p.Rejected.Text}
		a, b := text[shown[0]], text[shown[1]]
		da, db := diffTexts(a, b)
		page.Left = side{"A", RenderMarkdown(a), da}
		page.Right = side{"B", RenderMarkdown(b), db}
	}
	s.render(w, "label.html", page)
}

func (s *Server) postLabel(w http.ResponseWriter, r *http.Request, name, tok string) {
	f := r.PostForm
	_, err := s.submit(name, f.Get("item"), f.Get("choice"), f.Get("strength"), f.Get("comment"))
	if errors.Is(err, errNoStrength) && !wantsJSON(r) {
		// The item stays leased: the same one comes back, with the reason.
		http.Redirect(w, r, "/label?m=strength", http.StatusSeeOther)
		return
	}
	s.answerPost(w, r, err, "/label?m=saved")
}

func (s *Server) postSkip(w http.ResponseWriter, r *http.Request, name, tok string) {
	f := r.PostForm
	kind := f.Get("action")
	err := s.skip(name, f["item"], kind, f.Get("reason"))
	s.answerPost(w, r, err, "/label?m="+url.QueryEscape(kind))
}

func (s *Server) postUndo(w http.ResponseWriter, r *http.Request, name, tok string) {
	_, err := s.undo(name)
	s.answerPost(w, r, err, "/label?m=undone")
}

// answerPost answers a POST: a refusal with its 4xx and message, another
// error with a 500, success with 204 for a program (Accept: JSON) or a
// redirect to next for a browser.
func (s *Server) answerPost(w http.ResponseWriter, r *http.Request, err error, next string) {
	var se *submitError
	if errors.As(err, &se) {
		s.httpError(w, r, se.code, "%s", se.msg)
		return
	}
	if err != nil {
		http.Error(w, "label: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if wantsJSON(r) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func (s *Server) getGuidelines(w http.ResponseWriter, r *http.Request, name, tok string) {
	s.render(w, "guidelines.html", struct {
		Title, Who string
		HTML       template.HTML
	}{s.cfg.Title, name, RenderMarkdown(s.cfg.Guidelines)})
}

// NextItem is the JSON of /api/next.
type NextItem struct {
	Item   string          `json:"item"`
	CSRF   string          `json:"csrf"`
	Prompt prefdata.Prompt `json:"prompt"`
	// A and B are the texts in the order shown.
	A string `json:"a"`
	B string `json:"b"`
}

func (s *Server) apiNext(w http.ResponseWriter, r *http.Request, name, tok string) {
	group, _, err := s.next(name)
	if err != nil {
		http.Error(w, "label: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if len(group) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// A ranking group is served pair by pair here: each is leased.
	p := group[0]
	shown := shownOrder(s.cfg.Seed, name, p)
	text := map[string]string{p.Chosen.ID: p.Chosen.Text, p.Rejected.ID: p.Rejected.Text}
	writeJSON(w, NextItem{Item: p.ID, CSRF: csrfToken(tok), Prompt: p.Prompt, A: text[shown[0]], B: text[shown[1]]})
}

func (s *Server) apiProgress(w http.ResponseWriter, r *http.Request, name, tok string) {
	writeJSON(w, s.progress(name))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
