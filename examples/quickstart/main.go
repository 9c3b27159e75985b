// Command quickstart runs the four stages of preference-data collection end
// to end and writes the pairs in TRL's conversational format, with a dataset
// card and an HTML run report beside them.
//
//	go run ./examples/quickstart [-prompts FILE.jsonl] [-models a,b] [-judge MODEL]
//	    [-run DIR] [-out FILE] [-concurrency N]
//
// It talks to the OpenAI-compatible server at OPENAI_BASE_URL with
// OPENAI_API_KEY (OpenAI's API when only the key is set). With neither, it
// starts the built-in fake server
// (package response/openaitest) and says so on its first line of output, so
// that every stage runs on a fresh machine with no network.
//
// Stage 1 reads the prompts and drops exact and near duplicates. Stage 2 asks
// every model for -samples answers. Stage 3 drops broken answers (empty,
// truncated, refusals, loops), grades each answer with the judge (1-10,
// MT-Bench style), compares answers pairwise in both orders, builds pairs and
// routes them: the pairs the judge is sure of are labeled by AI and written
// to -out; the others wait in the run directory's queue for people (stage
// 4). Label them with
//
//	go run ./examples/label-server -run DIR
//
// and run the quickstart again: it pays for nothing twice, and the pairs
// people decided join the output.
//
// Routing is calibrated by default: a first pass through stages 1-3
// collects every pair's judgments, a calibrator estimates each judge's
// accuracy and position bias (and learns from people's labels, on later
// runs), and the AI labels the pairs it is surest of for as long as their
// predicted accuracy stays at -target; -audit sends a share of those to
// people too, unmarked, to measure it. -confidence keeps a fixed threshold.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/dataset"
	"github.com/prefdata/prefdata/filter"
	"github.com/prefdata/prefdata/label"
	"github.com/prefdata/prefdata/prompt"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

