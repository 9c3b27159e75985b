package label

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

// scoreFilter scores every response with prefdatatest.LengthScorer.
var scoreFilter = prefdata.FilterFunc(func(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
	s, err := prefdatatest.LengthScorer{}.Score(ctx, c.Prompt, c.Responses)
	if err != nil {
		return c, err
	}
	out := c
	out.Scores = append(append([]prefdata.Score(nil), c.Scores...), s...)
	return out, nil
})

func testPrompts() []prefdata.Prompt {
	var ps []prefdata.Prompt
	for _, q := range []string{"What is 2+2?", "Name a prime.", "Say hi.", "Explain DNS.", "Write a haiku.", "Sort 3,1,2."} {
		ps = append(ps, prefdatatest.NewPrompt(q))
	}
	return ps
}

// humanPipeline is a pipeline whose AI labeler sends every pair to people.
func humanPipeline(dir *prefdata.RunDir, sink prefdata.Sink, opts HumanOptions) *prefdata.Pipeline {
	return &prefdata.Pipeline{
		Source:     prefdata.Prompts(testPrompts()...),
		Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m1", Samples: 2}, &prefdatatest.Generator{Model: "m2", Samples: 2}},
		Filters:    []prefdata.Filter{scoreFilter},
		Labeler:    Human(prefdatatest.Labeler{HumanBelow: 1e9}, dir, opts),
		Sink:       sink,
		Dir:        dir,
	}
}

// labelAll labels every item the server offers who, using decide to pick
// the choice for a pair ("keep" the AI's order, "flip" it, "tie",
// "both_bad"). It returns how many it labeled.
func labelAll(t *testing.T, f *fixture, who string, decide func(p prefdata.Pair) string) int {
	t.Helper()
	n := 0
	for {
		item := f.next(who)
		if item.Item == "" {
			return n
		}
		p, ok := f.srv.Queue().Pair(item.Item)
		if !ok {
			t.Fatalf("served unknown item %s", item.Item)
		}
		choice := decide(p)
		switch choice {
		case "keep", "flip":
			aIsChosen := item.A == p.Chosen.Text
			if (choice == "keep") == aIsChosen {
				choice = ChoiceA
			} else {
				choice = ChoiceB
			}
		}
		if code, body := f.submit(who, item.Item, choice, nil); code != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", who, code, body)
		}
		n++
	}
}

