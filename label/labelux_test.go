package label

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prefdata/prefdata"
)

// startWith starts the fixture's server with a changed configuration.
func (f *fixture) startWith(mod func(*Config), annotators ...string) {
	f.t.Helper()
	var as []Annotator
	for _, a := range annotators {
		as = append(as, Annotator{Name: a, Token: testToken(a)})
		f.tok[a] = testToken(a)
	}
	cfg := Config{Dir: f.dir, Annotators: as, AdminToken: testToken("admin"), Lease: time.Minute, Now: f.clk.Now, Seed: "test"}
	mod(&cfg)
	srv, err := NewServer(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	f.srv = srv
}

func (f *fixture) page(path, tok string) string {
	f.t.Helper()
	code, body, _ := f.do("GET", path, tok, nil, nil)
	if code != http.StatusOK {
		f.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return body
}

func (f *fixture) post(path, who string, form url.Values) (int, string, http.Header) {
	f.t.Helper()
	tok := f.tok[who]
	if who == "admin" {
		tok = testToken("admin")
	}
	form.Set("csrf", csrfToken(tok))
	return f.do("POST", path, tok, form, nil)
}

// A weak token given by the data owner is refused, with a message that says
// why and what to do; nothing is written.
func TestWeakTokenRefused(t *testing.T) {
	for _, tok := range []string{"d", "<script>", "adm2", "tok-alice", strings.Repeat("ab", 20), "correct horse battery staple words!!"} {
		for _, admin := range []bool{false, true} {
			dir, err := prefdata.OpenRunDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			cfg := Config{Dir: dir, Annotators: []Annotator{{Name: "alice", Token: tok}}}
			if admin {
				cfg = Config{Dir: dir, Annotators: []Annotator{{Name: "alice"}}, AdminToken: tok}
			}
			_, err = NewServer(cfg)
			if err == nil || !strings.Contains(err.Error(), "weak token refused") || !strings.Contains(err.Error(), "leave it out") {
				t.Errorf("token %q (admin %v): err = %v, want a weak-token refusal", tok, admin, err)
			}
			if err != nil && len(tok) > 4 && strings.Contains(err.Error(), tok) {
				t.Errorf("the error repeats the secret: %v", err)
			}
		}
	}
	for i := 0; i < 200; i++ {
		if err := CheckToken(NewToken()); err != nil {
			t.Fatalf("NewToken made a token CheckToken refuses: %v", err)
		}
	}
}

// Tokens are stored hashed in the run directory, and a restart keeps the
// links handed out working; the admin's and an annotator's too.
func TestTokensPersistHashedAcrossRestarts(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, dir: dir, clk: &clock{t: time.Now()}, tok: map[string]string{}}
	f.startWith(func(c *Config) { c.Annotators = []Annotator{{Name: "alice"}}; c.AdminToken = "" })
	alice, admin := f.srv.Annotators()[0].Token, f.srv.AdminToken()
	if alice == "" || admin == "" {
		t.Fatalf("first start made no tokens: %q %q", alice, admin)
	}
	raw, err := os.ReadFile(f.dir.Path(FileAccounts))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(alice)) || bytes.Contains(raw, []byte(admin)) {
		t.Fatalf("%s holds a raw token: %s", FileAccounts, raw)
	}
	if !regexp.MustCompile(`"sha256":"[0-9a-f]{64}"`).Match(raw) {
		t.Fatalf("%s holds no SHA-256: %s", FileAccounts, raw)
	}
	// A new server on the same directory, started the same way.
	f.startWith(func(c *Config) { c.Annotators = []Annotator{{Name: "alice"}}; c.AdminToken = "" })
	if got := f.srv.Annotators(); len(got) != 1 || got[0].Name != "alice" || got[0].Token != "" {
		t.Errorf("after a restart Annotators() = %+v, want alice with her token kept (not shown)", got)
	}
	if f.srv.AdminToken() != "" {
		t.Error("after a restart the admin token was replaced")
	}
	f.page("/label", alice)
	f.page("/admin", admin)
	// The same links, as a browser opens them.
	if code, _, hdr := f.do("GET", "/?token="+url.QueryEscape(alice), "", nil, nil); code != http.StatusSeeOther || hdr.Get("Location") != "/label?token="+url.QueryEscape(alice) {
		t.Errorf("root link: %d %s", code, hdr.Get("Location"))
	}
}