//go:embed prompts.jsonl
var builtinPrompts string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); errors.Is(err, flag.ErrHelp) {
		os.Exit(0) // -h: the usage was printed
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

type options struct {
	prompts, models, judge, runDir, out string
	rmURL, rmModel, rmAPI               string
	judges, strongJudge                 string
	concurrency, samples, maxTokens     int
	threshold, maxFailures              float64
	target, audit                       float64
	humanBudget                         int
	wait, estimate                      bool
	progress                            time.Duration
	priceIn, priceOut, budget           float64
}

// defaultBaseURL is OpenAI's API, used when only OPENAI_API_KEY is set.
const defaultBaseURL = "https://api.openai.com/v1"

// endpoint reads the server to use from the environment: OPENAI_BASE_URL,
// or OpenAI's API when only OPENAI_API_KEY is set; "" when neither is, which
// means the built-in fake server.
func endpoint(getenv func(string) string) (baseURL, apiKey string) {
	baseURL, apiKey = getenv("OPENAI_BASE_URL"), getenv("OPENAI_API_KEY")
	if baseURL == "" && apiKey != "" {
		baseURL = defaultBaseURL
	}
	return baseURL, apiKey
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.prompts, "prompts", "", "prompt file (JSONL or JSON, any schema the prompt package reads); default: 20 built-in prompts")
	fs.StringVar(&o.models, "models", "model-small,model-large", "comma-separated models that answer the prompts")
	fs.StringVar(&o.judge, "judge", "judge", "model that grades and compares the answers")
	fs.StringVar(&o.judges, "judges", "", "comma-separated further models that compare the answers beside -judge, as one panel (each in both orders)")
	fs.StringVar(&o.strongJudge, "strong-judge", "", "a strong (costly) judge asked only about the pairs the panel leaves in doubt: a judge cascade")
	fs.StringVar(&o.runDir, "run", filepath.Join("runs", "quickstart"), "run directory (resumable)")
	fs.StringVar(&o.out, "out", filepath.Join("out", "quickstart", "pairs.jsonl"), "output file of AI- and human-labeled pairs (TRL conversational); the card and report go beside it")
	fs.IntVar(&o.concurrency, "concurrency", 16, "requests in flight at once")
	fs.IntVar(&o.samples, "samples", 2, "answers per model and prompt")
	fs.IntVar(&o.maxTokens, "max-tokens", 512, "most tokens per answer (answers cut there are dropped as truncated)")
	fs.Float64Var(&o.target, "target", 0.9, "accuracy the AI-labeled pairs must keep: the calibrated router labels by AI the pairs it is surest of for as long as their predicted accuracy stays at or above it, and sends the rest to people")
	fs.Float64Var(&o.audit, "audit", 0.05, "fraction of the AI-labeled pairs also sent to people, unmarked, to measure the AI's accuracy")
	fs.IntVar(&o.humanBudget, "human-budget", 0, "send this many pairs to people, where a person adds the most (instead of -target)")
	fs.Float64Var(&o.threshold, "confidence", 0, "route by this fixed confidence threshold instead (the uncalibrated router: at or above it the AI's label stands); 0: calibrated routing")
	fs.Float64Var(&o.maxFailures, "max-failures", 0.2, "stop when more than this fraction of the prompts fail (0: none may fail; 1: no limit)")
	fs.DurationVar(&o.progress, "progress", 2*time.Second, "print progress to stderr this often (0: never)")
	fs.StringVar(&o.rmURL, "rm", "", "base URL of a reward-model server (vLLM, e.g. http://127.0.0.1:8000) that scores every answer beside the judge")
	fs.StringVar(&o.rmModel, "rm-model", "", "the reward model's name on that server")
	fs.StringVar(&o.rmAPI, "rm-api", "vllm-classify", "the reward-model API: vllm-classify or vllm-pooling")
	fs.BoolVar(&o.estimate, "estimate", false, "print an upper bound of the requests, tokens and cost of the run, and send nothing")
	fs.Float64Var(&o.priceIn, "price-in", 0, "USD per million prompt tokens, for every model and the judge (0: unknown)")
	fs.Float64Var(&o.priceOut, "price-out", 0, "USD per million completion tokens, for every model and the judge")
	fs.Float64Var(&o.budget, "budget", 0, "stop the run cleanly before its cost passes this many USD (needs prices; 0: no limit)")
	fs.BoolVar(&o.wait, "wait", false, "wait for people to label the unsure pairs (run the label server meanwhile)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.concurrency < 1 || o.samples < 1 {
		return o, errors.New("-concurrency and -samples must be at least 1")
	}
	if o.target <= 0 || o.target > 1 || o.audit < 0 || o.audit > 1 || o.threshold < 0 || o.threshold > 1 || o.humanBudget < 0 {
		return o, errors.New("-target and -confidence must be in (0, 1], -audit in [0, 1], -human-budget at least 0")
	}
	if o.rmURL != "" {
		if _, ok := rmAPI(o.rmAPI); !ok {
			return o, fmt.Errorf("-rm-api %q: want vllm-classify or vllm-pooling", o.rmAPI)
		}
		if o.rmModel == "" {
			return o, errors.New("-rm needs -rm-model")
		}
	}
	return o, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	o, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	baseURL, apiKey := endpoint(getenv)
	if baseURL == "" {
		srv := openaitest.NewServer(openaitest.Config{Latency: 5 * time.Millisecond, Reply: fakeReplies(o.judge, o.panelModels()...)})
		defer srv.Close()
		baseURL, apiKey = srv.URL, "fake"
		fmt.Fprintf(stdout, "No OPENAI_BASE_URL set: running against the built-in fake OpenAI-compatible server at %s (synthetic answers).\n", srv.URL)
	} else {
		fmt.Fprintf(stdout, "Using the OpenAI-compatible server at %s.\n", baseURL)
	}

	// Stage 1: prompts.
	// Opened once per pass: calibrated routing's labeling pass replays the
	// first pass's stage 1 from its memo, but reads the prompts again when
	// the memo could not keep them all (beyond memoMax).
	openPrompts := func() (*prompt.Reader, error) {
		if o.prompts == "" {
			return prompt.NewReader(strings.NewReader(builtinPrompts), prompt.ReaderConfig{Name: "builtin-prompts.jsonl", SkipBad: true}), nil
		}
		return prompt.Open(o.prompts, prompt.ReaderConfig{SkipBad: true})
	}
	src, err := openPrompts()
	if err != nil {
		return err
	}
	defer src.Close()

	// Dedup filters remember what they saw: new ones for each pass.
	newPromptFilters := func() []prefdata.PromptFilter {
		return []prefdata.PromptFilter{prompt.NewExactDedup(), prompt.MustNearDedup(prompt.NearDedupConfig{})}
	}
	promptFilters := newPromptFilters()

	// Stage 2: every model answers every prompt. One price list and one
	// budget for the models and the judge.
	var prices *response.Prices
	if o.priceIn > 0 || o.priceOut > 0 {
		prices = &response.Prices{Input: o.priceIn, Output: o.priceOut}
	}
	var budget *response.Budget
	if o.budget > 0 {
		if prices == nil {
			return errors.New("-budget needs -price-in and -price-out")
		}
		budget = response.NewBudget(o.budget, nil)
	}
	// Every call (the models' and the judge's) goes through one client
	// that holds at most -concurrency connections: the stages work on many
	// prompts at once (each waits on its calls in turn: the answers, the
	// rubric judge, then the pairwise judge) and keep -concurrency requests
	// in flight between them, never more.
	client := response.NewHTTPClient(o.concurrency)
	client.Transport.(*http.Transport).MaxConnsPerHost = o.concurrency
	var gens []*response.Generator
	for i, m := range strings.Split(o.models, ",") {
		g, err := response.New(response.Config{
			BaseURL: baseURL, APIKey: apiKey, Model: strings.TrimSpace(m), Samples: o.samples,
			Sampling: prefdata.Sampling{Temperature: prefdata.Float(0.8), MaxTokens: o.maxTokens, Seed: prefdata.Int(i + 1)},
			MaxConns: o.concurrency, HTTPClient: client, Prices: prices, Budget: budget,
		})
		if err != nil {
			return err
		}
		gens = append(gens, g)
	}
	judge, err := response.New(response.Config{
		BaseURL: baseURL, APIKey: apiKey, Model: o.judge,
		Sampling: prefdata.Sampling{Temperature: prefdata.Float(0), MaxTokens: judgeMaxTokens},
		MaxConns: o.concurrency, HTTPClient: client, Prices: prices, Budget: budget,
	})
	if err != nil {
		return err
	}
	if o.estimate {
		return estimate(ctx, stdout, src, promptFilters, gens, judge, o)
	}

	dir, err := prefdata.OpenRunDir(o.runDir)
	if err != nil {
		return err
	}
	defer dir.Close()
	// The card's summary takes the responses and the judges' records from
	// memory as the run writes them, and decodes them meanwhile.
	summary := dataset.FollowSummary(dir)
	defer summary.Wait() // before the directory is closed

	// Stage 3: rules, a pointwise judge, a pairwise judge in both orders,
	// then pairs routed by confidence. Stage 4: pairs people decided.
	rules := []prefdata.Filter{
		filter.Empty(), filter.Truncated(), filter.Refusal(filter.RefusalConfig{}), filter.Repetition(filter.RepetitionConfig{}),
	}
	judging := []prefdata.Filter{
		// Each judge call is journaled as its answer arrives: a killed run
		// loses only what was in flight, and a call that failed is asked
		// again by the next run rather than kept as "not scored".
		filter.Scores(&filter.RubricJudge{Generator: prefdata.JournalGenerator(judge), Style: filter.StyleSingle}),
		&filter.PairwiseJudge{Generator: prefdata.JournalGenerator(judge), Scale: filter.ThreeWay, Mode: filter.ConsistentOnly, MaxResponses: pairwiseMax},
	}
	panel, err := judgePanel(judge, o, func(model string) (*response.Generator, error) {
		return response.New(response.Config{
			BaseURL: baseURL, APIKey: apiKey, Model: model,
			Sampling: prefdata.Sampling{Temperature: prefdata.Float(0), MaxTokens: judgeMaxTokens},
			MaxConns: o.concurrency, Prices: prices, Budget: budget,
		})
	})
	if err != nil {
		return err
	}
	if panel != nil {
		judging[1] = panel
	}
	router := filter.Router{Threshold: o.threshold}
	calibrated := o.threshold == 0
	if o.rmURL != "" {
		rm, err := rewardModel(o)
		if err != nil {
			return err
		}
		// A reward model's logits and the judge's 1-10 grades are on
		// different scales: standardize each before they are averaged.
		judging = append([]prefdata.Filter{filter.Scores(prefdata.JournalScorer(rm))}, judging...)
		router.Pairs.Combine.Normalize = filter.ZScore
	}
	var labeler prefdata.Labeler = label.Human(router, dir, label.HumanOptions{Wait: o.wait})

	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	// The pairs go to a temporary file, renamed over -out only when the run
	// succeeded: a failed run never empties the previous output.
	outFile, err := os.CreateTemp(filepath.Dir(o.out), "."+filepath.Base(o.out)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		outFile.Close()
		os.Remove(outFile.Name()) // gone already after the rename
	}()
	sink, err := dataset.NewWriter(outFile, dataset.TRLConversational, dataset.Options{})
	if err != nil {
		return err
	}
	written := &aiPairs{Sink: sink}

	p := &prefdata.Pipeline{
		Source:        src,
		PromptFilters: promptFilters,
		Generators:    generators(gens),
		Filters:       append(rules, judging...),
		Labeler:       labeler,
		Sink:          written,
		Dir:           dir,
		Limits:        prefdata.Limits{Generate: o.concurrency, Filter: o.concurrency},
		Budget:        errorBudget(o.maxFailures),
		Hooks:         prefdata.Hooks{Progress: progressPrinter(os.Stderr, o.progress)},
	}
	// Calibrated routing: a first pass through stages 1-3 collects every
	// pair's judgments, the calibrator is fitted on them (and on people's
	// labels so far) and routes by the goal; the second pass labels the
	// candidates the first one kept in memory (those it could not keep are
	// read back from the run directory). It starts while the plan is
	// fitted: its labeler waits for the plan.
	runCtx := ctx
	var plan *pendingPlan
	if calibrated {
		planner := &filter.RoutePlanner{Pairs: router.Pairs}
		p.Memo = &prefdata.CandidateMemo{Max: memoMax}
		var first prefdata.Stats
		plan, first, err = calibratedPlan(ctx, *p, planner, o)
		if err != nil {
			printFunnel(stdout, first, src.Report())
			return stopped(err, o)
		}
		if p.Source, err = openPrompts(); err != nil {
			return err
		}
		// The first pass's journals are read while the plan is fitted; the
		// labeling pass's end reads again only those it appended to.
		summary.ReadRest()
		p.PromptFilters = newPromptFilters()
		p.Labeler = label.Human(plannedLater{planner, plan}, dir, label.HumanOptions{Wait: o.wait})
		// A plan that cannot be fitted stops the pass.
		var cancel context.CancelCauseFunc
		runCtx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		go func() {
			if _, err := plan.wait(runCtx); err != nil {
				cancel(err)
			}
		}()
		p.AddStats = func(s *prefdata.Stats) {
			firstPass(s, first)
			rp, err := plan.wait(runCtx)
			if err != nil {
				return // the run reports it
			}
			s.Routing = routingStats(rp, written.ids)
			if panel != nil {
				s.Cascade = panel.Stats()
			}
			// The pairs, the queue and the failures are written: the
			// summary reads them (those the pass appended to) while the
			// run directory is synced.
			summary.ReadRest()
		}
	}
	st, runErr := p.Run(runCtx)
	if plan != nil {
		if _, err := plan.wait(context.Background()); err != nil {
			runErr = err // the pass stopped for it
		}
	}
	// The first pass read every prompt (the labeling pass replays its
	// stage 1 from the memo): its reader has the bad lines.
	printFunnel(stdout, st, src.Report())
	if r, ok := p.Source.(*prompt.Reader); ok && r != src {
		r.Close()
	}
	printRouting(stdout, st.Routing, st.Cascade)
	if runErr != nil {
		return stopped(runErr, o)
	}
	if err := outFile.Close(); err != nil {
		return err
	}
	if err := os.Rename(outFile.Name(), o.out); err != nil {
		return err
	}

	// The card and the report, from the run directory; the annotators'
	// agreement is read meanwhile.
	var agreed errgroup.Group
	var agree *dataset.Agreement
	agreed.Go(func() (err error) { agree, err = agreement(dir); return err })
	sum, err := summary.Summary()
	if aerr := agreed.Wait(); err == nil {
		err = aerr
	}
	if err != nil {
		return err
	}
	sum.Human.Agreement = agree
	outDir := filepath.Dir(o.out)
	files := []dataset.DataFile{{Config: dataset.ConfigDefault, Split: dataset.SplitTrain, Path: filepath.Base(o.out), Rows: sink.Rows()}}
	// The card and the report only read the summary: written at once.
	var write errgroup.Group
	write.Go(func() error {
		return dataset.WriteCardFile(outDir, sum, dataset.CardOptions{Title: "prefdata quickstart", Format: dataset.TRLConversational, Files: files})
	})
	write.Go(func() error {
		return dataset.WriteReportFiles(outDir, sum, dataset.ReportOptions{Title: "prefdata quickstart"})
	})
	if err := write.Wait(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Every run in %s: %d pairs labeled by AI, %d labeled by people, %d sent to people, %d with people's labels\n",
		o.runDir, sum.Pairs.AI, sum.Pairs.People, sum.Human.Queued, sum.Human.LabeledPairs)
	fmt.Fprintf(stdout, "\nPairs (TRL conversational): %s\n", o.out)
	fmt.Fprintf(stdout, "Dataset card: %s\n", filepath.Join(outDir, dataset.FileCard))
	fmt.Fprintf(stdout, "Run report: %s\n", filepath.Join(outDir, dataset.FileReport))
	if st.PairsHuman > 0 {
		fmt.Fprintf(stdout, "%d pairs wait for people in %s: go run ./examples/label-server -run %s\n",
			st.PairsHuman, dir.Path(prefdata.FileQueue), o.runDir)
	}
	return nil
}

