package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/dataset"
	"github.com/prefdata/prefdata/filter"
	"github.com/prefdata/prefdata/filter/rmtest"
	"github.com/prefdata/prefdata/label"
	"github.com/prefdata/prefdata/response"
)

func noEnv(string) string { return "" }

func TestQuickstartOnTheFakeServer(t *testing.T) {
	tmp := t.TempDir()
	runDir, out := filepath.Join(tmp, "run"), filepath.Join(tmp, "out", "pairs.jsonl")
	args := []string{"-run", runDir, "-out", out, "-concurrency", "8"}
	var stdout bytes.Buffer
	require.NoError(t, run(context.Background(), args, noEnv, &stdout))
	first := stdout.String()
	firstLine, _, _ := strings.Cut(first, "\n")
	assert.Contains(t, firstLine, "built-in fake OpenAI-compatible server", "the first line says the server is fake")
	assert.Contains(t, first, "dropped: exact-dedup=1 near-dedup=1")

	// The output is TRL conversational, row by row.
	f, err := os.Open(out)
	require.NoError(t, err)
	pairs, err := dataset.ReadAll(f, out, dataset.TRLConversational)
	f.Close()
	require.NoError(t, err)
	require.NotEmpty(t, pairs)
	for _, p := range pairs {
		require.NoError(t, dataset.CheckConversationalRow(p.Prompt.Messages, []prefdata.Message{{Role: prefdata.RoleAssistant, Content: p.Chosen.Text}}, []prefdata.Message{{Role: prefdata.RoleAssistant, Content: p.Rejected.Text}}))
	}
	aiPairs := number(t, first, `pairs labeled by AI: (\d+)`)
	human := number(t, first, `sent to people: (\d+)`)
	assert.Equal(t, aiPairs, len(pairs))
	// Routed by the calibrated router to the default target, with a 5%
	// audit of the AI-labeled pairs in the queue, unmarked for people but
	// flagged in the record.
	assert.Contains(t, first, "Routing  goal: target 0.9;")
	predicted := fraction(t, first, `predicted accuracy of the AI-labeled pairs: ([\d.]+)`)
	assert.GreaterOrEqual(t, predicted, 0.9)
	audits := number(t, first, `(\d+) AI-labeled pairs audited`)
	assert.Positive(t, audits)
	assert.Equal(t, audits, number(t, first, `human/audit=(\d+)`))
	assert.Equal(t, human, audits+count(t, first, `human/doubtful=(\d+)`))
	queue, err := os.ReadFile(filepath.Join(runDir, prefdata.FileQueue))
	require.NoError(t, err)
	assert.Equal(t, human, strings.Count(string(queue), "\n"))
	assert.Equal(t, audits, strings.Count(string(queue), `"audit":true`), "the audit sample is in the queue")
	assert.Contains(t, string(queue), `"value":`, "queued pairs carry their value for most-informative-first")

	// The card and the report are written beside the pairs.
	card, err := os.ReadFile(filepath.Join(tmp, "out", dataset.FileCard))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(card), "---\n"), "the card has a YAML header")
	assert.Contains(t, string(card), "pairs.jsonl")
	report, err := os.ReadFile(filepath.Join(tmp, "out", dataset.FileReport))
	require.NoError(t, err)
	assert.Contains(t, string(report), "<svg")
	assert.NotContains(t, string(report), "<script src=")
	assert.Contains(t, string(card), "**Predicted accuracy** of the AI-labeled pairs")
	assert.Contains(t, string(card), "**Audited accuracy**: not measured yet")
	assert.Contains(t, string(report), `<svg data-chart="routing-curve"`, "the report draws the routing curve")

	// A second run pays for nothing again: every generation it asks for is
	// read back, and the output holds the same pairs.
	stdout.Reset()
	require.NoError(t, run(context.Background(), args, noEnv, &stdout))
	second := stdout.String()
	asked := number(t, second, `generations: (\d+) asked`)
	reused := number(t, second, `\((\d+) generations reused`)
	assert.Equal(t, asked, reused, second)
	assert.Equal(t, aiPairs, number(t, second, `pairs labeled by AI: (\d+)`))
}

func TestQuickstartRejectsBadFlags(t *testing.T) {
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"-samples", "0"}, noEnv, &stdout)
	require.ErrorContains(t, err, "-samples")
	err = run(context.Background(), []string{"-prompts", filepath.Join(t.TempDir(), "missing.jsonl"), "-run", t.TempDir(), "-out", filepath.Join(t.TempDir(), "p.jsonl")}, noEnv, &stdout)
	require.ErrorContains(t, err, "missing.jsonl")
}

