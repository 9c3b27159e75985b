package label

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
)

// Two queued pairs of one prompt cover three responses: the annotator ranks
// them at once, and the ranking becomes one label per pair.
func TestRankingView(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p1 := queuePair(7, "best <b>answer</b>", "worst answer")
	r3 := prefdata.Response{ID: "r-7-c", PromptID: p1.Prompt.ID, Text: "middle answer"}
	p2 := p1
	p2.Rejected = r3
	p2.ID = prefdata.PairID(p1.Prompt.ID, p1.Chosen.ID, r3.ID)
	other := queuePair(8, "x", "y")
	for _, p := range []prefdata.Pair{p1, p2, other} {
		if err := dir.Append(prefdata.FileQueue, p); err != nil {
			t.Fatal(err)
		}
	}
	f := fixtureOn(t, dir, Policy{}, "alice")
	code, body, _ := f.do("GET", "/label", testToken("alice"), nil, nil)
	if code != 200 || !strings.Contains(body, `id="rankform"`) || strings.Count(body, `<select name="rank_`) != 3 {
		t.Fatalf("ranking page: %d %s", code, body)
	}
	if strings.Contains(body, "<b>answer") || !strings.Contains(body, "&lt;b&gt;") {
		t.Error("a response is not escaped in the ranking view")
	}
	order := rankOrder("test", "alice", []prefdata.Pair{p1, p2})
	letter := map[string]string{}
	for _, r := range order {
		letter[r.ID] = r.Letter
	}
	post := func(ranks map[string]string, items ...string) (int, string) {
		form := url.Values{"csrf": {csrfToken(testToken("alice"))}, "item": items}
		for l, v := range ranks {
			form.Set("rank_"+l, v)
		}
		code, body, _ := f.do("POST", "/rank", testToken("alice"), form, nil)
		return code, body
	}
	good := map[string]string{letter[p1.Chosen.ID]: "1", letter[r3.ID]: "1", letter[p1.Rejected.ID]: "3"}
	for _, tc := range []struct {
		name  string
		ranks map[string]string
		items []string
		want  int
	}{
		{"missing rank", map[string]string{"A": "1", "B": "2"}, []string{p1.ID, p2.ID}, http.StatusBadRequest},
		{"rank out of range", map[string]string{"A": "1", "B": "2", "C": "9"}, []string{p1.ID, p2.ID}, http.StatusBadRequest},
		{"unknown response", map[string]string{"A": "1", "B": "2", "C": "3", "D": "1"}, []string{p1.ID, p2.ID}, http.StatusBadRequest},
		{"one item", good, []string{p1.ID}, http.StatusBadRequest},
		{"different prompts", good, []string{p1.ID, other.ID}, http.StatusBadRequest},
		{"unknown item", good, []string{p1.ID, "pair-x"}, http.StatusNotFound},
	} {
		if code, body := post(tc.ranks, tc.items...); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.want)
		}
	}
	if f.labelsFileSize() != 0 {
		t.Fatal("refused rankings wrote labels")
	}
	if code, body := post(good, p1.ID, p2.ID); code != http.StatusSeeOther {
		t.Fatalf("ranking: %d %s", code, body)
	}
	l1, l2 := f.srv.Store().ForPair(p1.ID), f.srv.Store().ForPair(p2.ID)
	if len(l1) != 1 || l1[0].Verdict != VerdictPrefer || l1[0].Preferred != p1.Chosen.ID || l1[0].Strength != 2 {
		t.Errorf("pair 1 label = %+v, want the best one preferred by 2 ranks", l1)
	}
	if len(l2) != 1 || l2[0].Verdict != VerdictTie {
		t.Errorf("pair 2 label = %+v, want a tie", l2)
	}
	// Next comes the other prompt's single pair, in the pairwise view.
	code, body, _ = f.do("GET", "/label", testToken("alice"), nil, nil)
	if code != 200 || !strings.Contains(body, `id="labelform"`) || !strings.Contains(body, other.ID) {
		t.Errorf("after the ranking: %d", code)
	}
}
