package browsertest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/label"
)

// chromium returns the browser to drive: $PREFDATA_CHROMIUM, or chromium
// on PATH.
func chromium(t *testing.T) string {
	if p := os.Getenv("PREFDATA_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no browser: set PREFDATA_CHROMIUM or put Debian's chromium on PATH (apt-get install chromium)")
	return ""
}

// aliceToken is the token in alice's link.
var aliceToken = label.NewToken()

func pair(i int, a, b string) prefdata.Pair {
	msgs := []prefdata.Message{
		{Role: prefdata.RoleUser, Content: fmt.Sprintf("Question %d?", i)},
		{Role: prefdata.RoleAssistant, Content: "Let me think."},
		{Role: prefdata.RoleUser, Content: "Go on."},
	}
	pr := prefdata.Prompt{ID: prefdata.ContentID(msgs), Messages: msgs}
	c := prefdata.Response{ID: fmt.Sprintf("r%d-c", i), PromptID: pr.ID, Text: a}
	r := prefdata.Response{ID: fmt.Sprintf("r%d-r", i), PromptID: pr.ID, Text: b}
	return prefdata.Pair{ID: prefdata.PairID(pr.ID, c.ID, r.ID), Prompt: pr, Chosen: c, Rejected: r, NeedsHuman: true,
		Provenance: prefdata.Provenance{Stage: prefdata.StageFilter}}
}

// TestLabelThreeItemsWithTheKeyboard opens the app in headless Chromium with
// an annotator's link, labels three items with the keyboard (one of them
// with a hostile response that must not run), and checks the labels in the
// run directory.
func TestLabelThreeItemsWithTheKeyboard(t *testing.T) {
	exe := chromium(t)
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pairs := []prefdata.Pair{
		pair(0, `<script>document.title="pwned"</script>first answer`, `<img src=x onerror="document.title='pwned'">second answer`),
		pair(1, "a fine answer", "a worse answer"),
		pair(2, "yes", "no"),
	}
	for _, p := range pairs {
		if err := dir.Append(prefdata.FileQueue, p); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := label.NewServer(label.Config{Dir: dir, Annotators: []label.Annotator{{Name: "alice", Token: aliceToken}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv) // 127.0.0.1
	defer ts.Close()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	if err := chromedp.Do(bctx,
		chromedp.Navigate(ts.URL+"/?token="+aliceToken),
		chromedp.WaitVisible(chromedp.CSS("#labelform")),
	); err != nil {
		t.Fatal(err)
	}
	item := func() string {
		t.Helper()
		a, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.CSS("#labelform"), "data-item"))
		if err != nil || !a.Exists {
			t.Fatalf("data-item: %v (exists %v)", err, a.Exists)
		}
		return a.Value
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return s
	}
	first := item()
	// The hostile texts show as text and ran nothing.
	title, err := chromedp.Run(bctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title == "pwned" {
		t.Fatal("a script in a model response ran")
	}
	both := text("#side-a .view-md") + text("#side-b .view-md")
	if !strings.Contains(both, `<script>document.title="pwned"</script>`) || !strings.Contains(both, `<img src=x onerror=`) {
		t.Errorf("the hostile responses are not shown as text: %q", both)
	}
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(loc, "token") {
		t.Errorf("the token stayed in the address bar: %s", loc)
	}

	// Three items: "much better" A with the 3 and ArrowLeft keys, B with the
	// b key and then 2 (A or B waits for a strength), a tie with t.
	keys := [][]string{{"3", kb.ArrowLeft}, {"b", "2"}, {"t"}}
	var items []string
	cur := first
	for i, ks := range keys {
		items = append(items, cur)
		var acts []chromedp.Action[chromedp.Void]
		for _, k := range ks {
			acts = append(acts, chromedp.KeyEvent(k))
		}
		next := fmt.Sprintf(`#labelform:not([data-item="%s"]), #alldone`, cur)
		acts = append(acts, chromedp.WaitVisible(chromedp.CSS(next)))
		if err := chromedp.Do(bctx, acts...); err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		if i < len(keys)-1 {
			cur = item()
		}
	}
	if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS("#alldone"))); err != nil {
		t.Fatal(err)
	}
	if done := text("#done"); done != "3" {
		t.Errorf("progress shows %q done, want 3", done)
	}

	// The labels are in the run directory, as a fresh reader sees them.
	store, err := label.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ls := store.Labels()
	if len(ls) != 3 {
		t.Fatalf("%d labels in %s, want 3", len(ls), label.FileHumanLabels)
	}
	for i, l := range ls {
		if l.PairID != items[i] || l.Annotator != "alice" || len(l.Shown) != 2 {
			t.Errorf("label %d = %+v, want item %s", i, l, items[i])
		}
	}
	if ls[0].Verdict != label.VerdictPrefer || ls[0].Preferred != ls[0].Shown[0] || ls[0].Strength != label.Much {
		t.Errorf("label 0 = %+v, want the left one, much better", ls[0])
	}
	if ls[1].Verdict != label.VerdictPrefer || ls[1].Preferred != ls[1].Shown[1] || ls[1].Strength != label.Clearly {
		t.Errorf("label 1 = %+v, want the right one, clearly better", ls[1])
	}
	if ls[2].Verdict != label.VerdictTie {
		t.Errorf("label 2 = %+v, want a tie", ls[2])
	}

	// Undo with the u key brings the last item back.
	if err := chromedp.Do(bctx,
		chromedp.KeyEvent("u"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#labelform[data-item="%s"]`, items[2]))),
	); err != nil {
		t.Fatalf("undo: %v", err)
	}
	if err := store.Refresh(); err != nil {
		t.Fatal(err)
	}
	if n := len(store.Labels()); n != 2 {
		t.Errorf("after undo %d labels count, want 2", n)
	}
}