// TestQuickstartOnOllama runs the quickstart against a real
// OpenAI-compatible server: Ollama serving a tiny model (random weights, so
// gibberish text) under two names, as .ci/run starts it.
func TestQuickstartOnOllama(t *testing.T) {
	url := os.Getenv("PREFDATA_OLLAMA_URL")
	if url == "" {
		t.Skip("PREFDATA_OLLAMA_URL is not set: no Ollama server to run against (.ci/run starts one)")
	}
	models := strings.Split(os.Getenv("PREFDATA_OLLAMA_MODELS"), ",")
	require.Len(t, models, 2)
	tmp := t.TempDir()
	prompts := filepath.Join(tmp, "prompts.jsonl")
	require.NoError(t, os.WriteFile(prompts, []byte(`{"prompt": "Say hello."}
{"prompt": "Name a color."}
{"prompt": "Count to three."}
`), 0o644))
	env := func(k string) string {
		return map[string]string{"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "ollama"}[k]
	}
	var stdout bytes.Buffer
	args := []string{"-prompts", prompts, "-models", strings.Join(models, ","), "-judge", models[0],
		"-run", filepath.Join(tmp, "run"), "-out", filepath.Join(tmp, "out", "pairs.jsonl"), "-samples", "1", "-concurrency", "2", "-max-tokens", "24"}
	require.NoError(t, run(context.Background(), args, env, &stdout))
	out := stdout.String()
	t.Log(out)
	assert.True(t, strings.HasPrefix(out, "Using the OpenAI-compatible server at "+url))
	assert.Equal(t, 6, number(t, out, `(\d+) answered`), "two models answered three prompts")
	// The tiny model has random weights and never stops on its own: a real
	// server reports finish_reason "length", and the truncation filter drops
	// every answer.
	assert.Contains(t, out, "dropped: truncated=6")
	_, err := os.Stat(filepath.Join(tmp, "out", dataset.FileReport))
	require.NoError(t, err)
}

// count is number, or 0 when the pattern is absent.
func count(t *testing.T, s, pattern string) int {
	t.Helper()
	if !regexp.MustCompile(pattern).MatchString(s) {
		return 0
	}
	return number(t, s, pattern)
}

func fraction(t *testing.T, s, pattern string) float64 {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	require.NotNil(t, m, "no %q in:\n%s", pattern, s)
	v, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return v
}

func number(t *testing.T, s, pattern string) int {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	require.NotNil(t, m, "no %q in:\n%s", pattern, s)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

func TestQuickstartReportsBadPromptLines(t *testing.T) {
	tmp := t.TempDir()
	prompts := filepath.Join(tmp, "prompts.jsonl")
	require.NoError(t, os.WriteFile(prompts, []byte("{\"prompt\": \"What is a monad?\"}\n{\"prompt\": \n{\"prompt\": \"Explain TCP slow start.\"}\n"), 0o644))
	var stdout bytes.Buffer
	args := []string{"-prompts", prompts, "-run", filepath.Join(tmp, "run"), "-out", filepath.Join(tmp, "out", "p.jsonl")}
	// One bad line in three is over the default error budget: the run says
	// so, after printing what it did.
	err := run(context.Background(), args, noEnv, &stdout)
	require.ErrorIs(t, err, prefdata.ErrBudgetExceeded)
	assert.Contains(t, stdout.String(), "bad prompt record prompts.jsonl:2:")
	stdout.Reset()
	require.NoError(t, run(context.Background(), append(args, "-max-failures", "0.5"), noEnv, &stdout))
	assert.Contains(t, stdout.String(), "prompts: 3 read, 1 bad, 2 kept")
	assert.Contains(t, stdout.String(), "bad prompt record prompts.jsonl:2:")
	fails, err := os.ReadFile(filepath.Join(tmp, "run", prefdata.FileFailures))
	require.NoError(t, err)
	assert.Contains(t, string(fails), `"item":"prompts.jsonl:2"`)
}

// The whole loop: a run leaves unsure pairs to people, a person labels them
// (as the label server would), and the next run writes the human-labeled
// pairs next to the AI's, paying for no generation again.
func TestQuickstartCollectsHumanLabels(t *testing.T) {
	tmp := t.TempDir()
	runDir, out := filepath.Join(tmp, "run"), filepath.Join(tmp, "out", "pairs.jsonl")
	// Four pairs where people add the most, and a 20% audit.
	args := []string{"-run", runDir, "-out", out, "-human-budget", "4", "-audit", "0.2"}
	var stdout bytes.Buffer
	require.NoError(t, run(context.Background(), args, noEnv, &stdout))
	human := number(t, stdout.String(), `sent to people: (\d+)`)
	aiFirst := number(t, stdout.String(), `pairs labeled by AI: (\d+)`)
	require.Positive(t, human)
	assert.Contains(t, stdout.String(), "calibrated from the judges' agreement alone")
	assert.Equal(t, 4, number(t, stdout.String(), `human/doubtful=(\d+)`), "the human budget")

	dir, err := prefdata.OpenRunDir(runDir)
	require.NoError(t, err)
	queue, err := label.OpenQueue(dir)
	require.NoError(t, err)
	store, err := label.OpenStore(dir)
	require.NoError(t, err)
	wantChosen := map[string]string{} // prompt text → the text people chose
	audited, auditAgreed := 0, 0
	for i, p := range queue.Pairs() {
		// The person prefers the AI's rejected side every other time.
		pref, text := p.Chosen.ID, p.Chosen.Text
		if i%2 == 1 {
			pref, text = p.Rejected.ID, p.Rejected.Text
		}
		if p.Provenance.Audit {
			audited++
			if i%2 == 0 {
				auditAgreed++
			}
		}
		wantChosen[p.Prompt.Text()] = text
		require.NoError(t, store.Add(label.Label{
			ID: fmt.Sprintf("l%d", i), PairID: p.ID, PromptID: p.Prompt.ID, Annotator: "alice",
			Verdict: label.VerdictPrefer, Preferred: pref, Shown: []string{p.Chosen.ID, p.Rejected.ID},
			Source: label.SourceApp, Time: time.Now(),
		}))
	}
	require.NoError(t, store.Close())
	require.NoError(t, dir.Close())

	stdout.Reset()
	require.NoError(t, run(context.Background(), args, noEnv, &stdout))
	second := stdout.String()
	assert.Equal(t, 0, number(t, second, `sent to people: (\d+)`), second)
	// People's pairs are counted as theirs, this run and every run.
	assert.Equal(t, aiFirst, number(t, second, `this run: pairs labeled by AI: (\d+)`), second)
	assert.Equal(t, human, number(t, second, `labeled by people: (\d+)`), second)
	assert.Equal(t, human, number(t, second, `Every run in .*: \d+ pairs labeled by AI, (\d+) labeled by people`), second)
	assert.Equal(t, number(t, second, `generations: (\d+) asked`), number(t, second, `\((\d+) generations reused`))
	f, err := os.Open(out)
	require.NoError(t, err)
	pairs, err := dataset.ReadAll(f, out, dataset.TRLConversational)
	f.Close()
	require.NoError(t, err)
	assert.Equal(t, aiFirst+human, len(pairs), "the AI's pairs and every pair people decided")
	decided := 0
	for _, p := range pairs {
		if want, ok := wantChosen[p.Prompt.Text()]; ok {
			decided++
			assert.Equal(t, want, p.Chosen.Text, "people's choice wins, flipped or not")
		}
	}
	assert.Equal(t, human, decided)
	agreed, flippedN := number(t, second, `ai/human-agrees=(\d+)`), number(t, second, `ai/human-flipped=(\d+)`)
	assert.Equal(t, human, agreed+flippedN)
	assert.Equal(t, human/2, flippedN, "every other pair was flipped")

	// The second run recalibrated on people's labels and measured the
	// audit: people agreed with the AI on the audited pairs they kept.
	require.Positive(t, audited)
	assert.Equal(t, human, number(t, second, `calibrated with (\d+) people's labels`), second)
	assert.Equal(t, human, number(t, second, `(\d+) decided by people`))
	assert.Equal(t, auditAgreed, number(t, second, `people agreed on (\d+) of \d+ audited pairs`))
	assert.Equal(t, audited, number(t, second, `people agreed on \d+ of (\d+) audited pairs`))
}

// -confidence keeps the fixed threshold of the uncalibrated router.
func TestQuickstartFixedThreshold(t *testing.T) {
	tmp := t.TempDir()
	var stdout bytes.Buffer
	args := []string{"-run", filepath.Join(tmp, "run"), "-out", filepath.Join(tmp, "out", "p.jsonl"), "-confidence", "0.7"}
	require.NoError(t, run(context.Background(), args, noEnv, &stdout))
	out := stdout.String()
	human := number(t, out, `sent to people: (\d+)`)
	assert.Positive(t, human, "the fake judge's close calls go to people")
	assert.Equal(t, human, number(t, out, `human/judge-inconsistent=(\d+)`), "the position-biased close calls are why")
	assert.NotContains(t, out, "Routing  goal:")
	err := run(context.Background(), []string{"-target", "1.5"}, noEnv, io.Discard)
	require.ErrorContains(t, err, "-target")
}

func TestQuickstartEndpoint(t *testing.T) {
	for _, tt := range []struct {
		env           map[string]string
		wantBase, key string
	}{
		{map[string]string{}, "", ""},
		{map[string]string{"OPENAI_API_KEY": "sk-x"}, "https://api.openai.com/v1", "sk-x"},
		{map[string]string{"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"}, "http://127.0.0.1:8000/v1", ""},
		{map[string]string{"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1", "OPENAI_API_KEY": "ollama"}, "http://127.0.0.1:11434/v1", "ollama"},
	} {
		base, key := endpoint(func(k string) string { return tt.env[k] })
		assert.Equal(t, tt.wantBase, base, "%v", tt.env)
		assert.Equal(t, tt.key, key, "%v", tt.env)
	}
}

func TestQuickstartProgressPrinter(t *testing.T) {
	assert.Nil(t, progressPrinter(io.Discard, 0))
	var buf bytes.Buffer
	quiet := progressPrinter(&buf, time.Hour)
	quiet(prefdata.Progress{Read: 11, Done: 5, Elapsed: time.Second}) // the first: printed, however short the run
	quiet(prefdata.Progress{Read: 12, Done: 6})                       // within the hour: not printed
	assert.Equal(t, "progress: 11 prompts read, 5 done (5.0/s), 0 pairs, 0 failed, 1s elapsed\n", buf.String())
	buf.Reset()
	print := progressPrinter(&buf, time.Nanosecond)
	print(prefdata.Progress{Read: 10, Done: 4, Pairs: 3, Failed: 1, Elapsed: 2 * time.Second})
	assert.Equal(t, "progress: 10 prompts read, 4 done (2.0/s), 3 pairs, 1 failed, 2s elapsed\n", buf.String())
}

func TestQuickstartEstimateSendsNothing(t *testing.T) {
	tmp := t.TempDir()
	runDir := filepath.Join(tmp, "run")
	var stdout bytes.Buffer
	args := []string{"-estimate", "-price-in", "1", "-price-out", "2", "-run", runDir, "-out", filepath.Join(tmp, "p.jsonl")}
	require.NoError(t, run(context.Background(), args, noEnv, &stdout))
	out := stdout.String()
	assert.Contains(t, out, "Estimate for 18 prompts after stage 1")
	// 2 models x 2 samples: 4 answers a prompt, each graded, and 4x3
	// ordered comparisons.
	assert.Equal(t, 18*2, number(t, out, `model-small +(\d+) requests`))
	assert.Equal(t, 18*(4+12), number(t, out, `judge judge +(\d+) requests`))
	assert.Equal(t, 18*2*512, number(t, out, `model-small +\d+ requests +\d+ prompt tokens +(\d+) completion tokens`))
	assert.Regexp(t, `total .*\$\d+\.\d{4}`, out)
	stdout.Reset()
	require.NoError(t, run(context.Background(), append(args, "-judges", "judge2", "-strong-judge", "strong"), noEnv, &stdout))
	assert.Equal(t, 18*12, number(t, stdout.String(), `judge judge2 +(\d+) requests`), "a panel judge compares the same pairs")
	assert.Equal(t, 18*12, number(t, stdout.String(), `judge strong +(\d+) requests`), "the strong judge at most all of them")
	_, err := os.Stat(runDir)
	assert.True(t, os.IsNotExist(err), "an estimate writes no run directory")
}

func TestQuickstartBudgetStopsCleanly(t *testing.T) {
	tmp := t.TempDir()
	args := []string{"-run", filepath.Join(tmp, "run"), "-out", filepath.Join(tmp, "out", "p.jsonl"),
		"-price-in", "1000", "-price-out", "1000", "-concurrency", "1"}
	var stdout bytes.Buffer
	err := run(context.Background(), append(args, "-budget", "5"), noEnv, &stdout)
	require.Error(t, err)
	assert.True(t, errors.Is(err, response.ErrBudget), err.Error())
	assert.True(t, errors.Is(err, prefdata.ErrStopRun))
	// One line that names the run directory and says to run again.
	assert.NotContains(t, err.Error(), "\n")
	assert.Contains(t, err.Error(), filepath.Join(tmp, "run"))
	assert.Contains(t, err.Error(), "run the same command again")
	assert.Zero(t, number(t, stdout.String(), `answered, (\d+) failed`), "a spent budget fails no item")
	assert.Less(t, number(t, stdout.String(), `generations: (\d+) asked`), 36, "the run stopped early")

	stdout.Reset()
	require.NoError(t, run(context.Background(), args, noEnv, &stdout), "a run without the budget finishes")
	assert.Positive(t, number(t, stdout.String(), `\((\d+) generations reused`), "and pays nothing twice")
	assert.Contains(t, run(context.Background(), []string{"-budget", "5"}, noEnv, io.Discard).Error(), "-budget needs")
}

// With -rm, a reward model scores every answer beside the judge (here the
// project's fake vLLM /classify server).
func TestQuickstartWithRewardModel(t *testing.T) {
	rm := rmtest.NewServer(rmtest.Config{API: filter.VLLMClassify})
	defer rm.Close()
	tmp := t.TempDir()
	runDir := filepath.Join(tmp, "run")
	var stdout bytes.Buffer
	args := []string{"-run", runDir, "-out", filepath.Join(tmp, "out", "p.jsonl"), "-rm", rm.URL, "-rm-model", "my-rm"}
	require.NoError(t, run(context.Background(), args, noEnv, &stdout))
	assert.NotEmpty(t, rm.Requests(), "the reward model was asked")
	assert.Positive(t, number(t, stdout.String(), `pairs labeled by AI: (\d+)`))
	scores, err := os.ReadFile(filepath.Join(runDir, prefdata.FileScores))
	require.NoError(t, err)
	assert.Contains(t, string(scores), `"scorer":"rm:my-rm"`)

	err = run(context.Background(), []string{"-rm", rm.URL, "-rm-model", "x", "-rm-api", "tgi"}, noEnv, io.Discard)
	require.ErrorContains(t, err, `-rm-api "tgi"`)
	err = run(context.Background(), []string{"-rm", rm.URL}, noEnv, io.Discard)
	require.ErrorContains(t, err, "-rm needs -rm-model")
}

// -judges makes a panel of judges, each in both orders; -strong-judge is
// asked only where the panel leaves doubt, and the calls it saved are
// counted.
func TestQuickstartJudgePanelAndCascade(t *testing.T) {
	tmp := t.TempDir()
	var stdout bytes.Buffer
	args := []string{"-run", filepath.Join(tmp, "run"), "-out", filepath.Join(tmp, "out", "p.jsonl"), "-judges", "judge2", "-strong-judge", "strong"}
	require.NoError(t, run(context.Background(), args, noEnv, &stdout))
	out := stdout.String()
	for _, j := range []string{"judge:judge:", "judge:judge2:"} {
		assert.Contains(t, out, j, "the calibrator estimated each panel judge")
	}
	asked := number(t, out, `judge cascade: (\d+) calls asked`)
	saved := number(t, out, `judge cascade: \d+ calls asked, (\d+) saved`)
	assert.Positive(t, asked)
	assert.Positive(t, saved, "the strong judge was not asked where the panel was sure")
	scores, err := os.ReadFile(filepath.Join(tmp, "run", prefdata.FileScores))
	require.NoError(t, err)
	assert.Contains(t, string(scores), `judge:judge2`)
}

// A plan that cannot be made (here: a human-labels file that cannot be
// read) stops the run with its error, naming the file; the labeling pass,
// which starts while the plan is fitted, counts no prompt as failed for it
// and finishes none, and the previous output stays.
func TestQuickstartPlanErrorStopsTheRun(t *testing.T) {
	tmp := t.TempDir()
	runDir, out := filepath.Join(tmp, "run"), filepath.Join(tmp, "out", "pairs.jsonl")
	args := []string{"-run", runDir, "-out", out}
	require.NoError(t, run(context.Background(), args, noEnv, io.Discard))
	before, err := os.ReadFile(out)
	require.NoError(t, err)
	pairsBefore, err := os.ReadFile(filepath.Join(runDir, prefdata.FilePairs))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(runDir, label.FileHumanLabels), []byte("{not a label\n"), 0o644))

	err = run(context.Background(), args, noEnv, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), label.FileHumanLabels)
	after, rerr := os.ReadFile(out)
	require.NoError(t, rerr)
	assert.Equal(t, before, after, "the previous output is kept")
	pairsAfter, rerr := os.ReadFile(filepath.Join(runDir, prefdata.FilePairs))
	require.NoError(t, rerr)
	assert.Equal(t, pairsBefore, pairsAfter, "no prompt finished without the plan")
	failures, rerr := os.ReadFile(filepath.Join(runDir, prefdata.FileFailures))
	if rerr == nil {
		assert.NotContains(t, string(failures), label.FileHumanLabels, "the plan's error is no prompt's failure")
	}
}
