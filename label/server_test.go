package label

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prefdata/prefdata"
)

// clock is a settable time source for lease tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// queuePair makes a NeedsHuman pair as the pipeline would queue it.
func queuePair(i int, chosen, rejected string) prefdata.Pair {
	msgs := []prefdata.Message{{Role: prefdata.RoleUser, Content: fmt.Sprintf("question %d", i)}}
	pr := prefdata.Prompt{ID: prefdata.ContentID(msgs), Messages: msgs}
	c := prefdata.Response{ID: fmt.Sprintf("r-%d-a", i), PromptID: pr.ID, Model: "m1", Text: chosen}
	r := prefdata.Response{ID: fmt.Sprintf("r-%d-b", i), PromptID: pr.ID, Model: "m2", Text: rejected}
	return prefdata.Pair{
		ID: prefdata.PairID(pr.ID, c.ID, r.ID), Prompt: pr, Chosen: c, Rejected: r,
		NeedsHuman: true, Provenance: prefdata.Provenance{Stage: prefdata.StageFilter, Labeler: "judge", Confidence: 0.55},
	}
}

type fixture struct {
	t     *testing.T
	dir   *prefdata.RunDir
	srv   *Server
	clk   *clock
	pairs []prefdata.Pair
	tok   map[string]string
}

func newFixture(t *testing.T, items int, pol Policy, annotators ...string) *fixture {
	t.Helper()
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var pairs []prefdata.Pair
	for i := range items {
		p := queuePair(i, fmt.Sprintf("answer A%d", i), fmt.Sprintf("answer B%d", i))
		pairs = append(pairs, p)
		if err := dir.Append(prefdata.FileQueue, p); err != nil {
			t.Fatal(err)
		}
	}
	f := fixtureOn(t, dir, pol, annotators...)
	f.pairs = pairs
	return f
}

// fixtureOn starts a server on an existing run directory.
func fixtureOn(t *testing.T, dir *prefdata.RunDir, pol Policy, annotators ...string) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: dir, clk: &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, tok: map[string]string{}}
	var as []Annotator
	for _, a := range annotators {
		as = append(as, Annotator{Name: a, Token: testToken(a)})
		f.tok[a] = testToken(a)
	}
	f.start(pol, as)
	return f
}

func (f *fixture) start(pol Policy, as []Annotator) {
	f.t.Helper()
	srv, err := NewServer(Config{Dir: f.dir, Annotators: as, AdminToken: testToken("admin"), Policy: pol, Lease: time.Minute, Now: f.clk.Now, Seed: "test"})
	if err != nil {
		f.t.Fatal(err)
	}
	f.srv = srv
}

// do sends a request to the server with a bearer token ("" for none).
func (f *fixture) do(method, path, tok string, form url.Values, hdr map[string]string) (int, string, http.Header) {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	return w.Code, w.Body.String(), w.Header()
}