func printFunnel(w io.Writer, st prefdata.Stats, bad prompt.Report) {
	fmt.Fprintf(w, "\nStage 1  prompts: %d read, %d bad, %d kept", st.Prompt.In, st.Prompt.Failed, st.Prompt.Out)
	printDropped(w, st.Prompt.Dropped)
	fmt.Fprintf(w, "Stage 2  generations: %d asked, %d answered, %d failed, %d responses (%d generations reused from the run directory)\n",
		st.Generate.In, st.Generate.Out, st.Generate.Failed, st.Responses, st.Cached.Generations)
	models := make([]string, 0, len(st.Usage))
	for m := range st.Usage {
		models = append(models, m)
	}
	sort.Strings(models)
	for _, m := range models {
		u := st.Usage[m]
		fmt.Fprintf(w, "         %s: %d requests, %d prompt + %d completion tokens\n", m, u.Requests, u.PromptTokens, u.CompletionTokens)
	}
	fmt.Fprintf(w, "Stage 3  responses: %d in, %d kept, %d failed", st.Filter.In, st.Filter.Out, st.Filter.Failed)
	printDropped(w, st.Filter.Dropped)
	fmt.Fprintf(w, "         this run: pairs labeled by AI: %d; labeled by people: %d; sent to people: %d\n", st.PairsAI-st.PairsPeople, st.PairsPeople, st.PairsHuman)
	if len(st.Routes) > 0 {
		fmt.Fprintf(w, "         routed (new pairs): %s\n", filter.FormatCounts(st.Routes))
	}
	fmt.Fprintf(w, "Stage 4  see the label server; %d prompts finished in an earlier run were replayed\n", st.Cached.Prompts)
	for _, b := range bad.Listed {
		fmt.Fprintf(w, "bad prompt record %s: %s\n", b.Item, b.Err)
	}
}

