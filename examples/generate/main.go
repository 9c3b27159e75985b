// Command generate runs stage 2 alone: it answers prompts with K of M models
// over an OpenAI-compatible API, with retries, rate limits, a cost budget
// and sharding, and keeps everything in a run directory so that a rerun
// (or a run with one more model) pays only for what is new.
//
//	go run ./examples/generate -base-url http://127.0.0.1:11434/v1 \
//	    -models llama3.2,qwen2.5 -k 2 -samples 2 -in prompts.txt -dir run1
//
// Without -base-url it starts the fake server of response/openaitest, with
// 20 ms latency and faults in a tenth of the requests, so the command runs
// anywhere. -batch sends the requests through the Batch API instead.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"time"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prompt"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

var builtinPrompts = []string{
	"Explain why the sky is blue to a ten-year-old.",
	"Write a haiku about autumn rain.",
	"What is the difference between a list and a tuple in Python?",
	"Give three tips for a first job interview.",
	"Summarize the plot of Romeo and Juliet in two sentences.",
	"How do vaccines train the immune system?",
	"Write a SQL query that finds duplicate emails in a users table.",
	"What are the pros and cons of remote work?",
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	baseURL := fs.String("base-url", "", "OpenAI-compatible API (default: an in-process fake server)")
	models := fs.String("models", "model-a,model-b,model-c", "comma-separated model names")
	k := fs.Int("k", 2, "models drawn per prompt")
	samples := fs.Int("samples", 1, "samples per model")
	temperature := fs.Float64("temperature", 0.8, "sampling temperature")
	maxTokens := fs.Int("max-tokens", 512, "max tokens per response")
	seed := fs.Int64("seed", 1, "seed of the model draw")
	in := fs.String("in", "", "prompt file in any format the prompt package reads (JSONL or JSON, .gz too: ShareGPT, Alpaca, HH-RLHF, MT-Bench, TRL, ...), or a .txt file of one prompt a line (default: a few built-in prompts)")
	dir := fs.String("dir", "", "run directory (default: a temporary one)")
	rpm := fs.Int("rpm", 0, "requests per minute for the endpoint (0: no limit)")
	tpm := fs.Int("tpm", 0, "tokens per minute for the endpoint (0: no limit)")
	budget := fs.Float64("budget", 0, "cost ceiling in dollars (0: none)")
	priceIn := fs.Float64("price-in", 0, "dollars per million input tokens")
	priceOut := fs.Float64("price-out", 0, "dollars per million output tokens")
	shard := fs.String("shard", "", `run one shard, "i/n" (e.g. 0/4)`)
	batch := fs.Bool("batch", false, "use the Batch API: every model answers every prompt (-k is not used), batches of all models run side by side")
	conc := fs.Int("concurrency", 64, "prompts in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}

	ps, err := readPrompts(ctx, *in)
	if err != nil {
		return err
	}

	url := *baseURL
	if url == "" {
		srv := openaitest.NewServer(openaitest.Config{Latency: 20 * time.Millisecond, Fault: func(r openaitest.Request) openaitest.Fault {
			if r.Seq%10 == 3 {
				return openaitest.Fault503
			}
			return openaitest.FaultNone
		}})
		defer srv.Close()
		url = srv.URL
		fmt.Fprintln(stdout, "fake server at", url)
	}
	runPath := *dir
	if runPath == "" {
		tmp, err := os.MkdirTemp("", "generate-run")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		runPath = tmp
	}
	rd, err := prefdata.OpenRunDir(runPath)
	if err != nil {
		return err
	}
	defer rd.Close()
	cache, err := response.NewCache(rd)
	if err != nil {
		return err
	}

	base := response.Config{
		BaseURL: url, APIKey: os.Getenv("OPENAI_API_KEY"), Samples: *samples, Cache: cache,
		Sampling:   prefdata.Sampling{Temperature: prefdata.Float(*temperature), MaxTokens: *maxTokens},
		HTTPClient: response.NewHTTPClient(*conc),
	}
	if *rpm > 0 || *tpm > 0 {
		base.Limiter = response.NewLimiter(response.Limit{Requests: *rpm, Tokens: *tpm})
	}
	if *priceIn > 0 || *priceOut > 0 {
		base.Prices = &response.Prices{Input: *priceIn, Output: *priceOut}
	}
	if *budget > 0 {
		// A spent budget ends the pipeline's run by itself (ErrBudget wraps
		// prefdata.ErrStopRun); no cancel function is needed.
		base.Budget = response.NewBudget(*budget, nil)
	}

	// source returns a fresh source of the prompts (of one shard with
	// -shard): batch mode reads them once to submit, the pipeline again.
	source := func() (prefdata.PromptSource, error) { return prefdata.Prompts(ps...), nil }
	if *shard != "" {
		var i, n int
		if _, err := fmt.Sscanf(*shard, "%d/%d", &i, &n); err != nil {
			return fmt.Errorf("-shard %q: want i/n", *shard)
		}
		source = func() (prefdata.PromptSource, error) { return response.ShardSource(prefdata.Prompts(ps...), i, n) }
	}
	src, err := source()
	if err != nil {
		return err
	}

	var gens []prefdata.Generator
	names := strings.Split(*models, ",")
	if *batch {
		// Submit every model's batches first, then wait for them all: the
		// batches run side by side on the server.
		var bs []*response.BatchGenerator
		for _, m := range names {
			c := base
			c.Model = m
			b, err := response.NewBatch(c, response.BatchConfig{Dir: rd, PollInterval: 10 * time.Second})
			if err != nil {
				return err
			}
			sub, err := source()
			if err != nil {
				return err
			}
			n, err := b.Submit(ctx, sub)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: %d requests submitted in batch mode\n", m, n)
			bs = append(bs, b)
		}
		for _, b := range bs {
			if err := b.Wait(ctx); err != nil {
				return err
			}
			gens = append(gens, b)
		}
	} else {
		var members []prefdata.Generator
		for _, m := range names {
			c := base
			c.Model = m
			g, err := response.New(c)
			if err != nil {
				return err
			}
			members = append(members, g)
		}
		pool, err := response.NewPool(response.PoolConfig{Models: members, K: *k, Seed: *seed})
		if err != nil {
			return err
		}
		gens = []prefdata.Generator{pool}
	}

	p := &prefdata.Pipeline{
		Source:     src,
		Generators: gens,
		// Stage 2 alone: no pairs are made; the responses are in the run
		// directory's responses file.
		Labeler: prefdata.LabelerFunc(func(context.Context, prefdata.Candidate) ([]prefdata.Pair, error) { return nil, nil }),
		Dir:     rd,
		Limits:  prefdata.Limits{Generate: *conc},
	}
	st, err := p.Run(ctx)
	if errors.Is(err, response.ErrBudget) {
		fmt.Fprintln(stdout, "stopped:", err)
		err = nil
	}
	fmt.Fprintf(stdout, "prompts %d (%d finished in an earlier run), generations %d ok / %d failed (%d read back), responses %d\n",
		st.Prompt.Out, st.Cached.Prompts, st.Generate.Out, st.Generate.Failed, st.Cached.Generations, st.Responses)
	var ms []string
	for m := range st.Usage {
		ms = append(ms, m)
	}
	sort.Strings(ms)
	for _, m := range ms {
		u := st.Usage[m]
		fmt.Fprintf(stdout, "  %-12s %4d requests %7d in %7d out tokens  $%.4f\n", m, u.Requests, u.PromptTokens, u.CompletionTokens, u.Cost)
	}
	fmt.Fprintln(stdout, "run directory:", runPath)
	return err
}

// readPrompts reads the prompts of -in: a .txt file a prompt a line,
// anything else with prompt.Open (its formats and schemas); the built-in
// prompts when path is empty. A bad record is an error naming the file and
// line.
func readPrompts(ctx context.Context, path string) ([]prefdata.Prompt, error) {
	var ps []prefdata.Prompt
	if path == "" || strings.HasSuffix(path, ".txt") {
		texts := builtinPrompts
		if path != "" {
			var err error
			if texts, err = readLines(path); err != nil {
				return nil, err
			}
		}
		for _, t := range texts {
			msgs := []prefdata.Message{{Role: prefdata.RoleUser, Content: t}}
			ps = append(ps, prefdata.Prompt{ID: prefdata.ContentID(msgs), Messages: msgs, Source: path})
		}
		return ps, nil
	}
	r, err := prompt.Open(path, prompt.ReaderConfig{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	for {
		p, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("%s: no prompts", path)
	}
	return ps, nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			out = append(out, t)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
