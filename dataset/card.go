package dataset

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prefdata/prefdata"
)

// CardOptions configure [WriteCard].
type CardOptions struct {
	// Title is the dataset's pretty name (default "Preference data").
	Title string
	// Description is a Markdown paragraph placed under the title, as is.
	Description string
	// License is the Hub licence identifier. Empty writes the placeholder
	// "unknown" with a comment to set it before publishing.
	License string
	// Language lists language codes ("en"); empty omits the field.
	Language []string
	// Format is the format of the data files.
	Format Format
	// Files are the data files, as [Folder.Files] returns them. They become
	// the card's configs/data_files.
	Files []DataFile
}

// FileCard is the dataset card's file name in an output folder.
const FileCard = "README.md"

// WriteCardFile writes the card as README.md in dir.
func WriteCardFile(dir string, s Summary, o CardOptions) error {
	var b strings.Builder
	if err := WriteCard(&b, s, o); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, FileCard), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	return nil
}

// WriteCard writes a dataset card in the Hugging Face Hub's form: a YAML
// header (licence placeholder, task categories and tags, size category, and
// configs with data_files for every configuration and split) and a Markdown
// body stating how the data was made, from the summary: prompt sources and
// counts, models and sampling settings, reward models and judges, filters and
// what each dropped, pairs labeled by AI and by people, and annotator
// agreement. The card holds no timestamps, so the same run gives the same
// card.
func WriteCard(w io.Writer, s Summary, o CardOptions) error {
	if o.Title == "" {
		o.Title = "Preference data"
	}
	var b strings.Builder
	c := cardWriter{&b}
	c.header(s, o)
	c.body(s, o)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("dataset: card: %w", err)
	}
	return nil
}

type cardWriter struct{ b *strings.Builder }

func (c cardWriter) p(format string, args ...any) { fmt.Fprintf(c.b, format, args...) }

// yq quotes s for YAML: a JSON string is a valid YAML double-quoted scalar.
func yq(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func rowsOf(files []DataFile, config string) int {
	n := 0
	for _, f := range files {
		if f.Config == config {
			n += f.Rows
		}
	}
	return n
}

func sizeCategory(n int) string {
	switch {
	case n < 1000:
		return "n<1K"
	case n < 10_000:
		return "1K<n<10K"
	case n < 100_000:
		return "10K<n<100K"
	case n < 1_000_000:
		return "100K<n<1M"
	case n < 10_000_000:
		return "1M<n<10M"
	}
	return "10M<n<100M"
}

func (c cardWriter) header(s Summary, o CardOptions) {
	c.p("---\n")
	if o.License == "" {
		c.p("license: unknown # placeholder: set the licence of the prompts and responses before publishing\n")
	} else {
		c.p("license: %s\n", yq(o.License))
	}
	c.p("pretty_name: %s\n", yq(o.Title))
	if len(o.Language) > 0 {
		c.p("language:\n")
		for _, l := range o.Language {
			c.p("- %s\n", yq(l))
		}
	}
	c.p("task_categories:\n- text-generation\n")
	c.p("tags:\n- preference\n- dpo\n- reward-modeling\n- rlhf\n- synthetic\n- prefdata\n")
	n := rowsOf(o.Files, ConfigDefault)
	if n == 0 {
		n = s.Pairs.Total
	}
	c.p("size_categories:\n- %s\n", sizeCategory(n))
	if len(o.Files) > 0 {
		files := append([]DataFile(nil), o.Files...)
		sortFiles(files)
		c.p("configs:\n")
		for i, f := range files {
			if i == 0 || files[i-1].Config != f.Config {
				c.p("- config_name: %s\n  data_files:\n", yq(f.Config))
			}
			c.p("  - split: %s\n    path: %s\n", yq(f.Split), yq(f.Path))
		}
	}
	c.p("---\n\n")
}

// md escapes text for Markdown prose and table cells.
func md(s string) string {
	r := strings.NewReplacer("\\", "\\\\", "|", "\\|", "*", "\\*", "_", "\\_", "`", "\\`", "<", "&lt;", ">", "&gt;", "[", "\\[", "]", "\\]", "\n", " ", "\r", " ")
	return r.Replace(s)
}

// mdCounts lists counts as "name<infix>n, name<infix>n", names escaped.
func mdCounts(cs []Count, infix string) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = md(c.Name) + infix + strconv.Itoa(c.N)
	}
	return strings.Join(out, ", ")
}

func mdList(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = md(x)
	}
	return strings.Join(out, ", ")
}

func pct(a, b int) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
}

func countOf(cs []Count, name string) int {
	for _, c := range cs {
		if c.Name == name {
			return c.N
		}
	}
	return 0
}