func printDropped(w io.Writer, dropped map[string]int) {
	if len(dropped) == 0 {
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "; dropped: %s\n", filter.FormatCounts(dropped))
}

// agreement computes the annotators' agreement on the human queue for the
// card and the report: Krippendorff's alpha where items have two labels or
// more, nil before anyone has labeled.
func agreement(dir *prefdata.RunDir) (*dataset.Agreement, error) {
	queue, err := label.OpenQueue(dir)
	if err != nil {
		return nil, err
	}
	store, err := label.OpenStore(dir)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	rep := label.Summarize(queue.Pairs(), store.Labels(), label.Policy{})
	if rep.Labels == 0 {
		return nil, nil
	}
	a := &dataset.Agreement{Metric: "percent", Value: rep.PercentAgreement, Items: rep.Items, Annotators: len(rep.Annotators)}
	if rep.AlphaOK {
		a.Metric, a.Value = "krippendorff_alpha", rep.Alpha
	}
	return a, nil
}

// progressPrinter returns a Progress hook that prints a line on the first
// prompt done, then at most once per interval: prompts read and done, their
// rate, pairs and failures. A run shorter than the interval still shows one.
func progressPrinter(w io.Writer, every time.Duration) func(prefdata.Progress) {
	if every <= 0 {
		return nil
	}
	var last atomic.Int64 // 0: nothing printed yet
	return func(p prefdata.Progress) {
		now, prev := time.Now().UnixNano(), last.Load()
		if (prev != 0 && now-prev < int64(every)) || !last.CompareAndSwap(prev, now) {
			return
		}
		rate := float64(p.Done) / max(p.Elapsed.Seconds(), 1e-9)
		fmt.Fprintf(w, "progress: %d prompts read, %d done (%.1f/s), %d pairs, %d failed, %s elapsed\n",
			p.Read, p.Done, rate, p.Pairs, p.Failed, p.Elapsed.Round(time.Second))
	}
}

