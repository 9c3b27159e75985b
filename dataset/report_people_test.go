package dataset

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/label"
	"github.com/prefdata/prefdata/runstore"
)

// runWithPeople runs the sample pipeline into d with the AI labeler wrapped
// by label.Human, so that pairs people labeled come back as stage-4 pairs.
func runWithPeople(t *testing.T, d *prefdata.RunDir) prefdata.Stats {
	t.Helper()
	p := &prefdata.Pipeline{
		Source:     prefdata.Prompts(samplePrompts()...),
		Generators: []prefdata.Generator{sampleGenerator("gen-a", "model-a", 1), sampleGenerator("gen-b", "model-b", 4)},
		Filters:    sampleFilters(),
		Labeler:    label.Human(sampleLabeler(), d, label.HumanOptions{}),
		Sink:       prefdata.SinkFunc(func(context.Context, prefdata.Pair) error { return nil }),
		Dir:        d,
		Limits:     prefdata.Limits{Prompt: 1, Generate: 1, Filter: 1},
	}
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// labelQueue has two people prefer the AI's chosen side of every queued
// pair.
func labelQueue(t *testing.T, d *prefdata.RunDir) int {
	t.Helper()
	q, err := label.OpenQueue(d)
	if err != nil {
		t.Fatal(err)
	}
	store, err := label.OpenStore(d)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	n := 0
	for _, p := range q.Pairs() {
		for _, who := range []string{"ann-a", "ann-b"} {
			l := label.Label{ID: p.ID + "/" + who, PairID: p.ID, PromptID: p.Prompt.ID, Annotator: who, Verdict: label.VerdictPrefer,
				Preferred: p.Chosen.ID, Strength: label.Clearly, Source: label.SourceApp, Time: time.Now()}
			if err := store.Add(l); err != nil {
				t.Fatal(err)
			}
		}
		n++
	}
	return n
}

// dirFigures counts, straight from the run directory's files, what the
// report's every-run figures should say.
type dirFigures struct {
	pairsAI, pairsPeople, queued, labeledPairs int
	scores                                     map[string]map[float64]int // model → score → n
}

func readDirFigures(t *testing.T, d *prefdata.RunDir) dirFigures {
	t.Helper()
	rs, err := runstore.Open(d)
	if err != nil {
		t.Fatal(err)
	}
	f := dirFigures{scores: map[string]map[float64]int{}}
	pairs, err := rs.LatestPairs()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		if p.Provenance.Stage == prefdata.StageLabel {
			f.pairsPeople++
		} else {
			f.pairsAI++
		}
	}
	queued := map[string]bool{}
	if err := rs.Queue(func(p prefdata.Pair) error { queued[p.ID] = true; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	f.queued = len(queued)
	labels, err := rs.CurrentLabels()
	if err != nil {
		t.Fatal(err)
	}
	labeled := map[string]bool{}
	for _, l := range labels {
		labeled[l.PairID] = true
	}
	f.labeledPairs = len(labeled)
	model := map[string]string{}
	type sc struct {
		id string
		v  float64
	}
	seen := map[string]sc{}
	if err := rs.Scores(func(_ prefdata.CacheRecord, c prefdata.Candidate) error {
		for _, r := range c.Responses {
			model[r.ID] = r.Model
		}
		for _, s := range c.Scores {
			if s.Scorer == "rm:plus" {
				seen[s.ResponseID] = sc{s.ResponseID, s.Value}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, s := range seen {
		m := model[s.id]
		if f.scores[m] == nil {
			f.scores[m] = map[float64]int{}
		}
		f.scores[m][s.v]++
	}
	return f
}

// TestReportCountsPeoplesPairsThisRunAndEveryRun: after people labeled
// the queued pair, the second run writes it as a stage-4 pair. The report
// must count it as labeled by people in this run's funnel and in the whole
// directory's, never as labeled by AI, and every chart must match the run
// directory and fit in its box.
func TestReportCountsPeoplesPairsThisRunAndEveryRun(t *testing.T) {
	d, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	first := runWithPeople(t, d)
	if first.PairsHuman != 1 {
		t.Fatalf("first run sent %d pairs to people, want 1", first.PairsHuman)
	}
	if n := labelQueue(t, d); n != 1 {
		t.Fatalf("labeled %d queued pairs, want 1", n)
	}
	st := runWithPeople(t, d)
	if st.PairsPeople != 1 || st.PairsHuman != 0 {
		t.Fatalf("second run: %d pairs labeled by people, %d sent to people; want 1 and 0 (stats %+v)", st.PairsPeople, st.PairsHuman, st)
	}

	s, err := Summarize(d)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteReport(&buf, s, ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	charts := parseCharts(t, page)
	get := func(id string) chart {
		t.Helper()
		c, ok := charts[id]
		if !ok {
			t.Fatalf("the report has no chart %q", id)
		}
		return c
	}
	eq := func(what string, got, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s: chart says %v, run directory says %v", what, got, want)
		}
	}
	// This run: from the manifest's stats.
	fn := get("funnel")
	eq("this run, labeled by AI", fn.value(t, "3 · pairs labeled by AI", "n"), float64(st.PairsAI-1))
	eq("this run, labeled by people", fn.value(t, "4 · pairs labeled by people", "n"), 1)
	eq("this run, sent to people", fn.value(t, "4 · pairs sent to people", "n"), 0)
	// Every run: from the files.
	f := readDirFigures(t, d)
	if f.pairsPeople != 1 || f.labeledPairs != 1 || f.queued != 1 {
		t.Fatalf("run directory: %+v; want 1 pair labeled by people, 1 labeled, 1 queued", f)
	}
	all := get("funnel-all")
	eq("every run, labeled by AI", all.value(t, "3 · pairs labeled by AI", "n"), float64(f.pairsAI))
	eq("every run, labeled by people", all.value(t, "4 · pairs labeled by people", "n"), float64(f.pairsPeople))
	eq("every run, sent to people", all.value(t, "4 · pairs sent to people", "n"), float64(f.queued))
	eq("every run, pairs with labels", all.value(t, "4 · pairs with people's labels", "n"), float64(f.labeledPairs))
	people := get("people")
	eq("people: labeled by people", people.value(t, "pairs labeled by people", "pairs"), float64(f.pairsPeople))
	eq("people: sent", people.value(t, "pairs sent to people", "pairs"), float64(f.queued))
	eq("people: with labels", people.value(t, "pairs with people's labels", "pairs"), float64(f.labeledPairs))
	eq("pairs by stage 4", get("pairs-by-stage").value(t, "stage4", "pairs"), float64(f.pairsPeople))
	for _, want := range []string{
		fmt.Sprintf("%d labeled by AI and %d labeled by people", f.pairsAI, f.pairsPeople),
		fmt.Sprintf("This run: wrote %d pairs (%d labeled by AI, 1 labeled by people)", st.PairsAI, st.PairsAI-1),
		"Funnel through the four stages (this run)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the report does not say %q", want)
		}
	}

	// Integer scores: one bin per integer from min to max, each holding
	// exactly the run directory's count of that score.
	sc := get("scores:rm:plus")
	got := map[string]map[float64]int{}
	var centers []float64
	for _, r := range sc.Rects {
		if r.Series == "" {
			continue
		}
		lo, hi := parseNum(t, r.Lo), parseNum(t, r.Hi)
		if hi-lo != 1 || lo+0.5 != float64(int(lo+0.5)) {
			t.Fatalf("integer scores binned in [%v, %v), want one bin per integer", lo, hi)
		}
		if got[r.Series] == nil {
			got[r.Series] = map[float64]int{}
			centers = centers[:0]
		}
		centers = append(centers, lo+0.5)
		if n := int(parseNum(t, r.Value)); n > 0 {
			got[r.Series][lo+0.5] = n
		}
	}
	for i := 1; i < len(centers); i++ {
		if centers[i] != centers[i-1]+1 {
			t.Errorf("score bins skip from %v to %v", centers[i-1], centers[i])
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(f.scores) {
		t.Errorf("score histogram %v, run directory %v", got, f.scores)
	}
	if !strings.Contains(page, `class="axis-title"`) {
		t.Error("histograms have no axis titles")
	}
	checkNotClipped(t, page)
}

// checkNotClipped checks every chart of page: each text and bar lies
// inside the SVG's box, and the box is tall enough for a line of text.
func checkNotClipped(t *testing.T, page string) {
	t.Helper()
	for _, svg := range svgRE.FindAllString(page, -1) {
		dec := xml.NewDecoder(strings.NewReader(svg))
		var id string
		var w, h float64
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			se, ok := tok.(xml.StartElement)
			if !ok {
				continue
			}
			at := func(name string) float64 {
				for _, a := range se.Attr {
					if a.Name.Local == name {
						v, err := strconv.ParseFloat(a.Value, 64)
						if err != nil {
							t.Fatalf("%s: %s=%q", id, name, a.Value)
						}
						return v
					}
				}
				return 0
			}
			switch se.Name.Local {
			case "svg":
				for _, a := range se.Attr {
					if a.Name.Local == "data-chart" {
						id = a.Value
					}
				}
				w, h = at("width"), at("height")
				if h < 20 {
					t.Errorf("chart %s is %v px tall: clipped", id, h)
				}
			case "text":
				if y := at("y"); y < 10 || y > h {
					t.Errorf("chart %s: text at y=%v outside 10..%v", id, y, h)
				}
			case "rect":
				if x, y := at("x")+at("width"), at("y")+at("height"); y > h+0.01 || x > w+0.01 {
					t.Errorf("chart %s: bar reaches (%v, %v), box is %v×%v", id, x, y, w, h)
				}
			}
		}
	}
}

// TestEmptyChartsReadable: a run directory with nothing in it still draws
// each chart as a readable "no data" note, not a 6 px strip.
func TestEmptyChartsReadable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReport(&buf, Summary{}, ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	charts := parseCharts(t, page)
	for _, id := range []string{"filter-drops", "failures-by-stage", "prompt-drops", "gaps"} {
		if _, ok := charts[id]; !ok {
			t.Errorf("no chart %s", id)
		}
	}
	if n := strings.Count(page, ">no data</text>"); n < 4 {
		t.Errorf("%d charts say no data, want every empty one", n)
	}
	checkNotClipped(t, page)
}

// TestCostChartOnlyWithPrices: without prices every cost is 0 and the
// report says the cost is not known instead of drawing zeros.
func TestCostChartOnlyWithPrices(t *testing.T) {
	s := Summary{Models: []ModelSummary{{Model: "m", Responses: 3, Usage: prefdata.Usage{PromptTokens: 10, CompletionTokens: 5}}}}
	var buf bytes.Buffer
	if err := WriteReport(&buf, s, ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := parseCharts(t, buf.String())["cost-by-model"]; ok || !strings.Contains(buf.String(), "cost-unknown") {
		t.Error("a run without prices draws a cost chart (or does not say cost is unknown)")
	}
	s.Models[0].Usage.Cost = 0.25
	buf.Reset()
	if err := WriteReport(&buf, s, ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	if c, ok := parseCharts(t, buf.String())["cost-by-model"]; !ok || c.value(t, "m", "cost (USD)") != 0.25 {
		t.Error("a run with prices has no cost chart of its cost")
	}
}

// TestJudgeConsistencyTellsTiesApart: a tie in both orders is a tie, an
// order without a verdict is undecided; neither is "inconsistent".
func TestJudgeConsistencyTellsTiesApart(t *testing.T) {
	one, minus, zero := prefdata.Float(1), prefdata.Float(-1), prefdata.Float(0)
	cases := []struct {
		c    prefdata.Comparison
		want string
	}{
		{prefdata.Comparison{Preference: 1, Consistent: true, Orders: []*float64{one, one}}, "consistent"},
		{prefdata.Comparison{Preference: 0, Consistent: true, Orders: []*float64{zero, zero}}, "tie"},
		{prefdata.Comparison{Preference: 0, Consistent: false, Orders: []*float64{one, minus}}, "inconsistent"},
		{prefdata.Comparison{Preference: 0, Consistent: false, Orders: []*float64{one, nil}}, "undecided"},
	}
	for _, c := range cases {
		if got := JudgeOutcome(c.c); got != c.want {
			t.Errorf("%+v: %s, want %s", c.c, got, c.want)
		}
	}
	a := newAccum()
	for i, c := range cases {
		c.c.A, c.c.B, c.c.Scorer = fmt.Sprint("a", i), "b", "judge:x"
		a.comps[c.c.A] = c.c
	}
	var s Summary
	a.fill(&s)
	j := s.Judges[0]
	if j.Consistent != 1 || j.Ties != 1 || j.Inconsistent != 1 || j.Undecided != 1 || j.Rate != 2.0/3 {
		t.Errorf("judge summary %+v", j)
	}
	var buf bytes.Buffer
	if err := WriteReport(&buf, s, ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	jc := parseCharts(t, buf.String())["judge-consistency"]
	for _, series := range []string{"consistent", "tie", "inconsistent", "undecided"} {
		if v := jc.value(t, "judge:x", series); v != 1 {
			t.Errorf("judge-consistency %s = %v, want 1", series, v)
		}
	}
}