// The admin link opened in an annotator's browser leaves the annotator's
// session alone: separate cookies, the admin's for /admin only.
func TestAdminAndAnnotatorInOneBrowser(t *testing.T) {
	f := newFixture(t, 2, Policy{}, "alice")
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	if code, body := get("/?token=" + testToken("alice")); code != 200 || !strings.Contains(body, `id="labelform"`) {
		t.Fatalf("annotator link: %d", code)
	}
	if code, body := get("/admin?token=" + testToken("admin")); code != 200 || !strings.Contains(body, `id="annotators"`) {
		t.Fatalf("admin link: %d", code)
	}
	if code, body := get("/label"); code != 200 || !strings.Contains(body, `id="labelform"`) || !strings.Contains(body, "alice") {
		t.Errorf("after the admin link, /label: %d", code)
	}
	if code, _ := get("/admin"); code != 200 {
		t.Errorf("after /label, /admin: %d", code)
	}
	u, _ := url.Parse(ts.URL + "/label")
	for _, ck := range jar.Cookies(u) {
		if ck.Name == adminCookieName {
			t.Error("the admin cookie is sent to /label")
		}
	}
	// The admin link opened on /label lands on the dashboard, and the
	// dashboard does not link to /label.
	if code, body := get("/label?token=" + testToken("admin")); code != 200 || !strings.Contains(body, `id="annotators"`) || strings.Contains(body, `href="/label"`) {
		t.Errorf("admin link on /label: %d", code)
	}
	// An error for a browser is a page, not bare text.
	req, _ := http.NewRequest("GET", ts.URL+"/label", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("no token, browser: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestHTTPServerLimits(t *testing.T) {
	hs := NewHTTPServer(http.NotFoundHandler())
	if hs.ReadTimeout <= 0 || hs.ReadHeaderTimeout <= 0 || hs.WriteTimeout <= 0 || hs.IdleTimeout <= 0 || hs.MaxHeaderBytes <= 0 {
		t.Errorf("limits not all set: %+v", hs)
	}
	if hs.ReadTimeout > 30*time.Second || hs.IdleTimeout > 60*time.Second || hs.MaxHeaderBytes > 1<<20 {
		t.Errorf("limits too loose: read %v idle %v header bytes %d", hs.ReadTimeout, hs.IdleTimeout, hs.MaxHeaderBytes)
	}
}

func TestNoDirectoryListing(t *testing.T) {
	f := newFixture(t, 1, Policy{}, "alice")
	for _, path := range []string{"/static/", "/static/../", "/static/nothing.js"} {
		code, body, _ := f.do("GET", path, "", nil, nil)
		if code == http.StatusOK || strings.Contains(body, "app.css") {
			t.Errorf("GET %s: %d %q", path, code, body)
		}
	}
	if code, body, _ := f.do("GET", "/static/app.css", "", nil, nil); code != 200 || !strings.Contains(body, ".sides") {
		t.Errorf("GET /static/app.css: %d", code)
	}
}

// Agreement is "n/a" on the dashboard when it cannot be computed: one
// annotator, or no labels.
func TestAgreementNotAvailable(t *testing.T) {
	f := newFixture(t, 2, Policy{}, "alice")
	check := func(when string) {
		t.Helper()
		body := f.page("/admin", testToken("admin"))
		for _, id := range []string{"percent", "alpha"} {
			m := regexp.MustCompile(`id="` + id + `">([^<]*)<`).FindStringSubmatch(body)
			if m == nil || !strings.HasPrefix(m[1], "n/a") {
				t.Errorf("%s: %s shows %q, want n/a", when, id, m)
			}
		}
		row := regexp.MustCompile(`<tr data-name="alice">(<td>[^<]*</td>){3}<td>([^<]*)</td>`).FindStringSubmatch(body)
		if row == nil || row[2] != "n/a" {
			t.Errorf("%s: alice's row %q", when, row)
		}
	}
	check("no labels")
	n := f.next("alice")
	if code, body := f.submit("alice", n.Item, "a", nil); code != http.StatusSeeOther {
		t.Fatalf("label: %d %s", code, body)
	}
	check("one annotator")
	var rep Report
	_, body, _ := f.do("GET", "/admin/api/report", testToken("admin"), nil, nil)
	if err := json.Unmarshal([]byte(body), &rep); err != nil || rep.PercentAgreementOK || rep.AlphaOK {
		t.Errorf("report: %v %+v", err, rep)
	}
}

// The dashboard exports the labels as JSON lines, Label Studio tasks and
// Argilla records; the two tools' files import back to the same judgments.
func TestExportFromDashboard(t *testing.T) {
	f := newFixture(t, 3, Policy{Labels: 2}, "alice", "bob")
	choices := []string{"a", "tie", "b"}
	for _, who := range []string{"alice", "bob"} {
		for i := 0; ; i++ {
			n := f.next(who)
			if n.Item == "" {
				break
			}
			extra := url.Values{"comment": {who + " was here"}}
			if code, body := f.submit(who, n.Item, choices[i%3], extra); code != http.StatusSeeOther {
				t.Fatalf("label: %d %s", code, body)
			}
		}
	}
	want := f.srv.Store().Labels()
	if len(want) != 6 {
		t.Fatalf("%d labels, want 6", len(want))
	}
	body := f.page("/admin", testToken("admin"))
	for _, format := range []string{ExportFormatJSONL, ExportFormatLabelStudio, ExportFormatArgilla} {
		if !strings.Contains(body, `href="/admin/export?format=`+format+`"`) {
			t.Errorf("the dashboard has no %s export link", format)
		}
	}
	if code, _, _ := f.do("GET", "/admin/export?format=jsonl", testToken("alice"), nil, nil); code != http.StatusUnauthorized {
		t.Errorf("export with an annotator's token: %d", code)
	}
	code, jsonl, hdr := f.do("GET", "/admin/export?format=jsonl", testToken("admin"), nil, nil)
	if code != 200 || !strings.Contains(hdr.Get("Content-Disposition"), "attachment") {
		t.Fatalf("jsonl export: %d %v", code, hdr)
	}
	lines := strings.Split(strings.TrimSpace(jsonl), "\n")
	if len(lines) != len(want) {
		t.Fatalf("jsonl export has %d lines, want %d", len(lines), len(want))
	}
	for i, line := range lines {
		var l Label
		if err := json.Unmarshal([]byte(line), &l); err != nil || l.ID != want[i].ID || l.Verdict != want[i].Verdict || l.Preferred != want[i].Preferred {
			t.Errorf("line %d: %v %s, want %+v", i+1, err, line, want[i])
		}
	}
	type judgment struct{ pair, verdict, preferred, comment string }
	key := func(l Label) judgment { return judgment{l.PairID, string(l.Verdict), l.Preferred, l.Comment} }
	wantSet := map[judgment]int{}
	for _, l := range want {
		wantSet[key(l)]++
	}
	for _, tc := range []struct {
		format string
		imp    func(*Store, *Queue, *bytes.Reader) (ImportStats, error)
	}{
		{ExportFormatLabelStudio, func(s *Store, q *Queue, r *bytes.Reader) (ImportStats, error) {
			return ImportLabelStudio(s, q, r, "ls.json")
		}},
		{ExportFormatArgilla, func(s *Store, q *Queue, r *bytes.Reader) (ImportStats, error) {
			return ImportArgilla(s, q, r, "argilla.json")
		}},
	} {
		code, out, _ := f.do("GET", "/admin/export?format="+tc.format, testToken("admin"), nil, nil)
		if code != 200 {
			t.Fatalf("%s export: %d %s", tc.format, code, out)
		}
		dir, err := prefdata.OpenRunDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.pairs {
			if err := dir.Append(prefdata.FileQueue, p); err != nil {
				t.Fatal(err)
			}
		}
		q, _ := OpenQueue(dir)
		s, _ := OpenStore(dir)
		st, err := tc.imp(s, q, bytes.NewReader([]byte(out)))
		if err != nil || st.Imported != len(want) {
			t.Fatalf("%s import: %v %+v", tc.format, err, st)
		}
		got := map[judgment]int{}
		for _, l := range s.Labels() {
			got[key(l)]++
		}
		if len(got) != len(wantSet) {
			t.Errorf("%s: imported %v, want %v", tc.format, got, wantSet)
		}
		for k, n := range wantSet {
			if got[k] != n {
				t.Errorf("%s: judgment %+v imported %d times, want %d", tc.format, k, got[k], n)
			}
		}
	}
	if code, _, _ := f.do("GET", "/admin/export?format=csv", testToken("admin"), nil, nil); code != http.StatusBadRequest {
		t.Errorf("unknown format: %d", code)
	}
}

// No strength is preselected: A or B waits for one (or goes without it when
// the configuration says so).
func TestStrengthNotPreselected(t *testing.T) {
	f := newFixture(t, 2, Policy{}, "alice")
	body := f.page("/label", testToken("alice"))
	if strings.Contains(body, "checked") {
		t.Error("the label page preselects something")
	}
	n := f.next("alice")
	form := url.Values{"item": {n.Item}, "choice": {"a"}}
	code, _, hdr := f.post("/label", "alice", form)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/label?m=strength" || f.srv.Store().Count(n.Item) != 0 {
		t.Fatalf("A without strength: %d %s, %d labels", code, hdr.Get("Location"), f.srv.Store().Count(n.Item))
	}
	if body := f.page("/label?m=strength", testToken("alice")); !strings.Contains(body, "choose how much better") || !strings.Contains(body, n.Item) {
		t.Error("the item does not come back with the reason")
	}
	// A program is told plainly.
	form.Set("csrf", csrfToken(testToken("alice")))
	code, msg, _ := f.do("POST", "/label", testToken("alice"), form, map[string]string{"Accept": "application/json"})
	if code != http.StatusBadRequest || !strings.Contains(msg, "how much better") {
		t.Errorf("program: %d %s", code, msg)
	}
	// A tie needs no strength.
	if code, body := f.submit("alice", n.Item, "tie", url.Values{"strength": nil}); code != http.StatusSeeOther {
		t.Errorf("tie: %d %s", code, body)
	}

	g := newFixture(t, 1, Policy{})
	g.startWith(func(c *Config) { c.StrengthOptional = true }, "alice")
	n = g.next("alice")
	code, _, _ = g.post("/label", "alice", url.Values{"item": {n.Item}, "choice": {"b"}})
	ls := g.srv.Store().ForPair(n.Item)
	if code != http.StatusSeeOther || len(ls) != 1 || ls[0].Strength != 0 || ls[0].Verdict != VerdictPrefer {
		t.Errorf("optional strength: %d %+v", code, ls)
	}
}

// A save shows "saved" on the next page.
func TestSavedShown(t *testing.T) {
	f := newFixture(t, 2, Policy{}, "alice")
	n := f.next("alice")
	_, _, hdr := f.post("/label", "alice", url.Values{"item": {n.Item}, "choice": {"a"}, "strength": {"2"}})
	if loc := hdr.Get("Location"); loc != "/label?m=saved" {
		t.Fatalf("after a label: %q", loc)
	}
	if body := f.page("/label?m=saved", testToken("alice")); !strings.Contains(body, `id="flash"`) || !strings.Contains(body, "Saved") {
		t.Error("no saved message")
	}
	if body := f.page("/label?m=<b>hi</b>", testToken("alice")); strings.Contains(body, `id="flash"`) {
		t.Error("a link can put a message on the page")
	}
}

// Skip and "flag as broken" need a reason, are recorded with the time
// spent, take the item out of the annotator's queue (not others'), show on
// the dashboard, and can be undone.
func TestSkipAndFlag(t *testing.T) {
	f := newFixture(t, 2, Policy{}, "alice", "bob")
	n := f.next("alice")
	f.clk.Advance(7 * time.Second)
	if code, body, _ := f.post("/skip", "alice", url.Values{"item": {n.Item}, "action": {"skip"}, "reason": {"  "}}); code != http.StatusBadRequest || !strings.Contains(body, "reason") {
		t.Errorf("skip without a reason: %d %s", code, body)
	}
	if code, _, hdr := f.post("/skip", "alice", url.Values{"item": {n.Item}, "action": {"skip"}, "reason": {"I cannot judge this subject"}}); code != http.StatusSeeOther || hdr.Get("Location") != "/label?m=skip" {
		t.Fatalf("skip: %d %s", code, hdr.Get("Location"))
	}
	if body := f.page("/label?m=skip", testToken("alice")); !strings.Contains(body, `id="flash"`) || !strings.Contains(body, "Skipped") {
		t.Error("the page after a skip does not say so")
	}
	m := f.next("alice")
	if m.Item == n.Item || m.Item == "" {
		t.Fatalf("after a skip alice got %q (skipped %q)", m.Item, n.Item)
	}
	if b := f.next("bob"); b.Item != n.Item {
		t.Errorf("bob got %q, want the item alice skipped", b.Item)
	}
	if code, _, _ := f.post("/skip", "alice", url.Values{"item": {m.Item}, "action": {"broken"}, "reason": {"A response is empty"}}); code != http.StatusSeeOther {
		t.Fatalf("flag: %d", code)
	}
	if left := f.next("alice"); left.Item != "" {
		t.Errorf("alice still gets %q", left.Item)
	}
	evs, err := openEvents(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	got := evs.counting()
	if len(got) != 2 || got[0].Kind != EventSkip || got[0].Reason != "I cannot judge this subject" || got[0].LeadTime != 7 || got[1].Kind != EventBroken || got[1].PairID != m.Item {
		t.Fatalf("events = %+v", got)
	}
	body := f.page("/admin", testToken("admin"))
	if !strings.Contains(body, `id="broken"`) || !strings.Contains(body, "A response is empty") || !regexp.MustCompile(`id="skipped">1<`).MatchString(body) {
		t.Errorf("dashboard does not show the skip and the flag")
	}
	if pr := f.srv.progress("alice"); pr.Skipped != 2 || pr.Remaining != 0 {
		t.Errorf("progress = %+v", pr)
	}
	// Undo takes the flag back and hands the item back.
	f.clk.Advance(time.Second)
	if code, _, _ := f.post("/undo", "alice", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("undo: %d", code)
	}
	if again := f.next("alice"); again.Item != m.Item {
		t.Errorf("after undo alice got %q, want %q", again.Item, m.Item)
	}
}

// Gold items are served at the configured rate, look like any other item,
// and each annotator's accuracy on them is on the dashboard; their answers
// never reach the labels.
func TestGoldItems(t *testing.T) {
	f := newFixture(t, 3, Policy{})
	gp := queuePair(100, "Paris", "Lyon")
	gold := GoldItem{Pair: gp, Verdict: VerdictPrefer, Preferred: gp.Chosen.ID}
	f.startWith(func(c *Config) { c.Gold = []GoldItem{gold}; c.GoldRate = 1 }, "alice", "bob")
	for _, who := range []string{"alice", "bob"} {
		body := f.page("/label", f.tok[who])
		if !strings.Contains(body, `data-item="`+gp.ID+`"`) {
			t.Fatalf("%s was not served the gold item first", who)
		}
		if strings.Contains(strings.ToLower(body), "gold") {
			t.Errorf("the gold item is marked on %s's page", who)
		}
	}
	// alice answers as known, bob the other way (sides as each saw them).
	for who, right := range map[string]bool{"alice": true, "bob": false} {
		shown := shownOrder("test", who, gp)
		choice := "a"
		if (shown[0] == gp.Chosen.ID) != right {
			choice = "b"
		}
		if code, body := f.submit(who, gp.ID, choice, nil); code != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", who, code, body)
		}
		if n := f.next(who); n.Item == gp.ID || n.Item == "" {
			t.Errorf("%s after gold: %q", who, n.Item)
		}
	}
	if n := len(f.srv.Store().Labels()); n != 0 {
		t.Errorf("%d labels after gold answers only", n)
	}
	var rep Report
	_, body, _ := f.do("GET", "/admin/api/report", testToken("admin"), nil, nil)
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	acc := map[string]AnnotatorReport{}
	for _, a := range rep.Annotators {
		acc[a.Name] = a
	}
	if a := acc["alice"]; a.Gold != 1 || a.GoldAccuracy != 1 {
		t.Errorf("alice = %+v", a)
	}
	if b := acc["bob"]; b.Gold != 1 || b.GoldCorrect != 0 {
		t.Errorf("bob = %+v", b)
	}
	if page := f.page("/admin", testToken("admin")); !strings.Contains(page, "100% of 1") || !strings.Contains(page, "0% of 1") {
		t.Error("the dashboard does not show gold accuracy")
	}

	// At rate 0 no gold; a gold pair that is also queued is refused.
	f.startWith(func(c *Config) { c.Gold = []GoldItem{gold}; c.GoldRate = 0 }, "carol")
	if n := f.next("carol"); n.Item == gp.ID {
		t.Error("gold served at rate 0")
	}
	if _, err := NewServer(Config{Dir: f.dir, Gold: []GoldItem{{Pair: f.pairs[0], Verdict: VerdictTie}}, GoldRate: 0.1}); err == nil {
		t.Error("a gold item that is in the queue was accepted")
	}
}

func TestReadGold(t *testing.T) {
	gp := queuePair(1, "x", "y")
	good, _ := json.Marshal(GoldItem{Pair: gp, Verdict: VerdictPrefer, Preferred: gp.Rejected.ID})
	bad, _ := json.Marshal(GoldItem{Pair: gp, Verdict: VerdictPrefer, Preferred: "nope"})
	in := string(good) + "\n\n{oops\n" + string(bad) + "\n"
	items, err := ReadGold(strings.NewReader(in))
	if len(items) != 1 || err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("ReadGold = %d items, %v", len(items), err)
	}
}

