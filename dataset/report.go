package dataset

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prefdata/prefdata"
)

// ReportOptions configure [WriteReport].
type ReportOptions struct {
	// Title heads the page (default "prefdata run report").
	Title string
}

// Report file names written by [WriteReportFiles].
const (
	FileReport  = "report.html"
	FileSummary = "summary.json"
)

// WriteReport writes the run report: one self-contained HTML page (inline
// CSS and SVG, no script, nothing fetched) drawn from s. Each chart is an
// <svg data-chart="name"> whose bars carry data-label, data-series and
// data-value attributes; the page also embeds s as JSON in a
// <script type="application/json" id="summary"> data block.
//
// Charts: funnel; prompts-by-category, prompts-by-source, prompt-drops;
// responses-by-model, tokens-by-model, cost-by-model, generator-failures;
// filter-drops; scores:SCORER (or scores:SCORER/ASPECT), one per scorer;
// gaps; judge-consistency; routes; pairs-by-stage, chosen-by-model,
// rejected-by-model; people; failures-by-stage.
func WriteReport(w io.Writer, s Summary, o ReportOptions) error {
	if o.Title == "" {
		o.Title = "prefdata run report"
	}
	// json.Marshal escapes <, > and &, so the data block cannot close early.
	js, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("dataset: report: summary: %w", err)
	}
	var b strings.Builder
	r := reportWriter{&b}
	r.page(s, o, js)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("dataset: report: %w", err)
	}
	return nil
}

// ReportRunDir summarizes the run directory d and writes report.html and
// summary.json into dir: the report on demand, for a run finished or not.
func ReportRunDir(d *prefdata.RunDir, dir string, o ReportOptions) (Summary, error) {
	s, err := Summarize(d)
	if err != nil {
		return s, err
	}
	return s, WriteReportFiles(dir, s, o)
}

// WriteReportFiles writes report.html and summary.json into dir.
func WriteReportFiles(dir string, s Summary, o ReportOptions) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	var b strings.Builder
	if err := WriteReport(&b, s, o); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, FileReport), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	js, err := s.JSON()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, FileSummary), js, 0o644); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	return nil
}

type reportWriter struct{ b *strings.Builder }

func (r reportWriter) p(format string, args ...any) { fmt.Fprintf(r.b, format, args...) }