// next asks /api/next for the annotator's item; "" when none.
func (f *fixture) next(who string) NextItem {
	f.t.Helper()
	code, body, _ := f.do("GET", "/api/next", f.tok[who], nil, nil)
	if code == http.StatusNoContent {
		return NextItem{}
	}
	if code != http.StatusOK {
		f.t.Fatalf("%s: /api/next: %d %s", who, code, body)
	}
	var n NextItem
	if err := json.Unmarshal([]byte(body), &n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) submit(who, item, choice string, extra url.Values) (int, string) {
	f.t.Helper()
	form := url.Values{"csrf": {csrfToken(f.tok[who])}, "item": {item}, "choice": {choice}}
	if choice == ChoiceA || choice == ChoiceB {
		form.Set("strength", "2") // needed; extra may change it
	}
	for k, v := range extra {
		form[k] = v
	}
	code, body, _ := f.do("POST", "/label", f.tok[who], form, nil)
	return code, body
}

func (f *fixture) labelsFileSize() int64 {
	st, err := os.Stat(f.dir.Path(FileHumanLabels))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return st.Size()
}

func TestTokens(t *testing.T) {
	f := newFixture(t, 2, Policy{}, "alice", "bob")
	for _, tc := range []struct {
		name, path, tok string
		want            int
	}{
		{"no token", "/label", "", http.StatusUnauthorized},
		{"wrong token", "/label", "nope", http.StatusUnauthorized},
		{"annotator", "/label", testToken("alice"), http.StatusOK},
		{"api without token", "/api/next", "", http.StatusUnauthorized},
		{"guidelines without token", "/guidelines", "", http.StatusUnauthorized},
		{"admin without token", "/admin", "", http.StatusUnauthorized},
		{"admin with annotator token", "/admin", testToken("alice"), http.StatusUnauthorized},
		{"admin", "/admin", testToken("admin"), http.StatusOK},
		{"admin token on labeling page", "/label", testToken("admin"), http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := f.do("GET", tc.path, tc.tok, nil, nil)
			if code != tc.want {
				t.Errorf("GET %s: %d, want %d: %s", tc.path, code, tc.want, body)
			}
		})
	}
	// A token in the link becomes a cookie and is stripped from the URL.
	code, _, hdr := f.do("GET", "/label?token="+testToken("bob"), "", nil, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/label" {
		t.Fatalf("token link: %d, Location %q", code, hdr.Get("Location"))
	}
	cookie := hdr.Get("Set-Cookie")
	if !strings.Contains(cookie, testToken("bob")) || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Fatalf("cookie = %q", cookie)
	}
	code, body, _ := f.do("GET", "/label", "", nil, map[string]string{"Cookie": cookieName + "=" + testToken("bob")})
	if code != http.StatusOK || !strings.Contains(body, "bob") {
		t.Fatalf("with cookie: %d", code)
	}
	// The root keeps the token on its way to /label.
	code, _, hdr = f.do("GET", "/?token="+testToken("bob"), "", nil, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/label?token="+testToken("bob") {
		t.Fatalf("root with token: %d, Location %q", code, hdr.Get("Location"))
	}
	// A wrong token in the link is not set as a cookie.
	code, _, hdr = f.do("GET", "/label?token=bad", "", nil, nil)
	if code != http.StatusUnauthorized || hdr.Get("Set-Cookie") != "" {
		t.Fatalf("bad token link: %d, cookie %q", code, hdr.Get("Set-Cookie"))
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t, 1, Policy{}, "alice")
	item := f.next("alice").Item
	base := url.Values{"item": {item}, "choice": {"a"}}
	for _, tc := range []struct {
		name string
		csrf string
		hdr  map[string]string
	}{
		{"no token", "", nil},
		{"wrong token", csrfToken(testToken("bob")), nil},
		{"the annotator token itself", testToken("alice"), nil},
		{"right token, cross-site origin", csrfToken(testToken("alice")), map[string]string{"Origin": "https://evil.example"}},
		{"right token, cross-site fetch", csrfToken(testToken("alice")), map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range base {
				form[k] = v
			}
			if tc.csrf != "" {
				form.Set("csrf", tc.csrf)
			}
			code, body, _ := f.do("POST", "/label", testToken("alice"), form, tc.hdr)
			if code != http.StatusForbidden {
				t.Errorf("%d, want 403: %s", code, body)
			}
		})
	}
	if n := f.labelsFileSize(); n != 0 {
		t.Fatalf("refused posts wrote %d bytes of labels", n)
	}
	// Undo is protected too.
	if code, _, _ := f.do("POST", "/undo", testToken("alice"), url.Values{}, nil); code != http.StatusForbidden {
		t.Errorf("undo without CSRF token: %d", code)
	}
	// The same request with the page's token (and a same-origin Origin) goes through.
	form := url.Values{"csrf": {csrfToken(testToken("alice"))}, "item": {item}, "choice": {"a"}, "strength": {"1"}}
	code, body, _ := f.do("POST", "/label", testToken("alice"), form, map[string]string{"Origin": "http://example.com"})
	if code != http.StatusSeeOther {
		t.Fatalf("good post: %d %s", code, body)
	}
	if got := f.srv.Store().Count(item); got != 1 {
		t.Fatalf("labels for item: %d", got)
	}
}