// The queue is served by Provenance.Value, highest first, ties in queue
// order; neither Value nor Audit reaches an annotator.
func TestServedByValueAuditUnmarked(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	values := []float64{0.1, 0.9, 0.5, 0.9, 0}
	var pairs []prefdata.Pair
	for i, v := range values {
		p := queuePair(i, "left answer", "right answer")
		p.Provenance.Value = v
		p.Provenance.Audit = i%2 == 0
		pairs = append(pairs, p)
		if err := dir.Append(prefdata.FileQueue, p); err != nil {
			t.Fatal(err)
		}
	}
	f := fixtureOn(t, dir, Policy{}, "alice")
	want := []int{1, 3, 2, 0, 4}
	for k, i := range want {
		body := f.page("/label", testToken("alice"))
		for _, leak := range []string{"audit", "Audit", "0.9", "confidence", "0.55"} {
			if strings.Contains(body, leak) {
				t.Errorf("item %d: the page shows %q", k, leak)
			}
		}
		_, api, _ := f.do("GET", "/api/next", testToken("alice"), nil, nil)
		if strings.Contains(api, "audit") || strings.Contains(api, "value") || strings.Contains(api, "provenance") || strings.Contains(api, `"judge"`) {
			t.Errorf("item %d: /api/next shows provenance: %s", k, api)
		}
		var n NextItem
		_ = json.Unmarshal([]byte(api), &n)
		if n.Item != pairs[i].ID {
			t.Fatalf("item %d is pair %q, want pair %d (value %v)", k, n.Item, i, values[i])
		}
		if code, body := f.submit("alice", n.Item, "tie", nil); code != http.StatusSeeOther {
			t.Fatalf("%d %s", code, body)
		}
	}
}