// "Stop after stage 3, collect later": the first run queues the pairs, the
// server collects labels, a second run writes the human-labeled pairs.
func TestHumanCollectLater(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sink1 := &prefdatatest.Sink{}
	st, err := humanPipeline(dir, sink1, HumanOptions{}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sink1.Pairs()) != 0 || st.PairsHuman == 0 {
		t.Fatalf("first run: %d pairs to the sink, %d to people", len(sink1.Pairs()), st.PairsHuman)
	}
	q, err := OpenQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	queued := q.Pairs()
	if len(queued) != st.PairsHuman {
		t.Fatalf("queue has %d pairs, stats say %d", len(queued), st.PairsHuman)
	}

	// People label: flip the first pair, tie the second, keep the rest.
	f := fixtureOn(t, dir, Policy{}, "alice")
	flip, tie := queued[0].ID, queued[1].ID
	n := labelAll(t, f, "alice", func(p prefdata.Pair) string {
		switch p.ID {
		case flip:
			return "flip"
		case tie:
			return ChoiceTie
		}
		return "keep"
	})
	if n != len(queued) {
		t.Fatalf("labeled %d of %d", n, len(queued))
	}

	sink2 := &prefdatatest.Sink{}
	st2, err := humanPipeline(dir, sink2, HumanOptions{}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := sink2.Pairs()
	if len(got) != len(queued)-1 || st2.PairsHuman != 0 {
		t.Fatalf("second run: %d pairs (want %d), %d still for people", len(got), len(queued)-1, st2.PairsHuman)
	}
	byID := map[string]prefdata.Pair{}
	for _, p := range got {
		if _, dup := byID[p.ID]; dup {
			t.Errorf("pair %s written twice", p.ID)
		}
		byID[p.ID] = p
		if p.NeedsHuman || p.Provenance.Stage != prefdata.StageLabel || len(p.Provenance.Annotators) != 1 || p.Provenance.Annotators[0] != "alice" {
			t.Errorf("pair %s: needs human %v, provenance %+v", p.ID, p.NeedsHuman, p.Provenance)
		}
	}
	if _, ok := byID[tie]; ok {
		t.Error("the tied pair was written")
	}
	for _, orig := range queued {
		p, ok := byID[orig.ID]
		if !ok {
			continue
		}
		flipped := p.Chosen.ID == orig.Rejected.ID
		if flipped != (orig.ID == flip) {
			t.Errorf("pair %s: flipped = %v", orig.ID, flipped)
		}
		if p.Margin != float64(Clearly) {
			t.Errorf("pair %s: margin %v, want the strength 2", orig.ID, p.Margin)
		}
	}
	// A third run replays the finished prompts and asks no one again.
	sink3 := &prefdatatest.Sink{}
	st3, err := humanPipeline(dir, sink3, HumanOptions{}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sink3.Pairs()) != len(got) || st3.PairsHuman != 0 {
		t.Fatalf("third run: %d pairs, %d for people", len(sink3.Pairs()), st3.PairsHuman)
	}
	q2, err := OpenQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	if q2.Len() != len(queued) {
		t.Errorf("queue grew from %d to %d", len(queued), q2.Len())
	}
}

// "The pipeline waits while the server runs": the labeler blocks on each
// pair until people decide it.
func TestHumanWait(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := fixtureOn(t, dir, Policy{Labels: 2}, "alice", "bob")
	sink := &prefdatatest.Sink{}
	p := humanPipeline(dir, sink, HumanOptions{Policy: Policy{Labels: 2}, Wait: true, Poll: 5 * time.Millisecond})
	type result struct {
		st  prefdata.Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := p.Run(ctx)
		done <- result{st, err}
	}()
	// Both annotators label whatever shows up until the run ends.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	labeled := 0
	var res result
loop:
	for {
		for _, who := range []string{"alice", "bob"} {
			labeled += labelAll(t, f, who, func(prefdata.Pair) string { return "keep" })
		}
		select {
		case res = <-done:
			break loop
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the run did not finish")
		}
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	pairs := sink.Pairs()
	if len(pairs) == 0 || labeled != 2*len(pairs) || res.st.PairsHuman != 0 {
		t.Fatalf("%d pairs written, %d labels, %d left for people", len(pairs), labeled, res.st.PairsHuman)
	}
	for _, p := range pairs {
		if p.NeedsHuman || p.Provenance.Stage != prefdata.StageLabel || len(p.Provenance.Annotators) != 2 {
			t.Errorf("pair %s: %+v", p.ID, p.Provenance)
		}
	}
}

// Cancelling a waiting run returns the context's error; the pairs stay
// queued for a later run.
func TestHumanWaitCancelled(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := Human(prefdatatest.Labeler{HumanBelow: 1e9}, dir, HumanOptions{Wait: true, Poll: time.Millisecond})
	c := prefdata.Candidate{Prompt: prefdatatest.NewPrompt("q"), Responses: []prefdata.Response{{ID: "r1", Text: "a b c"}, {ID: "r2", Text: "a"}}}
	c.Scores, _ = prefdatatest.LengthScorer{}.Score(ctx, c.Prompt, c.Responses)
	errc := make(chan error, 1)
	go func() {
		_, err := h.Label(ctx, c)
		errc <- err
	}()
	// Wait until the pair is in the queue file, then cancel.
	for {
		q, err := OpenQueue(dir)
		if err != nil {
			t.Fatal(err)
		}
		if q.Len() == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestPolicyDecide(t *testing.T) {
	p := queuePair(0, "x", "y")
	lab := func(who, cat string, s Strength) Label {
		l := Label{ID: who, PairID: p.ID, Annotator: who, Strength: s}
		switch cat {
		case "ai":
			l.Verdict, l.Preferred = VerdictPrefer, p.Chosen.ID
		case "other":
			l.Verdict, l.Preferred = VerdictPrefer, p.Rejected.ID
		default:
			l.Verdict = Verdict(cat)
		}
		return l
	}
	for _, tc := range []struct {
		name   string
		pol    Policy
		labels []Label
		status Status
		pref   string
		want   int
	}{
		{"one label needed, none", Policy{}, nil, Pending, "", 1},
		{"one label, flips", Policy{}, []Label{lab("a", "other", Much)}, Decided, p.Rejected.ID, 1},
		{"2 of 3 keep", Policy{Labels: 3}, []Label{lab("a", "ai", 1), lab("b", "ai", 3), lab("c", "other", 1)}, Decided, p.Chosen.ID, 3},
		{"2 of 3 needed, only 2", Policy{Labels: 3}, []Label{lab("a", "ai", 1), lab("b", "ai", 3)}, Pending, "", 3},
		{"tie drops", Policy{Labels: 2}, []Label{lab("a", "ai", 1), lab("b", "other", 1)}, Dropped, "", 2},
		{"tie asks for more", Policy{Labels: 2, Tie: TieMoreLabels}, []Label{lab("a", "ai", 1), lab("b", "other", 1)}, Pending, "", 3},
		{"tie broken by the third", Policy{Labels: 2, Tie: TieMoreLabels}, []Label{lab("a", "ai", 1), lab("b", "other", 1), lab("c", "other", 2)}, Decided, p.Rejected.ID, 2},
		{"tie keeps AI", Policy{Labels: 2, Tie: TieKeepAI}, []Label{lab("a", "ai", 1), lab("b", "other", 1)}, Decided, p.Chosen.ID, 2},
		{"tie without AI drops", Policy{Labels: 2, Tie: TieKeepAI}, []Label{lab("a", "tie", 0), lab("b", "other", 1)}, Dropped, "", 2},
		{"both bad", Policy{}, []Label{lab("a", "both_bad", 0)}, Dropped, "", 1},
		{"low agreement drops", Policy{Labels: 3, MinAgreement: 0.7}, []Label{lab("a", "ai", 1), lab("b", "ai", 1), lab("c", "other", 1)}, Dropped, "", 3},
		{"low agreement asks for more", Policy{Labels: 3, MinAgreement: 0.7, Low: LowMoreLabels}, []Label{lab("a", "ai", 1), lab("b", "ai", 1), lab("c", "other", 1)}, Pending, "", 4},
		{"more labels capped", Policy{Labels: 3, MaxLabels: 3, MinAgreement: 0.7, Low: LowMoreLabels}, []Label{lab("a", "ai", 1), lab("b", "ai", 1), lab("c", "other", 1)}, Dropped, "", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.pol.Decide(p, tc.labels)
			if d.Status != tc.status || d.Preferred != tc.pref {
				t.Fatalf("decision %+v, want %v preferring %q", d, tc.status, tc.pref)
			}
			if d.Status == Pending && d.Want != tc.want {
				t.Errorf("want %d labels, asked for %d", tc.want, d.Want)
			}
		})
	}
	// Apply turns a flip into a swapped pair with the mean strength.
	d := Policy{Labels: 2}.Decide(p, []Label{lab("a", "other", Much), lab("b", "other", Slightly)})
	out, ok := Apply(p, d)
	if !ok || out.Chosen.ID != p.Rejected.ID || out.Margin != 2 || out.NeedsHuman || out.Provenance.Stage != prefdata.StageLabel {
		t.Fatalf("Apply = %+v, %v", out, ok)
	}
}

// A nil run directory is a clear error, not a panic.
func TestHumanNilDir(t *testing.T) {
	ctx := context.Background()
	h := Human(prefdatatest.Labeler{HumanBelow: 1e9}, nil, HumanOptions{})
	c := prefdata.Candidate{Prompt: prefdatatest.NewPrompt("q"), Responses: []prefdata.Response{{ID: "r1", Text: "a b c"}, {ID: "r2", Text: "a"}}}
	c.Scores, _ = prefdatatest.LengthScorer{}.Score(ctx, c.Prompt, c.Responses)
	if _, err := h.Label(ctx, c); err == nil || !strings.Contains(err.Error(), "run directory") {
		t.Errorf("Label with a nil run directory: err = %v", err)
	}
	if _, err := Human(nil, nil, HumanOptions{}).Label(ctx, c); err == nil || !strings.Contains(err.Error(), "labeler is nil") {
		t.Errorf("Label with a nil AI labeler: err = %v", err)
	}
	if _, err := OpenStore(nil); err == nil {
		t.Error("OpenStore(nil): no error")
	}
	if _, err := OpenQueue(nil); err == nil {
		t.Error("OpenQueue(nil): no error")
	}
}