// Overlap 3 with 5 annotators working at once: every item gets exactly 3
// labels from 3 different people, nobody sees an item twice.
func TestAssignmentOverlap(t *testing.T) {
	names := []string{"ann", "ben", "cat", "dan", "eve"}
	const items = 12
	f := newFixture(t, items, Policy{Labels: 3}, names...)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]map[string]int{} // annotator → item → times served
	errs := make(chan error, len(names))
	for _, who := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen1 := map[string]int{}
			for k := 0; ; k++ {
				n := f.next(who)
				if n.Item == "" {
					break
				}
				seen1[n.Item]++
				choice := []string{"a", "b", "tie"}[k%3]
				if code, body := f.submit(who, n.Item, choice, nil); code != http.StatusSeeOther {
					errs <- fmt.Errorf("%s: submit %s: %d %s", who, n.Item, code, body)
					return
				}
			}
			mu.Lock()
			seen[who] = seen1
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	for _, p := range f.pairs {
		ls := f.srv.Store().ForPair(p.ID)
		if len(ls) != 3 {
			t.Errorf("item %s: %d labels, want 3", p.ID, len(ls))
		}
		who := map[string]bool{}
		for _, l := range ls {
			if who[l.Annotator] {
				t.Errorf("item %s labeled twice by %s", p.ID, l.Annotator)
			}
			who[l.Annotator] = true
		}
		total += len(ls)
	}
	for who, m := range seen {
		for item, n := range m {
			if n != 1 {
				t.Errorf("%s was served item %s %d times", who, item, n)
			}
		}
	}
	if total != 3*items {
		t.Errorf("%d labels, want %d", total, 3*items)
	}
	// Every line of the file is one of these labels: nothing doubled.
	lines := 0
	if err := f.dir.Scan(FileHumanLabels, func(prefdata.Record) error { lines++; return nil }); err != nil {
		t.Fatal(err)
	}
	if lines != 3*items {
		t.Errorf("%d lines in %s", lines, FileHumanLabels)
	}
}

func TestLeaseExpires(t *testing.T) {
	f := newFixture(t, 1, Policy{}, "alice", "bob")
	a := f.next("alice")
	if a.Item == "" {
		t.Fatal("alice got no item")
	}
	if b := f.next("bob"); b.Item != "" {
		t.Fatalf("bob got %s while alice holds it", b.Item)
	}
	// Asking again within the lease gives alice the same item.
	if again := f.next("alice"); again.Item != a.Item {
		t.Fatalf("alice got %q, then %q", a.Item, again.Item)
	}
	// Bob cannot label an item that is not his.
	if code, body := f.submit("bob", a.Item, "a", nil); code != http.StatusForbidden {
		t.Fatalf("bob labeling alice's item: %d %s", code, body)
	}
	f.clk.Advance(2 * time.Minute) // past the one-minute lease
	b := f.next("bob")
	if b.Item != a.Item {
		t.Fatalf("after the lease expired bob got %q, want %q", b.Item, a.Item)
	}
	if code, body := f.submit("alice", a.Item, "a", nil); code != http.StatusConflict {
		t.Fatalf("alice after expiry, item reassigned: %d %s", code, body)
	}
	if code, body := f.submit("bob", b.Item, "b", nil); code != http.StatusSeeOther {
		t.Fatalf("bob: %d %s", code, body)
	}
	ls := f.srv.Store().ForPair(a.Item)
	if len(ls) != 1 || ls[0].Annotator != "bob" {
		t.Fatalf("labels = %+v", ls)
	}
	if ls[0].LeadTime != 0 {
		t.Errorf("lead time = %v, want 0 (bob answered at once on the fake clock)", ls[0].LeadTime)
	}
}