// Accounts are added and revoked from the dashboard; the new link is shown
// once and works at once; a revoked link stops working.
func TestAddAndRevokeFromDashboard(t *testing.T) {
	f := newFixture(t, 2, Policy{}, "alice")
	code, body, _ := f.post("/admin/annotators", "admin", url.Values{"name": {"carol"}})
	m := regexp.MustCompile(`/\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("add: %d, no link in the page", code)
	}
	f.page("/label", m[1])
	if code, _, _ := f.post("/admin/annotators", "admin", url.Values{"name": {"carol"}}); code != http.StatusBadRequest {
		t.Errorf("adding carol twice: %d", code)
	}
	if code, _, _ := f.post("/admin/annotators", "alice", url.Values{"name": {"mallory"}}); code != http.StatusUnauthorized {
		t.Errorf("an annotator adding an account: %d", code)
	}
	if code, _, _ := f.do("POST", "/admin/annotators", testToken("admin"), url.Values{"name": {"eve"}}, nil); code != http.StatusForbidden {
		t.Errorf("adding without the CSRF token: %d", code)
	}
	if code, _, hdr := f.post("/admin/revoke", "admin", url.Values{"name": {"carol"}}); code != http.StatusSeeOther || hdr.Get("Location") != "/admin?m=revoked" {
		t.Fatalf("revoke: %d", code)
	}
	if code, _, _ := f.do("GET", "/label", m[1], nil, nil); code != http.StatusUnauthorized {
		t.Errorf("revoked link: %d", code)
	}
	// Still revoked after a restart; alice still in.
	f.startWith(func(c *Config) { c.Annotators = nil })
	if code, _, _ := f.do("GET", "/label", m[1], nil, nil); code != http.StatusUnauthorized {
		t.Errorf("revoked link after a restart: %d", code)
	}
	f.page("/label", testToken("alice"))
}

// Two servers on one run directory: an annotator added or revoked on one
// is let in or refused by the other.
func TestAccountsSharedByServers(t *testing.T) {
	f := newFixture(t, 2, Policy{}, "alice")
	other, err := NewServer(Config{Dir: f.dir, Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	get := func(srv *Server, tok string) int {
		r := httptest.NewRequest("GET", "/label", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w.Code
	}
	_, body, _ := f.post("/admin/annotators", "admin", url.Values{"name": {"carol"}})
	m := regexp.MustCompile(`/\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no link for carol")
	}
	if code := get(other, m[1]); code != http.StatusOK {
		t.Errorf("carol on the other server: %d", code)
	}
	if code, _, _ := f.post("/admin/revoke", "admin", url.Values{"name": {"alice"}}); code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", code)
	}
	if code := get(other, testToken("alice")); code != http.StatusUnauthorized {
		t.Errorf("alice, revoked, on the other server: %d", code)
	}
	// A skip on one server is seen by the other: carol is not offered the
	// item she skipped there.
	f.tok["carol"] = m[1]
	n := f.next("carol")
	if code, _, _ := f.post("/skip", "carol", url.Values{"item": {n.Item}, "action": {"skip"}, "reason": {"unsure"}}); code != http.StatusSeeOther {
		t.Fatalf("skip: %d", code)
	}
	other.mu.Lock()
	other.cursor = 0
	other.mu.Unlock()
	group, _, err := other.next("carol")
	if err != nil || len(group) != 1 || group[0].ID == n.Item {
		t.Errorf("the other server offers carol %v (%v), not the item she skipped (%s)", group, err, n.Item)
	}
	if pr := other.progress("carol"); pr.Skipped != 1 {
		t.Errorf("the other server counts %d skips for carol", pr.Skipped)
	}
}