const (
	judgeMaxTokens = 1024 // the judge's reply: a rationale and a verdict
	pairwiseMax    = 4    // responses per prompt the pairwise judge compares
	// memoMax is the most candidates calibrated routing keeps in memory
	// between its two passes; the others are read back from the run
	// directory.
	memoMax = 50000
	// judgeFrame is the judge prompt's own text around the answers, in
	// tokens, for the estimate.
	judgeFrame = 250
)

func generators(gs []*response.Generator) []prefdata.Generator {
	out := make([]prefdata.Generator, len(gs))
	for i, g := range gs {
		out[i] = g
	}
	return out
}

// estimate reads the prompts through stage 1 and prints an upper bound of
// what the run would ask: every model's samples at max tokens, the judge
// grading every answer and comparing up to pairwiseMax answers pairwise in
// both orders. It sends nothing.
func estimate(ctx context.Context, w io.Writer, src prefdata.PromptSource, filters []prefdata.PromptFilter, gens []*response.Generator, judge *response.Generator, o options) error {
	per := map[string]prefdata.Usage{}
	prompts := 0
	k := len(gens) * o.samples
	pairs := min(k, pairwiseMax) * (min(k, pairwiseMax) - 1) // both orders of each pair
	answer := strings.Repeat("abcd", o.maxTokens)            // max_tokens long, by the estimator's count
	frame := strings.Repeat("abcd", judgeFrame)
	judgeName := "judge " + judge.Name()
next:
	for {
		p, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		var ie *prefdata.ItemError
		if errors.As(err, &ie) {
			continue // a bad line costs nothing
		}
		if err != nil {
			return err
		}
		if p.ID == "" {
			p.ID = prefdata.ContentID(p.Messages)
		}
		for _, f := range filters {
			if p, err = f.FilterPrompt(ctx, p); err != nil {
				continue next // dropped in stage 1: costs nothing
			}
		}
		prompts++
		for _, g := range gens {
			per[g.Name()] = per[g.Name()].Add(g.Estimate(p))
		}
		grade, compare := judge.Estimate(judgePrompt(p, frame+answer)), judge.Estimate(judgePrompt(p, frame+answer+answer))
		for range k {
			per[judgeName] = per[judgeName].Add(grade)
		}
		for range pairs {
			per[judgeName] = per[judgeName].Add(compare)
		}
		// The panel's other judges compare the same pairs; at most, the
		// strong judge of a cascade compares all of them too.
		for _, m := range o.panelModels() {
			for range pairs {
				per["judge "+m] = per["judge "+m].Add(compare)
			}
		}
	}
	fmt.Fprintf(w, "Estimate for %d prompts after stage 1 (an upper bound: every answer at max tokens, one request per sample):\n", prompts)
	names := make([]string, 0, len(per))
	for n := range per {
		names = append(names, n)
	}
	sort.Strings(names)
	var total prefdata.Usage
	for _, n := range names {
		total = total.Add(per[n])
		printEstimate(w, n, per[n], o)
	}
	printEstimate(w, "total", total, o)
	return nil
}