// An expired lease that nobody took is still good.
func TestLateAnswerStillCounts(t *testing.T) {
	f := newFixture(t, 1, Policy{}, "alice", "bob")
	a := f.next("alice")
	f.clk.Advance(5 * time.Minute)
	if code, body := f.submit("alice", a.Item, "tie", nil); code != http.StatusSeeOther {
		t.Fatalf("%d %s", code, body)
	}
	ls := f.srv.Store().ForPair(a.Item)
	if len(ls) != 1 || ls[0].LeadTime != 300 {
		t.Fatalf("labels = %+v", ls)
	}
}

func TestHostileOutputIsEscaped(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := queuePair(0, `<script>alert("pwned")</script>`, `<img src=x onerror=alert(1)> and </pre><b>bold</b>`)
	p.Prompt.Messages = []prefdata.Message{
		{Role: `user"><script>alert(2)</script>`, Content: `<iframe src="https://evil.example"></iframe>`},
	}
	if err := dir.Append(prefdata.FileQueue, p); err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(Config{Dir: dir, Annotators: []Annotator{{Name: "alice", Token: testToken("t")}}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/label", nil)
	r.Header.Set("Authorization", "Bearer "+testToken("t"))
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, body)
	}
	for _, bad := range []string{"<script>alert", "<img", "onerror=alert(1)>", "<iframe", "<b>bold", `"><script>`} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
	for _, good := range []string{"&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "&lt;iframe"} {
		if !strings.Contains(body, good) {
			t.Errorf("page lacks the escaped text %q", good)
		}
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}
}

func TestRestartKeepsLabels(t *testing.T) {
	f := newFixture(t, 3, Policy{}, "alice", "bob")
	first := f.next("alice")
	if code, body := f.submit("alice", first.Item, "a", url.Values{"strength": {"3"}, "comment": {"clear win"}}); code != http.StatusSeeOther {
		t.Fatalf("%d %s", code, body)
	}
	second := f.next("alice") // leased, not answered: lost with the process
	// "Kill" the server: a new one on a freshly opened run directory.
	dir2, err := prefdata.OpenRunDir(f.dir.Dir())
	if err != nil {
		t.Fatal(err)
	}
	f.dir = dir2
	f.start(Policy{}, []Annotator{{Name: "alice", Token: testToken("alice")}, {Name: "bob", Token: testToken("bob")}})
	code, body, _ := f.do("GET", "/api/progress", testToken("alice"), nil, nil)
	var pr Progress
	if err := json.Unmarshal([]byte(body), &pr); err != nil || code != 200 {
		t.Fatalf("%d %s %v", code, body, err)
	}
	if pr.Done != 1 || pr.Remaining != 2 {
		t.Errorf("after restart alice's progress = %+v, want 1 done, 2 remaining", pr)
	}
	n := f.next("alice")
	if n.Item == first.Item || n.Item == "" {
		t.Errorf("after restart alice got %q (first was %q)", n.Item, first.Item)
	}
	if n.Item != second.Item {
		t.Errorf("after restart alice got %q, want the unanswered %q", n.Item, second.Item)
	}
	ls := f.srv.Store().ForPair(first.Item)
	if len(ls) != 1 || ls[0].Strength != Much || ls[0].Comment != "clear win" || len(ls[0].Shown) != 2 {
		t.Fatalf("label after restart = %+v", ls)
	}
	// The shown order is stored and maps choice "a" to the left response.
	if ls[0].Preferred != ls[0].Shown[0] {
		t.Errorf("preferred %s, shown %v: choice a is the left one", ls[0].Preferred, ls[0].Shown)
	}
}