const reportCSS = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:960px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}h3{font-size:1em;margin-bottom:.3em}
svg{display:block;margin:.5em 0 1em;font-size:12px;max-width:100%;height:auto}svg text{fill:#333}svg .empty{fill:#999}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#555;font-size:.9em}.note{color:#555;font-size:.85em}`

func (r reportWriter) page(s Summary, o ReportOptions, summaryJSON []byte) {
	r.p("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", esc(o.Title), reportCSS)
	r.p("<h1>%s</h1>\n", esc(o.Title))
	r.p(`<p class="meta">Run key <code>%s</code> · created %s · last run started %s · updated %s`, esc(s.RunKey), fmtTime(s.Created), fmtTime(s.Started), fmtTime(s.Updated))
	if s.HasStats {
		r.p(" · last run took %s", s.Stats.Elapsed.Round(time.Millisecond))
	}
	r.p("</p>\n")
	r.p(`<p class="meta">Generators: %s · filters: %s · labeler: %s</p>`+"\n", esc(list(s.Generators)), esc(list(s.Filters)), esc(orNone(s.Labeler)))

	r.p(`<p class="note">Each figure says what it counts: <em>this run</em> (the last run, from the manifest's stats) or <em>every run</em> (the whole run directory, each item once).</p>` + "\n")
	r.p("<h2>Funnel through the four stages (this run)</h2>\n")
	if !s.HasStats {
		r.p(`<p class="note">The manifest holds no stats: the last run did not finish.</p>`)
	}
	var fb []hbar
	for _, f := range s.Funnel {
		fb = append(fb, hbar{Label: fmt.Sprintf("%d · %s", int(f.Stage), f.Label), Segments: []segment{{"n", float64(f.N)}}})
	}
	r.p("%s\n", hbarChart("funnel", fb))
	var fa []hbar
	for _, f := range s.FunnelAll {
		fa = append(fa, hbar{Label: fmt.Sprintf("%d · %s", int(f.Stage), f.Label), Segments: []segment{{"n", float64(f.N)}}})
	}
	r.p("<h3>The whole run directory (every run)</h3>\n%s\n", hbarChart("funnel-all", fa))
	if s.HasStats {
		st := s.Stats
		r.p(`<p class="note">Last run: %d prompts failed, %d generations failed, %d responses failed in filters, %d labeling failures; cached: %d generations, %d filter outputs, %d labels, %d finished prompts.</p>`+"\n",
			st.Prompt.Failed, st.Generate.Failed, st.Filter.Failed, st.Label.Failed, st.Cached.Generations, st.Cached.Filters, st.Cached.Labels, st.Cached.Prompts)
	}

	r.p("<h2>Stage 1: prompts</h2>\n")
	r.p(`<p>Every run: %d prompts recorded, %d kept, %d dropped by prompt filters.</p>`+"\n", s.Prompts.Recorded, s.Prompts.Kept, s.Prompts.Dropped)
	r.p("<h3>Per category (every run)</h3>\n%s\n", hbarChart("prompts-by-category", keptDropped(s.Prompts.ByCategory)))
	r.p("<h3>Per source (every run)</h3>\n%s\n", hbarChart("prompts-by-source", keptDropped(s.Prompts.BySource)))
	r.p("<h3>Dropped, per filter (every run)</h3>\n%s\n", hbarChart("prompt-drops", single("dropped", s.Prompts.DroppedBy)))

	r.p("<h2>Stage 2: responses</h2>\n")
	var resp, tok, cost []hbar
	priced := false
	for _, m := range s.Models {
		priced = priced || m.Usage.Cost > 0
		resp = append(resp, hbar{Label: m.Model, Segments: []segment{{"responses", float64(m.Responses)}}})
		tok = append(tok, hbar{Label: m.Model, Segments: []segment{{"prompt tokens", float64(m.Usage.PromptTokens)}, {"completion tokens", float64(m.Usage.CompletionTokens)}}})
		cost = append(cost, hbar{Label: m.Model, Segments: []segment{{"cost (USD)", m.Usage.Cost}}})
	}
	r.p("<h3>Responses per model (every run)</h3>\n%s\n", hbarChart("responses-by-model", resp))
	r.p(`<p class="note">Distinct responses found in the run directory's files. A generator without a Fingerprint is not journaled: its responses show only where a cached filter output or a pair kept them.</p>` + "\n")
	r.p("<h3>Tokens per model (this run)</h3>\n%s\n", hbarChart("tokens-by-model", tok))
	if priced {
		r.p("<h3>Cost per model (this run, USD)</h3>\n%s\n", hbarChart("cost-by-model", cost))
	} else {
		r.p(`<p class="note" data-note="cost-unknown">Cost per model: not known (no prices were given to this run).</p>` + "\n")
	}
	var gf []hbar
	for _, g := range s.GeneratorRuns {
		note := "failure rate unknown (no stats, not journaled)"
		if g.RateKnown {
			note = fmt.Sprintf("· %.1f%% failed", 100*g.FailureRate)
		}
		gf = append(gf, hbar{Label: g.Name, Segments: []segment{{"answered", float64(g.Answered)}, {"failed", float64(g.Failed)}}, Note: note})
	}
	gfFrom := "every run"
	if len(s.GeneratorRuns) > 0 && s.GeneratorRuns[0].LastRun {
		gfFrom = "this run"
	}
	r.p("<h3>Items per generator, answered and failed (%s)</h3>\n%s\n", gfFrom, hbarChart("generator-failures", gf))
	r.p("<table><tr><th>model</th><th>generators</th><th>responses</th><th>failed items</th><th>failure rate</th><th>prompt tokens</th><th>completion tokens</th><th>cost (USD)</th><th>sampling</th></tr>\n")
	for _, m := range s.Models {
		failed, rate := "n/a", "n/a"
		if m.FailureKnown {
			failed, rate = fmt.Sprint(m.Failed), fmt.Sprintf("%.1f%%", 100*m.FailureRate)
		}
		r.p(`<tr><td>%s</td><td>%s</td><td class="n">%d</td><td class="n">%s</td><td class="n">%s</td><td class="n">%d</td><td class="n">%d</td><td class="n">%.4f</td><td>%s</td></tr>`+"\n",
			esc(m.Model), esc(list(m.Generators)), m.Responses, failed, rate, m.Usage.PromptTokens, m.Usage.CompletionTokens, m.Usage.Cost, esc(samplingText(m.Sampling)))
	}
	r.p("</table>\n")

	r.p("<h2>Stage 3: filters, scores and judges</h2>\n")
	r.p("<h3>Responses dropped, per filter (this run)</h3>\n%s\n", hbarChart("filter-drops", single("dropped", s.FilterDrops)))
	type group struct {
		scorer, aspect string
		dists          []ScoreDist
	}
	var groups []group
	for _, d := range s.Scores {
		if n := len(groups); n > 0 && groups[n-1].scorer == d.Scorer && groups[n-1].aspect == d.Aspect {
			groups[n-1].dists = append(groups[n-1].dists, d)
			continue
		}
		groups = append(groups, group{d.Scorer, d.Aspect, []ScoreDist{d}})
	}
	if len(groups) == 0 {
		r.p(`<p class="note">No scores in the run directory (only fingerprinted filters and written pairs keep them).</p>`)
	}
	for _, g := range groups {
		id := "scores:" + g.scorer
		if g.aspect != "" {
			id += "/" + g.aspect
		}
		var hs []histSeries
		for _, d := range g.dists {
			hs = append(hs, histSeries{d.Model, d.Bins})
		}
		r.p("<h3>%s scores per model (%s, every run)</h3>\n%s\n", esc(strings.TrimPrefix(id, "scores:")), scorerKind(g.scorer), histChart(id, "score", "responses", hs))
		r.p("<table><tr><th>model</th><th>n</th><th>mean</th><th>min</th><th>max</th></tr>\n")
		for _, d := range g.dists {
			r.p(`<tr><td>%s</td><td class="n">%d</td><td class="n">%.3g</td><td class="n">%.3g</td><td class="n">%.3g</td></tr>`+"\n", esc(d.Model), d.N, d.Mean, d.Min, d.Max)
		}
		r.p("</table>\n")
	}
	var gs []histSeries
	for _, g := range s.Gaps {
		gs = append(gs, histSeries{g.Set, g.Bins})
	}
	r.p("<h3>Chosen − rejected score gaps (every run)</h3>\n%s\n", histChart("gaps", "score of chosen − score of rejected", "pairs", gs))
	for _, g := range s.Gaps {
		r.p(`<p class="note">%s: %s, mean gap %.3g (min %.3g, max %.3g).</p>`+"\n", esc(g.Set), plural(g.N, "pair", "pairs"), g.Mean, g.Min, g.Max)
	}
	var jb []hbar
	for _, j := range s.Judges {
		jb = append(jb, hbar{Label: j.Scorer, Segments: []segment{{"consistent", float64(j.Consistent)}, {"tie", float64(j.Ties)}, {"inconsistent", float64(j.Inconsistent)}, {"undecided", float64(j.Undecided)}},
			Note: fmt.Sprintf("· %.1f%% of decided agree", 100*j.Rate)})
	}
	r.p("<h3>Judge self-consistency across swapped orders (every run)</h3>\n%s\n", hbarChart("judge-consistency", jb))
	r.p("<h3>New pairs by route and reason (this run)</h3>\n%s\n", hbarChart("routes", single("pairs", s.Routes)))

	r.p("<h2>Pairs</h2>\n")
	r.p(`<p>Every run: %d pairs in the journal of finished prompts, %d labeled by AI and %d labeled by people; %s sent to people`, s.Pairs.Total, s.Pairs.AI, s.Pairs.People, plural(s.Human.Queued, "pair", "pairs"))
	if s.HasStats {
		st := s.Stats
		r.p(`. This run: wrote %d pairs (%d labeled by AI, %d labeled by people) and sent %d to people (the AI pairs of a prompt with a failed generation or with a pair waiting for people are journaled only when a later run finishes the prompt)`, st.PairsAI, st.PairsAI-st.PairsPeople, st.PairsPeople, st.PairsHuman)
	}
	r.p(".</p>\n")
	r.p("<h3>Per deciding stage (every run)</h3>\n%s\n", hbarChart("pairs-by-stage", single("pairs", s.Pairs.ByStage)))
	r.p("<h3>Chosen side, per model (every run)</h3>\n%s\n", hbarChart("chosen-by-model", single("chosen", s.Pairs.ChosenByModel)))
	r.p("<h3>Rejected side, per model (every run)</h3>\n%s\n", hbarChart("rejected-by-model", single("rejected", s.Pairs.RejectedByModel)))

	r.routing(s)

	r.p("<h2>Stage 4: people (every run)</h2>\n")
	h := s.Human
	r.p("%s\n", hbarChart("people", []hbar{
		{Label: "pairs sent to people", Segments: []segment{{"pairs", float64(h.Queued)}}},
		{Label: "pairs with people's labels", Segments: []segment{{"pairs", float64(h.LabeledPairs)}}},
		{Label: "pairs labeled by people", Segments: []segment{{"pairs", float64(h.Labeled)}}},
	}))
	r.p("<p>Every run: %s from %d annotators.", plural(h.Labels, "label", "labels"), len(h.Annotators))
	if a := h.Agreement; a != nil {
		r.p(` Agreement: <strong data-agreement="%s">%s = %.3f</strong>`, num(a.Value), esc(a.Metric), a.Value)
		if a.Items > 0 {
			r.p(" over %d items", a.Items)
		}
		if a.Annotators > 0 {
			r.p(" and %d annotators", a.Annotators)
		}
		r.p(".")
	} else {
		r.p(" Agreement: not given.")
	}
	r.p("</p>\n")

	r.p("<h2>Failures (every run)</h2>\n%s\n", hbarChart("failures-by-stage", single("failed", s.Failures)))
	if len(s.FailuresByComponent) > 0 {
		r.p("<table><tr><th>component</th><th>failed items</th></tr>\n")
		for _, c := range s.FailuresByComponent {
			r.p(`<tr><td>%s</td><td class="n">%d</td></tr>`+"\n", esc(c.Name), c.N)
		}
		r.p("</table>\n")
	}

	r.p("<script type=\"application/json\" id=\"summary\">%s</script>\n", summaryJSON)
	r.p("</body>\n</html>\n")
}

func keptDropped(kds []KeptDropped) []hbar {
	out := make([]hbar, 0, len(kds))
	for _, kd := range kds {
		out = append(out, hbar{Label: kd.Name, Segments: []segment{{"kept", float64(kd.Kept)}, {"dropped", float64(kd.Dropped)}}})
	}
	return out
}

func list(xs []string) string {
	if len(xs) == 0 {
		return "(none)"
	}
	return strings.Join(xs, ", ")
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// samplingText describes sampling settings briefly.
func samplingText(ss []prefdata.Sampling) string {
	var parts []string
	for _, s := range ss {
		var p []string
		if s.Temperature != nil {
			p = append(p, "temperature "+num(*s.Temperature))
		}
		if s.TopP != nil {
			p = append(p, "top_p "+num(*s.TopP))
		}
		if s.MaxTokens > 0 {
			p = append(p, fmt.Sprintf("max_tokens %d", s.MaxTokens))
		}
		if s.Seed != nil {
			p = append(p, fmt.Sprintf("seed %d", *s.Seed))
		}
		if len(p) == 0 {
			p = append(p, "server defaults")
		}
		parts = append(parts, strings.Join(p, ", "))
	}
	if len(parts) == 0 {
		return "unknown"
	}
	return strings.Join(parts, "; ")
}
