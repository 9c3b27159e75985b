package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
)

// chartRect is one drawn bar read back from the report's SVG.
type chartRect struct {
	Label  string `xml:"data-label,attr"`
	Series string `xml:"data-series,attr"`
	Value  string `xml:"data-value,attr"`
	Lo     string `xml:"data-lo,attr"`
	Hi     string `xml:"data-hi,attr"`
}

type chart struct {
	ID    string      `xml:"data-chart,attr"`
	Rects []chartRect `xml:"rect"`
}

// value returns the chart's value for a label and series.
func (c chart) value(t *testing.T, label, series string) float64 {
	t.Helper()
	for _, r := range c.Rects {
		if r.Label == label && r.Series == series {
			return parseNum(t, r.Value)
		}
	}
	t.Errorf("chart %s has no bar %q/%q", c.ID, label, series)
	return -1
}

// total sums the chart's values, of one series or ("") of all.
func (c chart) total(t *testing.T, series string) float64 {
	t.Helper()
	var s float64
	for _, r := range c.Rects {
		if r.Value != "" && (series == "" || r.Series == series) {
			s += parseNum(t, r.Value)
		}
	}
	return s
}

func parseNum(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("data-value %q: %v", s, err)
	}
	return v
}

var svgRE = regexp.MustCompile(`(?s)<svg .*?</svg>`)

func parseCharts(t *testing.T, page string) map[string]chart {
	t.Helper()
	out := map[string]chart{}
	for _, s := range svgRE.FindAllString(page, -1) {
		var c chart
		if err := xml.Unmarshal([]byte(s), &c); err != nil {
			t.Fatalf("an SVG of the report is not well-formed: %v\n%s", err, s)
		}
		out[c.ID] = c
	}
	return out
}