func TestUndo(t *testing.T) {
	f := newFixture(t, 2, Policy{}, "alice")
	first := f.next("alice")
	if code, body := f.submit("alice", first.Item, "a", nil); code != http.StatusSeeOther {
		t.Fatalf("%d %s", code, body)
	}
	if f.srv.Store().Count(first.Item) != 1 {
		t.Fatal("label not stored")
	}
	code, body, hdr := f.do("POST", "/undo", testToken("alice"), url.Values{"csrf": {csrfToken(testToken("alice"))}}, nil)
	if code != http.StatusSeeOther || !strings.Contains(hdr.Get("Location"), "undone") {
		t.Fatalf("undo: %d %s", code, body)
	}
	if f.srv.Store().Count(first.Item) != 0 {
		t.Fatal("undo left the label counting")
	}
	// The undone item comes back first.
	if n := f.next("alice"); n.Item != first.Item {
		t.Fatalf("after undo alice got %q, want %q", n.Item, first.Item)
	}
	if code, body := f.submit("alice", first.Item, "b", nil); code != http.StatusSeeOther {
		t.Fatalf("relabel: %d %s", code, body)
	}
	ls := f.srv.Store().ForPair(first.Item)
	if len(ls) != 1 || ls[0].Preferred != ls[0].Shown[1] {
		t.Fatalf("after relabel: %+v", ls)
	}
	// Undo twice in a row: the second has nothing of this item left but
	// undoes the relabel; a third finds nothing.
	for i, want := range []int{http.StatusSeeOther, http.StatusConflict} {
		code, body, _ := f.do("POST", "/undo", testToken("alice"), url.Values{"csrf": {csrfToken(testToken("alice"))}}, nil)
		if code != want {
			t.Fatalf("undo %d: %d %s", i, code, body)
		}
	}
	// The retractions survive a restart.
	s2, err := OpenStore(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s2.Labels()); n != 0 {
		t.Fatalf("after restart %d labels count, want 0", n)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t, 2, Policy{}, "alice", "bob")
	item := f.next("alice").Item
	other := f.pairs[0].ID
	if other == item {
		other = f.pairs[1].ID
	}
	for _, tc := range []struct {
		name        string
		item        string
		choice      string
		extra       url.Values
		want        int
		mustMention string
	}{
		{"unknown item", "pair-nope", "a", nil, http.StatusNotFound, "unknown item"},
		{"no item", "", "a", nil, http.StatusBadRequest, "no item"},
		{"unknown choice", item, "c", nil, http.StatusBadRequest, "unknown choice"},
		{"no choice", item, "", nil, http.StatusBadRequest, "no choice"},
		{"bad strength", item, "a", url.Values{"strength": {"9"}}, http.StatusBadRequest, "unknown strength"},
		{"oversized comment", item, "a", url.Values{"comment": {strings.Repeat("x", MaxCommentBytes+1)}}, http.StatusRequestEntityTooLarge, "comment"},
		{"huge body", item, "a", url.Values{"comment": {strings.Repeat("x", maxForm)}}, http.StatusRequestEntityTooLarge, "form"},
		{"item not assigned", other, "a", nil, http.StatusForbidden, "not assigned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.labelsFileSize()
			code, body := f.submit("alice", tc.item, tc.choice, tc.extra)
			if code != tc.want || !strings.Contains(body, tc.mustMention) {
				t.Errorf("%d %q, want %d mentioning %q", code, body, tc.want, tc.mustMention)
			}
			if after := f.labelsFileSize(); after != before {
				t.Errorf("labels file grew from %d to %d bytes", before, after)
			}
		})
	}
	// After all that, the good label still goes through, once.
	if code, body := f.submit("alice", item, "a", nil); code != http.StatusSeeOther {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := f.submit("alice", item, "a", nil); code != http.StatusConflict {
		t.Fatalf("second label of the same item: %d %s", code, body)
	}
	// Wrong methods and paths.
	if code, _, _ := f.do("GET", "/undo", testToken("alice"), nil, nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /undo: %d", code)
	}
}