// columnDocs describes each format's columns for the card.
var columnDocs = map[Format]string{
	TRLStandard:       "`prompt`, `chosen`, `rejected` (strings; TRL's standard preference format)",
	TRLConversational: "`prompt` (messages up to the last user turn), `chosen`, `rejected` (assistant message lists; TRL's conversational preference format)",
	Hub:               "`prompt`, `prompt_id`, `chosen`, `rejected` (whole conversations), `score_chosen`, `score_rejected`, `chosen_model`, `rejected_model`",
	OpenAI:            "`input.messages`, `preferred_output`, `non_preferred_output` (OpenAI preference fine-tuning)",
	HHRLHF:            "`chosen`, `rejected` (whole `Human:`/`Assistant:` transcripts, as in Anthropic HH-RLHF)",
	Alpaca:            "`instruction`, `input`, `chosen`, `rejected`, `system`, `history` (LLaMA-Factory alpaca ranking format; see `dataset_info.json`)",
	ShareGPT:          "`conversations`, `chosen`, `rejected`, `system` (LLaMA-Factory sharegpt ranking format; see `dataset_info.json`)",
}

func (c cardWriter) body(s Summary, o CardOptions) {
	c.p("# %s\n\n", md(o.Title))
	if o.Description != "" {
		c.p("%s\n\n", o.Description)
	}
	c.p("Preference pairs (a prompt, a chosen and a rejected response) for training reward models and for DPO, collected with [prefdata](https://github.com/prefdata/prefdata) in the four stages of Hu et al. (2024), *Towards Comprehensive Preference Data Collection for Reward Modeling*: prompt selection, response generation, AI filtering and labeling, and human labeling.\n\n")

	c.p("## Dataset structure\n\n")
	if o.Format != "" {
		c.p("Format `%s`: one JSON object per line with %s.", o.Format, columnDocs[o.Format])
		c.p(" Provenance columns, when present, say how each pair was made: `stage` is the stage whose labels decided the pair (2: scores alone, 3: AI judge or reward model, 4: people).\n\n")
	}
	if len(o.Files) > 0 {
		c.p("| config | split | file | rows |\n|---|---|---|---:|\n")
		for _, f := range o.Files {
			c.p("| %s | %s | %s | %d |\n", md(f.Config), md(f.Split), md(f.Path), f.Rows)
		}
		c.p("\nThe train/test split is by prompt: all pairs of a prompt are in the same split.")
		for _, f := range o.Files {
			if f.Config != ConfigDefault {
				c.p(" The `stageN` configurations hold the pairs decided at each stage, so reward models trained on each stage's data can be compared.")
				break
			}
		}
		c.p("\n\n")
	}

	c.p("## How the data was made\n\n")
	if s.RunKey != "" {
		c.p("Run key `%s`. ", s.RunKey)
	}
	c.p("Generators: %s. Filters: %s. Labeler: %s.\n\n", mdList(s.Generators), mdList(s.Filters), md(orNone(s.Labeler)))

	c.p("### Stage 1: prompts\n\n")
	c.p("%d prompts recorded, %d kept, %d dropped by prompt filters", s.Prompts.Recorded, s.Prompts.Kept, s.Prompts.Dropped)
	if s.HasStats && s.Stats.Prompt.Failed > 0 {
		c.p(" (%d more could not be read or failed in the last run)", s.Stats.Prompt.Failed)
	}
	c.p(".\n\n")
	if len(s.Prompts.BySource) > 0 {
		c.p("| source | kept | dropped |\n|---|---:|---:|\n")
		for _, kd := range s.Prompts.BySource {
			c.p("| %s | %d | %d |\n", md(kd.Name), kd.Kept, kd.Dropped)
		}
		c.p("\n")
	}
	if len(s.Prompts.ByCategory) > 0 {
		c.p("| category | kept | dropped |\n|---|---:|---:|\n")
		for _, kd := range s.Prompts.ByCategory {
			c.p("| %s | %d | %d |\n", md(kd.Name), kd.Kept, kd.Dropped)
		}
		c.p("\n")
	}
	if len(s.Prompts.DroppedBy) > 0 {
		c.p("Prompt filters: %s.\n\n", mdCounts(s.Prompts.DroppedBy, " dropped "))
	}

	c.p("### Stage 2: responses\n\n")
	if len(s.Models) > 0 {
		c.p("| model | responses | sampling | system prompts | prompt tokens | completion tokens | cost (USD) |\n|---|---:|---|---:|---:|---:|---:|\n")
		for _, m := range s.Models {
			c.p("| %s | %d | %s | %d | %d | %d | %.4f |\n", md(m.Model), m.Responses, md(samplingText(m.Sampling)), m.Systems, m.Usage.PromptTokens, m.Usage.CompletionTokens, m.Usage.Cost)
		}
		c.p("\nResponses are the distinct responses found in the run directory, over every run (a generator without a fingerprint is not journaled: its responses count only where a cached filter output or a pair kept them). Token use and cost are those of the last run (responses read back from the run directory cost nothing).\n\n")
	}
	for _, g := range s.GeneratorRuns {
		switch {
		case g.LastRun:
			c.p("- Generator %s was asked %d prompts in the last run, answered %d and failed on %d (%s).\n", md(g.Name), g.Asked, g.Answered, g.Failed, pct(g.Failed, g.Asked))
		case g.RateKnown:
			c.p("- Generator %s answered %d prompts and failed on %d over every run (%s).\n", md(g.Name), g.Answered, g.Failed, pct(g.Failed, g.Asked))
		default:
			c.p("- Generator %s failed on %d prompts.\n", md(g.Name), g.Failed)
		}
	}
	if len(s.GeneratorRuns) > 0 {
		c.p("\n")
	}

	c.p("### Stage 3: filtering and AI labeling\n\n")
	if len(s.FilterDrops) > 0 {
		c.p("Responses dropped by each filter in the last run: %s (of %d responses; %d kept).\n\n", mdCounts(s.FilterDrops, " "), s.Stats.Filter.In, s.Stats.Filter.Out)
	}
	if len(s.Scorers) > 0 {
		c.p("Reward models and judges:\n\n")
		for _, sc := range s.Scorers {
			c.p("- %s (%s): %d scores", md(sc.Name), scorerKind(sc.Name), sc.Scores)
			if len(sc.Aspects) > 0 {
				c.p(" on %s", mdList(sc.Aspects))
			}
			if sc.Comparisons > 0 {
				c.p(", %d pairwise comparisons", sc.Comparisons)
			}
			c.p(".\n")
		}
		c.p("\n")
	}
	for _, j := range s.Judges {
		c.p("Judge %s, every run: of %d comparisons with the responses in both orders, %d gave the same preference, %d a tie in both orders, %d disagreed between the orders and %d had an order without a verdict (%s of the decided ones agree).\n\n",
			md(j.Scorer), j.Comparisons, j.Consistent, j.Ties, j.Inconsistent, j.Undecided, pct(j.Consistent+j.Ties, j.Comparisons-j.Undecided))
	}
	byStage, from := s.Pairs.ByStage, "the run directory's journal of finished prompts"
	if staged := stageRows(o.Files); staged != nil {
		byStage, from = staged, "the data files"
	}
	s2 := countOf(byStage, StageConfig(prefdata.StageGenerate))
	s3 := countOf(byStage, StageConfig(prefdata.StageFilter))
	c.p("%s labeled by AI: %d from scores alone (stage 2) and %d by the AI judges and reward models (stage 3), counted from %s.",
		plural(s2+s3, "pair was", "pairs were"), s2, s3, from)
	for _, g := range s.Gaps {
		if g.Set == "pairs" && g.N > 0 {
			c.p(" The mean score gap (chosen − rejected) of the journaled pairs is %.3g.", g.Mean)
		}
	}
	if s.Pairs.People > 0 || s.Human.Queued > 0 {
		c.p(" Every run: %s labeled by people, %s sent to people.", plural(s.Pairs.People, "pair", "pairs"), plural(s.Human.Queued, "pair", "pairs"))
	}
	if s.HasStats {
		c.p(" This run wrote %s to the dataset (%d labeled by AI, %d by people).", plural(s.Stats.PairsAI, "pair", "pairs"), s.Stats.PairsAI-s.Stats.PairsPeople, s.Stats.PairsPeople)
	}
	c.p("\n\n")
	if len(s.Routes) > 0 {
		c.p("New pairs of the last run by route and reason (`ai/` kept by the AI, `human/` sent to people): %s.\n\n", mdCounts(s.Routes, " "))
	}

	c.routing(s)

	c.p("### Stage 4: human labeling\n\n")
	h := s.Human
	labeled := h.Labeled
	if staged := stageRows(o.Files); staged != nil {
		labeled = countOf(staged, StageConfig(prefdata.StageLabel))
	}
	c.p("%s the AI was unsure of went to people; %s decided by people", plural(h.Queued, "pair", "pairs"), plural(labeled, "pair was", "pairs were"))
	if len(h.Annotators) > 0 {
		c.p(" (%d annotators)", len(h.Annotators))
	}
	c.p(".")
	if a := h.Agreement; a != nil {
		c.p(" Annotator agreement: %s = %.3f", md(a.Metric), a.Value)
		if a.Items > 0 {
			c.p(" over %d items", a.Items)
		}
		c.p(".")
	} else {
		c.p(" Annotator agreement: not reported.")
	}
	c.p("\n\n")

	if len(s.Failures) > 0 {
		c.p("### Failures\n\n")
		for _, f := range s.Failures {
			c.p("- %s: %s\n", md(f.Name), plural(f.N, "failed item", "failed items"))
		}
		c.p("\nFailed items are recorded in the run directory's `failures.jsonl` and retried by a rerun.\n\n")
	}

	c.p("## Licence\n\n")
	if o.License == "" {
		c.p("Not set yet: the licence must cover the prompts' sources and the terms of the models that wrote the responses.\n")
	} else {
		c.p("%s. Check the terms of the prompts' sources and of the models that wrote the responses.\n", md(o.License))
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// stageRows counts the rows of the stageN configurations, or returns nil
// when the files have none.
func stageRows(files []DataFile) []Count {
	c := counter{}
	for _, f := range files {
		if strings.HasPrefix(f.Config, "stage") {
			c[f.Config] += f.Rows
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c.sorted()
}
