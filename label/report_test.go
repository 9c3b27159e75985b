package label

import (
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
)

func TestSummarize(t *testing.T) {
	p1, p2 := queuePair(1, "a", "b"), queuePair(2, "c", "d")
	p3 := queuePair(3, "e", "f") // no labels
	lab := func(p prefdata.Pair, who string, keep bool, secs float64) Label {
		l := Label{ID: who + p.ID, PairID: p.ID, Annotator: who, Verdict: VerdictPrefer, Preferred: p.Chosen.ID, LeadTime: secs}
		if !keep {
			l.Preferred = p.Rejected.ID
		}
		return l
	}
	labels := []Label{
		lab(p1, "ann", true, 10), lab(p1, "ben", true, 20), lab(p1, "cat", false, 30),
		lab(p2, "ann", false, 4), lab(p2, "ben", false, 6), lab(p2, "cat", false, 8),
	}
	rep := Summarize([]prefdata.Pair{p1, p2, p3}, labels, Policy{Labels: 3})
	if rep.Items != 3 || rep.Decided != 2 || rep.Pending != 1 || rep.Labels != 6 {
		t.Fatalf("report = %+v", rep)
	}
	// Percent agreement by hand: item 1 is (keep, keep, flip): of its 3*2
	// ordered pairs of labels 2 agree, 1/3; item 2 (flip, flip, flip) 1; the
	// mean is 2/3.
	if math.Abs(rep.PercentAgreement-2.0/3) > 1e-12 {
		t.Errorf("percent agreement = %v, want 2/3", rep.PercentAgreement)
	}
	// Alpha by hand: each ordered pair in a unit of 3 values weighs 1/2.
	// Item 1 gives o(k,k) = 1, o(k,f) = o(f,k) = 1; item 2 o(f,f) = 3. So
	// n_k = 2, n_f = 4, n = 6, D_o = 2/6, D_e = 2*2*4/(6*5) = 16/30, and
	// alpha = 1 - (1/3)/(16/30) = 0.375.
	if !rep.AlphaOK || math.Abs(rep.Alpha-0.375) > 1e-12 {
		t.Errorf("alpha = %v (ok %v), want 0.375", rep.Alpha, rep.AlphaOK)
	}
	ann := rep.Annotators[0]
	if ann.Name != "ann" || ann.Labels != 2 || ann.AgreeAI != 0.5 || ann.MedianSeconds != 7 || ann.Compared != 4 || ann.AgreeOthers != 0.75 {
		t.Errorf("ann = %+v", ann)
	}
	cat := rep.Annotators[2]
	if cat.AgreeAI != 0 || cat.AgreeOthers != 0.5 {
		t.Errorf("cat = %+v", cat)
	}
}

// A tie between two annotators asks the server for a third.
func TestServerAsksForMoreLabels(t *testing.T) {
	f := newFixture(t, 1, Policy{Labels: 2, Tie: TieMoreLabels}, "ann", "ben", "cat")
	a, b := f.next("ann"), f.next("ben")
	if a.Item == "" || b.Item != a.Item {
		t.Fatalf("ann got %q, ben %q", a.Item, b.Item)
	}
	if c := f.next("cat"); c.Item != "" {
		t.Fatalf("cat got %q while two labels are enough", c.Item)
	}
	p, _ := f.srv.Queue().Pair(a.Item)
	side := func(n NextItem, id string) string {
		if (n.A == p.Chosen.Text) == (id == p.Chosen.ID) {
			return ChoiceA
		}
		return ChoiceB
	}
	if code, body := f.submit("ann", a.Item, side(a, p.Chosen.ID), nil); code != http.StatusSeeOther {
		t.Fatal(code, body)
	}
	if code, body := f.submit("ben", b.Item, side(b, p.Rejected.ID), nil); code != http.StatusSeeOther {
		t.Fatal(code, body)
	}
	c := f.next("cat")
	if c.Item != a.Item {
		t.Fatalf("after a tie cat got %q, want %q", c.Item, a.Item)
	}
	if code, body := f.submit("cat", c.Item, side(c, p.Rejected.ID), nil); code != http.StatusSeeOther {
		t.Fatal(code, body)
	}
	d := Policy{Labels: 2, Tie: TieMoreLabels}.Decide(p, f.srv.Store().ForPair(p.ID))
	if d.Status != Decided || d.Preferred != p.Rejected.ID || len(d.Annotators) != 3 {
		t.Fatalf("decision = %+v", d)
	}
}