func TestPagesRender(t *testing.T) {
	f := newFixture(t, 1, Policy{Labels: 2}, "alice", "bob")
	f.srv.cfg.Guidelines = "Prefer <correct> answers."
	code, body, _ := f.do("GET", "/guidelines", testToken("alice"), nil, nil)
	if code != 200 || !strings.Contains(body, "&lt;correct&gt;") || strings.Contains(body, "<correct>") {
		t.Errorf("guidelines: %d %s", code, body)
	}
	_, body, _ = f.do("GET", "/label", testToken("alice"), nil, nil)
	for _, want := range []string{`id="choice-a"`, `id="choice-both_bad"`, `name="strength"`, `name="comment"`, "remaining", "question 0", csrfToken(testToken("alice"))} {
		if !strings.Contains(body, want) {
			t.Errorf("label page lacks %q", want)
		}
	}
	for _, who := range []string{"alice", "bob"} {
		n := f.next(who)
		if code, body := f.submit(who, n.Item, "a", nil); code != http.StatusSeeOther {
			t.Fatalf("%d %s", code, body)
		}
	}
	code, body, _ = f.do("GET", "/label", testToken("alice"), nil, nil)
	if code != 200 || !strings.Contains(body, `id="alldone"`) {
		t.Errorf("done page: %d %s", code, body)
	}
	code, body, _ = f.do("GET", "/admin", testToken("admin"), nil, nil)
	if code != 200 || !strings.Contains(body, "alice") || !strings.Contains(body, "Decided") {
		t.Errorf("admin: %d %s", code, body)
	}
	code, _, _ = f.do("GET", "/static/app.js", "", nil, nil)
	if code != 200 {
		t.Errorf("static: %d", code)
	}
}

// Undo pressed many times at once (a repeating key, several tabs): each
// press retracts one more label, none fails with a server error.
func TestConcurrentUndo(t *testing.T) {
	const items = 40
	f := newFixture(t, items, Policy{}, "alice")
	for range items {
		n := f.next("alice")
		if code, body := f.submit("alice", n.Item, "a", nil); code != http.StatusSeeOther {
			t.Fatalf("%d %s", code, body)
		}
	}
	var wg sync.WaitGroup
	codes := make(chan string, items)
	for range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body, _ := f.do("POST", "/undo", testToken("alice"), url.Values{"csrf": {csrfToken(testToken("alice"))}}, nil)
			codes <- fmt.Sprintf("%d %s", code, strings.TrimSpace(body))
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if !strings.HasPrefix(c, "303") {
			t.Errorf("undo: %s", c)
		}
	}
	if n := len(f.srv.Store().Labels()); n != 0 {
		t.Errorf("%d labels still count after %d undos", n, items)
	}
}