// TestReportChartsMatchRunStats renders the report of a real pipeline run
// and checks each chart's data against the run's Stats (and, where Stats
// has no figure, against what the sample run is built to produce).
func TestReportChartsMatchRunStats(t *testing.T) {
	run := runSample(t)
	st := run.stats
	s, err := Summarize(run.dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Human.Agreement = &Agreement{Metric: "krippendorff_alpha", Value: 0.625, Items: 1, Annotators: 3}
	var buf bytes.Buffer
	if err := WriteReport(&buf, s, ReportOptions{Title: "Sample <run>"}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	charts := parseCharts(t, page)
	get := func(id string) chart {
		c, ok := charts[id]
		if !ok {
			t.Fatalf("the report has no chart %q (has %d charts)", id, len(charts))
		}
		return c
	}
	eq := func(what string, got float64, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s: chart says %v, run says %v", what, got, want)
		}
	}

	f := get("funnel")
	eq("funnel prompts read", f.value(t, "1 · prompts read", "n"), float64(st.Prompt.In))
	eq("funnel prompts selected", f.value(t, "1 · prompts selected", "n"), float64(st.Prompt.Out))
	eq("funnel responses", f.value(t, "2 · responses generated", "n"), float64(st.Responses))
	eq("funnel responses kept", f.value(t, "3 · responses kept by filters", "n"), float64(st.Filter.Out))
	eq("funnel AI pairs", f.value(t, "3 · pairs labeled by AI", "n"), float64(st.PairsAI))
	eq("funnel human pairs", f.value(t, "4 · pairs sent to people", "n"), float64(st.PairsHuman))

	cat := get("prompts-by-category")
	eq("kept prompts over categories", cat.total(t, "kept"), float64(st.Prompt.Out))
	eq("dropped prompts over categories", cat.total(t, "dropped"), float64(st.Prompt.Dropped["not-vague"]))
	eq("math kept", cat.value(t, "math", "kept"), 3)
	eq("coding dropped", cat.value(t, "coding", "dropped"), 1)
	eq("uncategorized kept", cat.value(t, "(none)", "kept"), 1)
	src := get("prompts-by-source")
	eq("kept prompts over sources", src.total(t, "kept"), float64(st.Prompt.Out))
	eq("mt_bench kept", src.value(t, "mt_bench.jsonl", "kept"), 2)
	eq("prompt drops", get("prompt-drops").value(t, "not-vague", "dropped"), float64(st.Prompt.Dropped["not-vague"]))

	resp := get("responses-by-model")
	eq("responses over models", resp.total(t, ""), float64(st.Responses))
	eq("model-a responses", resp.value(t, "model-a", "responses"), 14) // 7 prompts × 2 samples
	eq("model-b responses", resp.value(t, "model-b", "responses"), 12) // one prompt failed
	tok, cost := get("tokens-by-model"), get("cost-by-model")
	for _, m := range []string{"model-a", "model-b"} {
		u := st.Usage[m]
		eq(m+" prompt tokens", tok.value(t, m, "prompt tokens"), float64(u.PromptTokens))
		eq(m+" completion tokens", tok.value(t, m, "completion tokens"), float64(u.CompletionTokens))
		eq(m+" cost", cost.value(t, m, "cost (USD)"), u.Cost)
	}
	gf := get("generator-failures")
	eq("generations answered", gf.total(t, "answered"), float64(st.Generate.Out))
	eq("generations failed", gf.total(t, "failed"), float64(st.Generate.Failed))
	eq("gen-b failed", gf.value(t, "gen-b", "failed"), 1)
	for name, g := range st.Generators {
		eq(name+" answered", gf.value(t, name, "answered"), float64(g.Out))
		eq(name+" failed", gf.value(t, name, "failed"), float64(g.Failed))
	}
	for _, m := range s.Models {
		if !m.FailureKnown || (m.Model == "model-b") != (m.Failed == 1) {
			t.Errorf("model %s: failed %d (known %v), want 1 for model-b only", m.Model, m.Failed, m.FailureKnown)
		}
	}
	if !strings.Contains(page, "14.3% failed") { // 1 of 7 items
		t.Error("the report does not state gen-b's failure rate")
	}

	fd := get("filter-drops")
	for name, n := range st.Filter.Dropped {
		eq("filter drops "+name, fd.value(t, name, "dropped"), float64(n))
	}
	sc := get("scores:rm:plus")
	eq("rm scores (one per kept response)", sc.total(t, ""), float64(st.Filter.Out))
	eq("model-b rm scores", sc.total(t, "model-b"), 12)
	gaps := get("gaps")
	// pairs.jsonl journals the pairs of finished prompts only: the prompt
	// whose model-b generation failed had its pair written to the sink but
	// not journaled (a rerun retries it), so the journal holds one fewer.
	journaled := float64(st.PairsAI - 1)
	eq("gaps of journaled pairs", gaps.total(t, "pairs"), journaled)
	eq("gaps of queued pairs", gaps.total(t, "queue"), float64(st.PairsHuman))
	for _, r := range gaps.Rects {
		if r.Series == "queue" && r.Value != "0" && (parseNum(t, r.Lo) > 0 || parseNum(t, r.Hi) <= 0) {
			t.Errorf("the queued pair's gap is 0 but lands in the bin [%s, %s)", r.Lo, r.Hi)
		}
	}

	// Per kept prompt the judge compares responses two by two; it is
	// consistent unless the answers are alike: 10 of 12 comparisons (the
	// two of the HUMAN prompt are ties).
	jc := get("judge-consistency")
	eq("consistent comparisons", jc.value(t, "judge:j1", "consistent"), 10)
	eq("inconsistent comparisons", jc.value(t, "judge:j1", "inconsistent"), 2)
	eq("tied comparisons", jc.value(t, "judge:j1", "tie"), 0)
	eq("undecided comparisons", jc.value(t, "judge:j1", "undecided"), 0)

	ps := get("pairs-by-stage")
	eq("pairs over stages", ps.total(t, ""), journaled)
	eq("stage-2 pairs (coding)", ps.value(t, "stage2", "pairs"), 1)
	eq("chosen sides", get("chosen-by-model").total(t, ""), journaled)
	eq("rejected sides", get("rejected-by-model").total(t, ""), journaled)
	routes := get("routes")
	eq("routed pairs", routes.total(t, ""), float64(st.PairsAI+st.PairsHuman))
	for k, n := range st.Routes {
		eq("route "+k, routes.value(t, k, "pairs"), float64(n))
	}
	if !strings.Contains(page, "5 pairs in the journal of finished prompts, 5 labeled by AI and 0 labeled by people; 1 pair sent to people. This run: wrote 6 pairs") || !strings.Contains(page, "a failed generation or with a pair waiting for people") {
		t.Error("the report does not explain the journal/sink difference")
	}
	people := get("people")
	eq("pairs to people", people.value(t, "pairs sent to people", "pairs"), float64(st.PairsHuman))
	eq("failures by stage", get("failures-by-stage").value(t, "generate", "failed"), float64(st.Failures()))

	man, _, err := run.dir.ReadManifest()
	if err != nil {
		t.Fatal(err)
	}
	if s.Started.IsZero() || !s.Started.Equal(man.Started) || !strings.Contains(page, "last run started "+fmtTime(man.Started)) {
		t.Errorf("the report's start time %v, the manifest's %v", s.Started, man.Started)
	}
	if !strings.Contains(page, `data-agreement="0.625"`) {
		t.Error("the report does not show the agreement given")
	}
	// Self-contained: nothing loaded from elsewhere, no executable script.
	for _, bad := range []string{" src=", "href=", "<script>", "<script src", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("the report contains %q", bad)
		}
	}
	if !strings.Contains(page, "<title>Sample &lt;run&gt;</title>") {
		t.Error("the title is not escaped")
	}
	// The embedded JSON is the summary.
	m := regexp.MustCompile(`<script type="application/json" id="summary">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no embedded summary")
	}
	var back Summary
	if err := json.Unmarshal([]byte(m[1]), &back); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(s)
	got, _ := json.Marshal(back)
	if !bytes.Equal(want, got) {
		t.Error("the embedded summary differs from the Summary")
	}
}

func TestSummaryCountsEachItemOnceAcrossReruns(t *testing.T) {
	run := runSample(t)
	first, err := Summarize(run.dir)
	if err != nil {
		t.Fatal(err)
	}
	// A rerun over the same directory finds everything done: the files
	// gain nothing new and the summary's file-based counts stay the same.
	p := &prefdata.Pipeline{
		Source:     prefdata.Prompts(samplePrompts()...),
		Generators: []prefdata.Generator{sampleGenerator("gen-a", "model-a", 1), sampleGenerator("gen-b", "model-b", 4)},
		Filters:    sampleFilters(), Labeler: sampleLabeler(), Dir: run.dir,
		PromptFilters: []prefdata.PromptFilter{prefdata.NamedPromptFilter("not-vague", prefdata.PromptFilterFunc(
			func(_ context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
				if strings.HasPrefix(p.Text(), "DROP") {
					return p, prefdata.Reject("too vague")
				}
				return p, nil
			}))},
	}
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	second, err := Summarize(run.dir)
	if err != nil {
		t.Fatal(err)
	}
	if second.Pairs.Total != first.Pairs.Total || second.Prompts.Recorded != first.Prompts.Recorded || second.Human.Queued != first.Human.Queued {
		t.Errorf("rerun changed counts: pairs %d→%d, prompts %d→%d, queued %d→%d",
			first.Pairs.Total, second.Pairs.Total, first.Prompts.Recorded, second.Prompts.Recorded, first.Human.Queued, second.Human.Queued)
	}
	if r1, r2 := sumModels(first), sumModels(second); r1 != r2 || r1 != 26 {
		t.Errorf("responses: %d then %d, want 26", r1, r2)
	}
}

func sumModels(s Summary) int {
	n := 0
	for _, m := range s.Models {
		n += m.Responses
	}
	return n
}

func TestSummarizeNamesBadLine(t *testing.T) {
	d, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.Path(prefdata.FilePairs), []byte("{\"prompt_id\":\"p\",\"pairs\":[]}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Summarize(d)
	if err == nil || !strings.Contains(err.Error(), prefdata.FilePairs+":2") {
		t.Errorf("got %v, want an error naming %s:2", err, prefdata.FilePairs)
	}
}

func TestWriteReportFilesAndEmptyRun(t *testing.T) {
	d, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := ReportRunDir(d, out, ReportOptions{}); err != nil { // no manifest, no files
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(out, FileReport))
	if err != nil {
		t.Fatal(err)
	}
	if len(parseCharts(t, string(page))) < 15 {
		t.Error("an empty run's report lost charts")
	}
	js, err := os.ReadFile(filepath.Join(out, FileSummary))
	if err != nil {
		t.Fatal(err)
	}
	var back Summary
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back.HasStats {
		t.Error("an empty directory's summary claims stats")
	}
}

// TestSummaryTellsPromptsApartByContent: two source files may number
// different prompts alike; the run directory keeps both, and so must the
// summary.
func TestSummaryTellsPromptsApartByContent(t *testing.T) {
	a := prefdata.Prompt{ID: "1", Source: "a.jsonl", Category: "math", Messages: []prefdata.Message{msg("user", "What is 2+2?")}}
	b := prefdata.Prompt{ID: "1", Source: "b.jsonl", Category: "writing", Messages: []prefdata.Message{msg("user", "Write a haiku.")}}
	st, s := runAndSummarize(t, []prefdata.Prompt{a, b}, sampleGenerator("gen-a", "model-a", 1))
	if s.Prompts.Recorded != st.Prompt.Out || s.Prompts.Kept != 2 {
		t.Errorf("summary: %d prompts recorded, %d kept; the run kept %d", s.Prompts.Recorded, s.Prompts.Kept, st.Prompt.Out)
	}
	if len(s.Prompts.BySource) != 2 || len(s.Prompts.ByCategory) != 2 {
		t.Errorf("by source %v, by category %v: want both files and both categories", s.Prompts.BySource, s.Prompts.ByCategory)
	}
}

// TestGeneratorFailureRateWithoutFingerprint: a generator with no
// Fingerprint leaves no answers in responses.jsonl, but the run's stats
// count its items; its failure rate is exact, in the summary, the report
// and the card.
func TestGeneratorFailureRateWithoutFingerprint(t *testing.T) {
	var prompts []prefdata.Prompt
	for i := range 4 {
		prompts = append(prompts, prefdata.Prompt{Messages: []prefdata.Message{msg("user", fmt.Sprintf("question %d", i))}})
	}
	prompts[2].Messages[0].Content = "FAILGEN question"
	plain := prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		return sampleGenerator("x", "model-b", 1).Generate(ctx, p) // fails on FAILGEN
	})
	st, s := runAndSummarize(t, prompts, sampleGenerator("gen-a", "model-a", 1), plain)
	want := st.Generators["generator[1]"]
	if want.In != 4 || want.Failed != 1 {
		t.Fatalf("the run's stats changed: %+v", st.Generators)
	}
	var got *GeneratorSummary
	for i := range s.GeneratorRuns {
		if s.GeneratorRuns[i].Name == "generator[1]" {
			got = &s.GeneratorRuns[i]
		}
	}
	if got == nil {
		t.Fatalf("no generator[1] in %+v", s.GeneratorRuns)
	}
	if !got.RateKnown || got.Asked != want.In || got.Answered != want.Out || got.Failed != want.Failed || got.FailureRate != 0.25 {
		t.Errorf("generator[1]: %+v, want the run's %+v and a 25%% failure rate", *got, want)
	}
	var page, card bytes.Buffer
	if err := WriteReport(&page, s, ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	gf := parseCharts(t, page.String())["generator-failures"]
	if gf.value(t, "generator[1]", "answered") != 3 || gf.value(t, "generator[1]", "failed") != 1 {
		t.Errorf("generator-failures chart: %+v", gf.Rects)
	}
	if !strings.Contains(page.String(), "25.0% failed") {
		t.Error("the report does not state the failure rate of the generator without a fingerprint")
	}
	if err := WriteCard(&card, s, CardOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(card.String(), `Generator generator\[1\] was asked 4 prompts in the last run, answered 3 and failed on 1 (25.0%)`) {
		t.Errorf("the card does not state generator[1]'s figures:\n%s", card.String())
	}
}

// TestSummaryLeavesOutRetractedLabels: the label package retracts a label
// by appending a line that undoes it; neither line counts as a label, and
// a pair whose only label was retracted has no label.
func TestSummaryLeavesOutRetractedLabels(t *testing.T) {
	d, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, l := range []map[string]string{
		{"id": "l1", "pair_id": "pair-1", "annotator": "ann-a", "verdict": "prefer"},
		{"id": "l2", "pair_id": "pair-2", "annotator": "ann-b", "verdict": "prefer"},
		{"id": "l3", "pair_id": "pair-1", "annotator": "ann-c", "verdict": "tie"},
		{"id": "undo-l2", "undoes": "l2", "pair_id": "pair-2", "annotator": "ann-b"},
		{"id": "l1", "pair_id": "pair-1", "annotator": "ann-a", "verdict": "prefer"}, // imported twice
	} {
		if err := d.Append(fileHumanLabels, l); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Summarize(d)
	if err != nil {
		t.Fatal(err)
	}
	h := s.Human
	if h.Labels != 2 || h.LabeledPairs != 1 || strings.Join(h.Annotators, ",") != "ann-a,ann-c" {
		t.Errorf("labels %d, labeled pairs %d, annotators %v; want 2, 1, [ann-a ann-c]", h.Labels, h.LabeledPairs, h.Annotators)
	}
}

// TestReportRefusesASummaryItCannotEmbed: the page embeds the summary as
// JSON; a summary JSON cannot hold (a NaN agreement) is an error, not a
// page that silently lacks its data block.
func TestReportRefusesASummaryItCannotEmbed(t *testing.T) {
	s := Summary{Human: HumanSummary{Agreement: &Agreement{Metric: "krippendorff_alpha", Value: math.NaN()}}}
	var buf bytes.Buffer
	err := WriteReport(&buf, s, ReportOptions{})
	if err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("got %v, want an error naming the NaN", err)
	}
	if err := WriteReportFiles(t.TempDir(), s, ReportOptions{}); err == nil {
		t.Error("WriteReportFiles wrote a summary with a NaN")
	}
}

// runAndSummarize runs prompts through gens with a labeler that makes no
// pairs, into a fresh run directory, and summarizes it.
func runAndSummarize(t *testing.T, prompts []prefdata.Prompt, gens ...prefdata.Generator) (prefdata.Stats, Summary) {
	t.Helper()
	d, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p := &prefdata.Pipeline{
		Source:     prefdata.Prompts(prompts...),
		Generators: gens,
		Labeler:    prefdata.LabelerFunc(func(context.Context, prefdata.Candidate) ([]prefdata.Pair, error) { return nil, nil }),
		Dir:        d,
	}
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Summarize(d)
	if err != nil {
		t.Fatal(err)
	}
	return st, s
}