// A pair the server had settled can need labels again when a label arrives
// from elsewhere (an import, another process) and makes a tie: the server
// offers it again, and progress counts it.
func TestServerReopensPairAfterImport(t *testing.T) {
	pol := Policy{Labels: 1, Tie: TieMoreLabels}
	f := newFixture(t, 1, pol, "ann", "ben")
	a := f.next("ann")
	p, _ := f.srv.Queue().Pair(a.Item)
	choice := ChoiceA
	if a.A != p.Chosen.Text {
		choice = ChoiceB
	}
	if code, body := f.submit("ann", a.Item, choice, nil); code != http.StatusSeeOther {
		t.Fatal(code, body)
	}
	if n := f.next("ben"); n.Item != "" {
		t.Fatalf("ben got %q though one label settles the pair", n.Item)
	}
	// Another process imports a label that disagrees with ann's.
	other, err := OpenStore(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Add(Label{ID: "imp-1", PairID: p.ID, Annotator: "labelstudio:7", Verdict: VerdictPrefer, Preferred: p.Rejected.ID, Source: SourceLabelStudio}); err != nil {
		t.Fatal(err)
	}
	if n := f.next("ben"); n.Item != p.ID {
		t.Fatalf("after the tie ben got %q, want %q", n.Item, p.ID)
	}
	_, body, _ := f.do("GET", "/api/progress", testToken("ben"), nil, nil)
	if !strings.Contains(body, `"remaining": 1`) {
		t.Errorf("ben's progress = %s, want 1 remaining", body)
	}
}

// The same when the tie comes from a label submitted in the app on a lease
// taken before an import settled the pair.
func TestServerReopensPairAfterLateSubmit(t *testing.T) {
	pol := Policy{Labels: 1, Tie: TieMoreLabels}
	f := newFixture(t, 1, pol, "ann", "ben")
	a := f.next("ann")
	p, _ := f.srv.Queue().Pair(a.Item)
	other, err := OpenStore(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Add(Label{ID: "imp-1", PairID: p.ID, Annotator: "labelstudio:7", Verdict: VerdictPrefer, Preferred: p.Rejected.ID, Source: SourceLabelStudio}); err != nil {
		t.Fatal(err)
	}
	if n := f.next("ben"); n.Item != "" {
		t.Fatalf("ben got %q though the import settled the pair", n.Item)
	}
	choice := ChoiceA // ann keeps the AI's order: a tie with the import
	if a.A != p.Chosen.Text {
		choice = ChoiceB
	}
	if code, body := f.submit("ann", a.Item, choice, nil); code != http.StatusSeeOther {
		t.Fatal(code, body)
	}
	if n := f.next("ben"); n.Item != p.ID {
		t.Fatalf("after the tie ben got %q, want %q", n.Item, p.ID)
	}
}

// When every label agrees alpha is undefined (no variation), and the
// dashboard says so rather than claiming no item has two labels.
func TestSummarizeAlphaUndefined(t *testing.T) {
	f := newFixture(t, 2, Policy{Labels: 2}, "ann", "ben")
	for _, who := range []string{"ann", "ben"} {
		labelAll(t, f, who, func(prefdata.Pair) string { return "keep" })
	}
	rep := Summarize(f.srv.Queue().Pairs(), f.srv.Store().Labels(), Policy{Labels: 2})
	if rep.AlphaOK || rep.PercentAgreement != 1 || !strings.Contains(rep.AlphaNote, "same") {
		t.Errorf("report alpha %v (ok %v), note %q, agreement %v", rep.Alpha, rep.AlphaOK, rep.AlphaNote, rep.PercentAgreement)
	}
	_, body, _ := f.do("GET", "/admin", testToken("admin"), nil, nil)
	if strings.Contains(body, "no item has two labels") || !strings.Contains(body, rep.AlphaNote) {
		t.Errorf("dashboard alpha cell: %s", body)
	}
	empty := Summarize(f.srv.Queue().Pairs(), nil, Policy{Labels: 2})
	if empty.AlphaOK || !strings.Contains(empty.AlphaNote, "two labels") {
		t.Errorf("no labels: note %q", empty.AlphaNote)
	}
}