// A form that cannot be parsed is a 400 naming the problem, not a 413.
func TestMalformedForm(t *testing.T) {
	f := newFixture(t, 1, Policy{}, "alice")
	r := httptest.NewRequest("POST", "/label", strings.NewReader("csrf="+csrfToken(testToken("alice"))+"&item=%zz&choice=a"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Bearer "+testToken("alice"))
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "form") {
		t.Errorf("%d %s, want 400 about the form", w.Code, w.Body.String())
	}
	if n := f.labelsFileSize(); n != 0 {
		t.Errorf("a malformed form wrote %d bytes of labels", n)
	}
}

// The sides are shuffled per annotator and item (against position bias),
// the same on every reload, and the label stores the order that was shown.
func TestSidesShuffled(t *testing.T) {
	const items = 40
	f := newFixture(t, items, Policy{Labels: 2}, "alice", "bob")
	leftIsChosen := map[string]map[string]bool{} // annotator → item → A was the AI's chosen
	for _, who := range []string{"alice", "bob"} {
		leftIsChosen[who] = map[string]bool{}
		for {
			n := f.next(who)
			if n.Item == "" {
				break
			}
			if again := f.next(who); again.Item != n.Item || again.A != n.A {
				t.Fatalf("%s: a reload showed %q/%q, then %q/%q", who, n.Item, n.A, again.Item, again.A)
			}
			p, _ := f.srv.Queue().Pair(n.Item)
			leftIsChosen[who][n.Item] = n.A == p.Chosen.Text
			if code, body := f.submit(who, n.Item, ChoiceA, nil); code != http.StatusSeeOther {
				t.Fatal(code, body)
			}
			var mine Label
			for _, l := range f.srv.Store().ForPair(n.Item) {
				if l.Annotator == who {
					mine = l
				}
			}
			if len(mine.Shown) != 2 || (mine.Shown[0] == p.Chosen.ID) != leftIsChosen[who][n.Item] || mine.Preferred != mine.Shown[0] {
				t.Fatalf("%s: label %+v does not record the order shown (A was chosen: %v)", who, mine, leftIsChosen[who][n.Item])
			}
		}
	}
	differ := 0
	for _, who := range []string{"alice", "bob"} {
		left := 0
		for _, v := range leftIsChosen[who] {
			if v {
				left++
			}
		}
		if len(leftIsChosen[who]) != items || left == 0 || left == items {
			t.Errorf("%s saw the AI's choice on the left %d times of %d items", who, left, len(leftIsChosen[who]))
		}
	}
	for item, v := range leftIsChosen["alice"] {
		if leftIsChosen["bob"][item] != v {
			differ++
		}
	}
	if differ == 0 {
		t.Error("alice and bob saw every item in the same order")
	}
	t.Logf("alice and bob saw %d of %d items in different orders", differ, items)
}

// Overlap 3 with 5 annotators: the item is handed to three people at most;
// when two of them let their leases run out, the other two annotators get
// it, and the late ones cannot add a fourth label.
func TestOverlapLeasesExpire(t *testing.T) {
	f := newFixture(t, 1, Policy{Labels: 3}, "ann", "ben", "cat", "dan", "eve")
	item := f.pairs[0].ID
	for _, who := range []string{"ann", "ben", "cat"} {
		if n := f.next(who); n.Item != item {
			t.Fatalf("%s got %q, want %q", who, n.Item, item)
		}
	}
	for _, who := range []string{"dan", "eve"} {
		if n := f.next(who); n.Item != "" {
			t.Fatalf("%s got %q while three people hold the item", who, n.Item)
		}
	}
	if code, body := f.submit("ann", item, ChoiceA, nil); code != http.StatusSeeOther {
		t.Fatal(code, body)
	}
	f.clk.Advance(2 * time.Minute) // ben's and cat's leases run out
	for _, who := range []string{"dan", "eve"} {
		if n := f.next(who); n.Item != item {
			t.Fatalf("after the leases ran out %s got %q, want %q", who, n.Item, item)
		}
	}
	if code, body := f.submit("ben", item, ChoiceA, nil); code != http.StatusConflict {
		t.Fatalf("ben, late, with the item handed on: %d %s", code, body)
	}
	for _, who := range []string{"dan", "eve"} {
		if code, body := f.submit(who, item, ChoiceB, nil); code != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", who, code, body)
		}
	}
	if code, body := f.submit("cat", item, ChoiceA, nil); code != http.StatusConflict {
		t.Fatalf("cat, late, with three labels in: %d %s", code, body)
	}
	var who []string
	for _, l := range f.srv.Store().ForPair(item) {
		who = append(who, l.Annotator)
	}
	if fmt.Sprint(who) != "[ann dan eve]" {
		t.Errorf("labels by %v, want [ann dan eve]", who)
	}
}

// testToken is a strong token fixed per name, for tests.
func testToken(name string) string {
	h := sha256.Sum256([]byte(name))
	return "t_" + hex.EncodeToString(h[:16])
}
