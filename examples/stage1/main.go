// Command stage1 runs stage 1 of the framework alone on prompt files and
// prints the funnel: prompts read, bad records, exact duplicates, near
// duplicates, contaminated prompts, the categories, and the selection.
//
//	go run ./examples/stage1 -in ../shared/data/prompts/mt_bench_questions.jsonl \
//	    -in ../shared/data/prompts/self_instruct_seed_tasks.jsonl \
//	    -eval ../shared/data/alpaca_eval/gemma-7b-it.json -total 100 -max-share 0.3
//
// Prompts without a category get one from an LLM when -base-url and -model
// name an OpenAI-compatible server; otherwise they count as "other". The
// selected prompts go to -out (JSONL), and every dropped prompt with its
// reason to -drops.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prompt"
	"github.com/prefdata/prefdata/response"
)

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(s string) error { *f = append(*f, s); return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); errors.Is(err, flag.ErrHelp) {
		os.Exit(0) // -h: the usage was printed
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "stage1:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("stage1", flag.ContinueOnError)
	var in, evals files
	fs.Var(&in, "in", "prompt file, JSONL or JSON (repeatable)")
	fs.Var(&evals, "eval", "evaluation prompts to decontaminate against (repeatable)")
	strict := fs.Bool("strict", false, "stop at the first bad record instead of skipping and reporting it")
	ngram := fs.Int("ngram", prompt.DefaultNGram, "decontamination n-gram length in words")
	threshold := fs.Float64("threshold", prompt.DefaultNearThreshold, "near-duplicate Jaccard threshold")
	seed := fs.Uint64("seed", 1, "seed for MinHash and the balanced sample")
	total := fs.Int("total", 0, "prompts to select (0: all the caps allow)")
	maxShare := fs.Float64("max-share", 0, "largest share of one category (0: no cap)")
	baseURL := fs.String("base-url", "", "OpenAI-compatible API for the category classifier (e.g. http://127.0.0.1:11434/v1)")
	model := fs.String("model", "", "classifier model")
	workers := fs.Int("workers", 8, "classifier requests at once")
	out := fs.String("out", "", "write the selected prompts here (JSONL)")
	drops := fs.String("drops", "", "write the dropped prompts and reasons here (JSONL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(in) == 0 {
		return errors.New("no -in file")
	}

	var readers []*prompt.Reader
	var srcs []prefdata.PromptSource
	for _, path := range in {
		r, err := prompt.Open(path, prompt.ReaderConfig{SkipBad: !*strict})
		if err != nil {
			return err
		}
		defer r.Close()
		readers = append(readers, r)
		srcs = append(srcs, r)
	}
	near, err := prompt.NewNearDedup(prompt.NearDedupConfig{Threshold: *threshold, Seed: *seed})
	if err != nil {
		return fmt.Errorf("-threshold: %w", err)
	}
	filters := []prefdata.PromptFilter{prompt.NewExactDedup(), near}
	if len(evals) > 0 {
		var evalPrompts []prefdata.Prompt
		for _, path := range evals {
			ps, err := readAll(ctx, path)
			if err != nil {
				return err
			}
			evalPrompts = append(evalPrompts, ps...)
		}
		filters = append(filters, prompt.NewDecontaminator(*ngram, evalPrompts...))
	}

	// Output files are closed (and their errors checked) before the funnel
	// is printed; the deferred Close only cleans up after an early return.
	var created []*os.File
	create := func(path string) (*json.Encoder, error) {
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		created = append(created, f)
		return json.NewEncoder(f), nil
	}
	defer func() {
		for _, f := range created {
			f.Close()
		}
	}()
	var dropw *json.Encoder
	if *drops != "" {
		var err error
		if dropw, err = create(*drops); err != nil {
			return err
		}
	}
	var dropErr error
	onDrop := func(p prefdata.Prompt, filter, reason string) {
		if dropw != nil && dropErr == nil {
			dropErr = dropw.Encode(map[string]any{"prompt": p, "dropped_by": filter, "reason": reason})
		}
	}
	// Dedup and decontamination see one prompt at a time, in order; the
	// classifier, which waits on a model, runs on batches at once.
	filtered := prompt.Filtered(prompt.Concat(srcs...), onDrop, filters...)
	var classified *prompt.FilteredSource
	var stream prefdata.PromptSource = filtered
	if *baseURL != "" || *model != "" {
		gen, err := response.New(response.Config{BaseURL: *baseURL, Model: *model, APIKey: os.Getenv("OPENAI_API_KEY"), Sampling: prefdata.Sampling{Temperature: prefdata.Float(0), MaxTokens: 20}})
		if err != nil {
			return err
		}
		classified = prompt.Filtered(filtered, onDrop, &prompt.Classifier{Gen: gen}).Concurrency(*workers)
		stream = classified
	}
	// RecordDrops: after the selected prompts, each prompt balancing left
	// out comes back as a rejection, listed in -drops like the filters'.
	sel := prompt.Balance(stream, prompt.BalanceConfig{Total: *total, MaxShare: *maxShare, Seed: *seed, RecordDrops: true})

	var outw *json.Encoder
	if *out != "" {
		var err error
		if outw, err = create(*out); err != nil {
			return err
		}
	}
	selected := 0
	for {
		p, err := sel.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		var rej *prefdata.RejectError
		if errors.As(err, &rej) && rej.Prompt != nil {
			onDrop(*rej.Prompt, rej.By, rej.Reason)
			continue
		}
		var ie *prefdata.ItemError
		if errors.As(err, &ie) {
			continue // bad records are counted by the readers, failures by the funnel
		}
		if err != nil {
			return err
		}
		selected++
		if outw != nil {
			if err := outw.Encode(p); err != nil {
				return err
			}
		}
	}
	if dropErr != nil {
		return dropErr
	}
	for _, f := range created {
		if err := f.Close(); err != nil {
			return err
		}
	}

	f := filtered.Funnel()
	bad := 0
	var badList []prompt.BadRecord
	for _, r := range readers {
		rep := r.Report()
		bad += rep.Bad
		badList = append(badList, rep.Listed...)
	}
	w := bufio.NewWriter(stdout)
	row := func(name string, n int) { fmt.Fprintf(w, "%-20s %9d\n", name, n) }
	row("read", f.Read+bad)
	row("bad", bad)
	row("exact dups", f.Dropped["exact-dedup"])
	row("near dups", f.Dropped["near-dedup"])
	row("contaminated", f.Dropped["decontaminate"])
	row("after filters", f.Kept)
	if classified != nil {
		row("classify failed", classified.Funnel().Failed)
	}
	fmt.Fprintf(w, "%-20s %9s %9s\n", "per category", "available", "selected")
	counts := sel.Counts()
	var cats []string
	for c := range counts {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	for _, c := range cats {
		fmt.Fprintf(w, "  %-18s %9d %9d\n", c, counts[c].Available, counts[c].Selected)
	}
	row("selected", selected)
	for i, b := range badList {
		if i == 10 {
			fmt.Fprintf(w, "... and %d more bad records\n", len(badList)-10)
			break
		}
		fmt.Fprintf(w, "bad record %s: %s\n", b.Item, b.Err)
	}
	return w.Flush()
}

func readAll(ctx context.Context, path string) ([]prefdata.Prompt, error) {
	r, err := prompt.Open(path, prompt.ReaderConfig{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var ps []prefdata.Prompt
	for {
		p, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return ps, nil
		}
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
}