func printEstimate(w io.Writer, name string, u prefdata.Usage, o options) {
	fmt.Fprintf(w, "  %-24s %7d requests %10d prompt tokens %10d completion tokens", name, u.Requests, u.PromptTokens, u.CompletionTokens)
	if o.priceIn > 0 || o.priceOut > 0 {
		fmt.Fprintf(w, "  $%.4f", u.Cost)
	}
	fmt.Fprintln(w)
}

func judgePrompt(p prefdata.Prompt, body string) prefdata.Prompt {
	msgs := append(append([]prefdata.Message(nil), p.Messages...), prefdata.Message{Role: prefdata.RoleUser, Content: body})
	return prefdata.Prompt{ID: p.ID, Messages: msgs}
}

// rewardModel is the -rm scorer: a reward model served by vLLM, read as raw
// rewards (a Bradley-Terry model's logit), the server applying the model's
// chat template to the conversation.
func rewardModel(o options) (*filter.RewardModel, error) {
	api, _ := rmAPI(o.rmAPI)
	return filter.NewRewardModel(filter.RewardModelConfig{API: api, BaseURL: o.rmURL, Model: o.rmModel})
}

// rmAPI reads a -rm-api value.
func rmAPI(name string) (filter.RMAPI, bool) {
	switch name {
	case "vllm-classify":
		return filter.VLLMClassify, true
	case "vllm-pooling":
		return filter.VLLMPooling, true
	}
	return 0, false
}

// stopError is a run stopped on purpose (the -budget spent): one line that
// says where the work is and how to go on; errors.Is still sees the cause.
type stopError struct {
	msg string
	err error
}

func (e *stopError) Error() string { return e.msg }
func (e *stopError) Unwrap() error { return e.err }

// stopped turns a -budget stop into a stopError; other errors pass as
// they are.
func stopped(err error, o options) error {
	if !errors.Is(err, response.ErrBudget) {
		return err
	}
	return &stopError{err: err, msg: fmt.Sprintf("stopped: the -budget of $%g is spent; the work so far is kept in %s: run the same command again (with a larger -budget) to continue", o.budget, o.runDir)}
}

// errorBudget is the -max-failures budget, a fraction of the prompts: 0
// lets no prompt fail, 1 or more any number.
func errorBudget(fraction float64) prefdata.ErrorBudget {
	switch {
	case fraction >= 1:
		return prefdata.ErrorBudget{}
	case fraction <= 0:
		return prefdata.ErrorBudget{MaxFailures: 0, MaxFraction: math.SmallestNonzeroFloat64, MinItems: 1}
	}
	return prefdata.ErrorBudget{MaxFraction: fraction}
}
