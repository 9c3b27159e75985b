package browsertest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/label"
)

// session is one headless browser (one profile: one cookie jar) on a
// server.
type session struct {
	t   *testing.T
	ctx context.Context
}

func newSession(t *testing.T) *session {
	t.Helper()
	exe := Chromium()
	if exe == "" {
		t.Skip("no browser: set PREFDATA_CHROMIUM or put Debian's chromium on PATH (apt-get install chromium)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	bctx, stop := Browser(ctx, exe, t.TempDir(), 1280, 900)
	t.Cleanup(stop)
	return &session{t: t, ctx: bctx}
}

func (s *session) do(what string, acts ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	if err := chromedp.Do(s.ctx, acts...); err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
}

func (s *session) text(sel string) string {
	s.t.Helper()
	v, err := chromedp.Run(s.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		s.t.Fatalf("%s: %v", sel, err)
	}
	return v
}

func (s *session) eval(js string) string {
	s.t.Helper()
	v, err := chromedp.Run(s.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		s.t.Fatalf("%s: %v", js, err)
	}
	return v
}

func (s *session) item() string {
	s.t.Helper()
	return s.eval(`(document.getElementById("labelform") || {getAttribute: () => ""}).getAttribute("data-item") || ""`)
}

// next waits for a page with another item than cur, or the done page.
func next(cur string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#labelform:not([data-item="%s"]), #alldone`, cur)))
}

// clearField empties a text field.
func clearField(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[string](`(document.querySelector("`+sel+`").value = "")`)(ctx, t)
		return chromedp.Void{}, err
	}
}

func newDir(t *testing.T, pairs ...prefdata.Pair) *prefdata.RunDir {
	t.Helper()
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	if err := QueueDemo(dir, pairs); err != nil {
		t.Fatal(err)
	}
	return dir
}

func user(q string) []prefdata.Message {
	return []prefdata.Message{{Role: prefdata.RoleUser, Content: q}}
}

// Markdown renders (bold, tables, fenced code, turn by turn), and hostile
// HTML inside it stays inert: shown as text, nothing runs, no element
// made.
func TestMarkdownHostileHTMLInert(t *testing.T) {
	hostileA := "**Bold** answer.\n\n| k | v |\n|---|---|\n| x | 1 |\n\n```html\n<script>document.title='pwned-fence'</script>\n```\n\n" +
		"<script>document.title='pwned'</script>\n\ninline <img src=x onerror=\"document.title='pwned-img'\"> tag and [link](javascript:document.title='pwned-link')"
	hostileB := "<iframe src=\"/label\"></iframe>\n\n<svg onload=\"document.title='pwned-svg'\"></svg> plain\n\n</div></main><form action=/undo method=post><button id=evil>x</button></form>"
	conv := []prefdata.Message{
		{Role: prefdata.RoleUser, Content: "First *question*"},
		{Role: prefdata.RoleAssistant, Content: "A reply with `code`"},
		{Role: prefdata.RoleUser, Content: "<b onmouseover=alert(1)>second</b> question"},
	}
	dir := newDir(t, Pair(conv, hostileA, hostileB, 0))
	tok := label.NewToken()
	srv, err := label.NewServer(label.Config{Dir: dir, Annotators: []label.Annotator{{Name: "alice", Token: tok}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	s := newSession(t)
	s.do("open", chromedp.Navigate(ts.URL+"/?token="+tok), chromedp.WaitVisible(chromedp.CSS("#labelform")))

	if title := s.eval(`document.title`); strings.Contains(title, "pwned") {
		t.Fatalf("a script in a model response ran: title %q", title)
	}
	for _, sel := range []string{"script:not([src])", "iframe", "svg", "img", "#evil", "b[onmouseover]", "a[href^=javascript]", ".md [onerror]"} {
		if n := s.eval(`String(document.querySelectorAll(` + "`" + sel + "`" + `).length)`); n != "0" {
			t.Errorf("the page has %s element(s) %s made from model text", n, sel)
		}
	}
	both := s.text("#side-a .view-md") + "\n" + s.text("#side-b .view-md")
	for _, want := range []string{"<script>document.title='pwned'</script>", "<img src=x onerror=", "<iframe src=\"/label\"></iframe>", "</div></main><form"} {
		if !strings.Contains(both, want) {
			t.Errorf("hostile HTML %q is not shown as text in %q", want, both)
		}
	}
	// Markdown is rendered, the code block wraps rather than running off.
	for sel, n := range map[string]string{".view-md strong": "1", ".view-md table": "1", ".view-md pre code": "1", ".prompt .msg": "3", ".prompt em": "1"} {
		if got := s.eval(`String(document.querySelectorAll("` + sel + `").length)`); got != n {
			t.Errorf("%s: %s elements, want %s", sel, got, n)
		}
	}
	if ws := s.eval(`getComputedStyle(document.querySelector(".view-md pre")).whiteSpace`); ws != "pre-wrap" {
		t.Errorf("code blocks do not wrap: white-space %q", ws)
	}
	if turns := s.text(".prompt h2"); !strings.Contains(turns, "3 turns") {
		t.Errorf("prompt heading %q", turns)
	}
	// The difference view shows plain text with marks, and goes back.
	s.do("diff view", chromedp.KeyEvent("d"), chromedp.WaitVisible(chromedp.CSS("#side-a .view-diff")))
	if n := s.eval(`String(document.querySelectorAll("#side-a .view-diff mark").length)`); n == "0" {
		t.Error("the difference view marks nothing")
	}
	s.do("markdown view", chromedp.KeyEvent("d"), chromedp.WaitVisible(chromedp.CSS("#side-a .view-md")))
}

// Skip and flag as broken, from the page: each needs a reason, is
// recorded, and the page says so; the next item comes.
func TestSkipAndFlagInBrowser(t *testing.T) {
	dir := newDir(t,
		Pair(user("one?"), "1a", "1b", 0.3),
		Pair(user("two?"), "2a", "2b", 0.2),
		Pair(user("three?"), "3a", "3b", 0.1),
	)
	tok := label.NewToken()
	srv, err := label.NewServer(label.Config{Dir: dir, Annotators: []label.Annotator{{Name: "alice", Token: tok}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	s := newSession(t)
	s.do("open", chromedp.Navigate(ts.URL+"/?token="+tok), chromedp.WaitVisible(chromedp.CSS("#labelform")))
	first := s.item()
	// The skip key opens the box and focuses the reason; an empty reason
	// does not submit (required), a reason does.
	s.do("skip box", chromedp.KeyEvent("s"), chromedp.WaitVisible(chromedp.CSS("#reason")))
	if focused := s.eval(`document.activeElement.id`); focused != "reason" {
		t.Errorf("S focused %q, want the reason", focused)
	}
	// (CDP sends the key's character as an event of its own, which a page
	// cannot cancel: clear what it typed into the box.)
	s.eval(`document.getElementById("reason").value = ""`)
	if missing := s.eval(`String(document.getElementById("reason").validity.valueMissing)`); missing != "true" {
		t.Error("an empty reason is not refused by the form")
	}
	// (The report at the end counts one skip: this click recorded nothing.)
	s.do("empty skip", chromedp.Click(chromedp.CSS("#skip")))
	s.do("skip", chromedp.SendKeys(chromedp.CSS("#reason"), "I cannot judge this subject"), chromedp.Click(chromedp.CSS("#skip")), next(first), chromedp.WaitVisible(chromedp.CSS("#flash")))
	if f := s.text("#flash"); !strings.Contains(f, "Skipped") {
		t.Errorf("after a skip the page says %q", f)
	}
	second := s.item()
	s.do("flag", chromedp.KeyEvent("s"), chromedp.WaitVisible(chromedp.CSS("#reason")), clearField("#reason"),
		chromedp.SendKeys(chromedp.CSS("#reason"), "A response is empty or cut off"), chromedp.Click(chromedp.CSS("#flag")), next(second), chromedp.WaitVisible(chromedp.CSS("#flash")))
	if f := s.text("#flash"); !strings.Contains(f, "broken") {
		t.Errorf("after a flag the page says %q", f)
	}
	if got := s.text("#skipped"); got != "2" {
		t.Errorf("progress shows %s skipped, want 2", got)
	}
	// A label: B, then the strength (A or B waits for one).
	third := s.item()
	s.do("label", chromedp.KeyEvent("b"), chromedp.WaitVisible(chromedp.CSS("#hint")))
	if s.item() != third {
		t.Fatal("B without a strength was sent")
	}
	s.do("strength", chromedp.KeyEvent("1"), next(third), chromedp.WaitVisible(chromedp.CSS("#flash")))
	if f := s.text("#flash"); !strings.Contains(f, "Saved") {
		t.Errorf("after a label the page says %q", f)
	}
	if s.eval(`document.getElementById("alldone") ? "done" : ""`) != "done" {
		t.Error("no done page")
	}
	if n := s.eval(`String(document.querySelectorAll(".keys").length)`); n != "0" {
		t.Error("the done page shows the key legend")
	}
	// What was recorded, read as a fresh server would.
	srv2, err := label.NewServer(label.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ls := srv2.Store().Labels()
	if len(ls) != 1 || ls[0].Strength != label.Slightly || ls[0].Preferred != ls[0].Shown[1] {
		t.Errorf("labels = %+v", ls)
	}
	admin := label.NewToken()
	srv3, err := label.NewServer(label.Config{Dir: dir, AdminToken: admin})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/admin/api/report", nil)
	r.Header.Set("Authorization", "Bearer "+admin)
	w := httptest.NewRecorder()
	srv3.ServeHTTP(w, r)
	body := w.Body.String()
	for _, want := range []string{`"skipped": 1`, `"flagged": 1`, "A response is empty or cut off", `"lead_time_s"`} {
		if !strings.Contains(body, want) {
			t.Errorf("report lacks %s: %s", want, body)
		}
	}
}

// A gold item is served like any other (nothing on the page tells), and the
// annotator's answer shows as accuracy on the dashboard.
func TestGoldItemInBrowser(t *testing.T) {
	dir := newDir(t, Pair(user("Which is larger?"), "2", "3", 0))
	g := Gold("What is the capital of France?", "Paris.", "Lyon.")
	tok, admin := label.NewToken(), label.NewToken()
	srv, err := label.NewServer(label.Config{Dir: dir, Annotators: []label.Annotator{{Name: "alice", Token: tok}}, AdminToken: admin, Gold: []label.GoldItem{g}, GoldRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	s := newSession(t)
	s.do("open", chromedp.Navigate(ts.URL+"/?token="+tok), chromedp.WaitVisible(chromedp.CSS("#labelform")))
	if s.item() != g.Pair.ID {
		t.Fatalf("served %q, want the gold item first at rate 1", s.item())
	}
	if html := s.eval(`document.documentElement.outerHTML`); strings.Contains(strings.ToLower(html), "gold") {
		t.Error("the page marks the gold item")
	}
	// Choose Paris, wherever it is shown.
	key := "a"
	if strings.Contains(s.text("#side-b .view-md"), "Paris") {
		key = "b"
	}
	s.do("answer", chromedp.KeyEvent("3"), chromedp.KeyEvent(key), next(g.Pair.ID), chromedp.WaitVisible(chromedp.CSS("#flash")))
	if s.item() == g.Pair.ID || s.item() == "" {
		t.Errorf("after the gold item: %q", s.item())
	}
	s.do("dashboard", chromedp.Navigate(ts.URL+"/admin?token="+admin), chromedp.WaitVisible(chromedp.CSS("#annotators")))
	if row := s.text(`#annotators tr[data-name="alice"]`); !strings.Contains(row, "100% of 1") {
		t.Errorf("alice's row: %q", row)
	}
	if n := len(srv.Store().Labels()); n != 0 {
		t.Errorf("the gold answer became %d label(s)", n)
	}
}

// The admin and an annotator in one browser: opening the dashboard's link
// keeps the annotator's session, both keep working, and an annotator is
// added from the dashboard whose new link works.
func TestAdminAndAnnotatorInOneBrowser(t *testing.T) {
	dir := newDir(t, Pair(user("one?"), "1a", "1b", 0), Pair(user("two?"), "2a", "2b", 0))
	tok, admin := label.NewToken(), label.NewToken()
	srv, err := label.NewServer(label.Config{Dir: dir, Annotators: []label.Annotator{{Name: "alice", Token: tok}}, AdminToken: admin})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	s := newSession(t)
	s.do("annotator", chromedp.Navigate(ts.URL+"/?token="+tok), chromedp.WaitVisible(chromedp.CSS("#labelform")))
	s.do("admin", chromedp.Navigate(ts.URL+"/admin?token="+admin), chromedp.WaitVisible(chromedp.CSS("#annotators")))
	s.do("label again", chromedp.Navigate(ts.URL+"/label"), chromedp.WaitVisible(chromedp.CSS("#labelform")))
	if who := s.text("header .who"); who != "alice" {
		t.Errorf("/label after the admin link is %q's", who)
	}
	first := s.item()
	s.do("label", chromedp.KeyEvent("2"), chromedp.KeyEvent("a"), next(first))
	s.do("dashboard again", chromedp.Navigate(ts.URL+"/admin"), chromedp.WaitVisible(chromedp.CSS("#annotators")))
	if n := s.text(`#labels`); n != "1" {
		t.Errorf("the dashboard shows %s labels, want 1", n)
	}
	if n := s.eval(`String(document.querySelectorAll('header a[href="/label"]').length)`); n != "0" {
		t.Error("the dashboard links to the labeling page")
	}
	// Add bob from the dashboard; his link works in another browser.
	s.do("add bob", chromedp.SendKeys(chromedp.CSS("#newname"), "bob"), chromedp.Click(chromedp.CSS("#add")), chromedp.WaitVisible(chromedp.CSS("#newlink-url")))
	link := s.eval(`document.getElementById("newlink-url").value`)
	if !strings.HasPrefix(link, ts.URL+"/?token=") {
		t.Fatalf("new link %q", link)
	}
	b := newSession(t)
	b.do("bob", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("header .who")))
	if who := b.text("header .who"); who != "bob" {
		t.Errorf("bob's link opens %q's page", who)
	}
	// Revoke bob: his next page is refused, alice's still works.
	s.do("revoke bob", chromedp.Click(chromedp.CSS("#revoke-bob")), chromedp.WaitVisible(chromedp.CSS("#flash")))
	b.do("bob again", chromedp.Navigate(ts.URL+"/label"), chromedp.WaitVisible(chromedp.CSS("#error-message")))
	s.do("alice again", chromedp.Navigate(ts.URL+"/label"), chromedp.WaitVisible(chromedp.CSS("header .who")))
	if who := s.text("header .who"); who != "alice" {
		t.Errorf("after revoking bob, /label is %q's", who)
	}
}

// A restart of the server on the same run directory and address keeps the
// links handed out working, in the same browser and in a new one.
func TestRestartSameLinks(t *testing.T) {
	dir := newDir(t, Pair(user("one?"), "1a", "1b", 0), Pair(user("two?"), "2a", "2b", 0), Pair(user("three?"), "3a", "3b", 0))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv, err := label.NewServer(label.Config{Dir: dir, Annotators: []label.Annotator{{Name: "alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	tok, admin := srv.Annotators()[0].Token, srv.AdminToken()
	hs := label.NewHTTPServer(srv)
	go hs.Serve(ln)
	base := "http://" + addr
	s := newSession(t)
	s.do("open", chromedp.Navigate(base+"/?token="+tok), chromedp.WaitVisible(chromedp.CSS("#labelform")))
	first := s.item()
	s.do("label", chromedp.KeyEvent("t"), next(first))
	if err := hs.Close(); err != nil {
		t.Fatal(err)
	}

	// The restart: the command line names alice again, without a token.
	srv2, err := label.NewServer(label.Config{Dir: dir, Annotators: []label.Annotator{{Name: "alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	if a := srv2.Annotators(); len(a) != 1 || a[0].Token != "" || srv2.AdminToken() != "" {
		t.Fatalf("the restart made new tokens: %+v %q", a, srv2.AdminToken())
	}
	ln2, err := net.Listen("tcp", addr) // the same address: Go sets SO_REUSEADDR
	if err != nil {
		t.Fatal(err)
	}
	hs2 := label.NewHTTPServer(srv2)
	go hs2.Serve(ln2)
	defer hs2.Close()
	// The same browser, its cookie from before the restart.
	s.do("reload", chromedp.Navigate(base+"/label"), chromedp.WaitVisible(chromedp.CSS("#labelform")))
	if s.text("#done") != "1" {
		t.Errorf("after the restart alice's page shows %s done, want 1", s.text("#done"))
	}
	// The links, opened in a new browser.
	b := newSession(t)
	b.do("link", chromedp.Navigate(base+"/?token="+tok), chromedp.WaitVisible(chromedp.CSS("#labelform")))
	b.do("admin link", chromedp.Navigate(base+"/admin?token="+admin), chromedp.WaitVisible(chromedp.CSS("#annotators")))
	resp, err := http.Get(base + "/label?token=" + label.NewToken())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an unknown token after the restart: %d", resp.StatusCode)
	}
}
