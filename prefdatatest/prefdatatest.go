// Package prefdatatest provides test doubles for the interfaces of package
// prefdata, and a checker that any Generator keeps its contract. The
// library's own tests use them; so can yours.
package prefdatatest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prefdata/prefdata"
)

// Generator is a deterministic, in-process [prefdata.Generator]: for each
// prompt it returns Samples responses whose text is derived from the model
// name, the prompt and the sample index. It counts its calls and the most
// calls in flight at once. The zero value is not usable: set Model.
type Generator struct {
	Model   string
	Samples int           // responses per prompt; 0 means 1
	Latency time.Duration // wait before answering (ctx-aware)
	// Fail, if set, is consulted before each call: a non-nil error fails
	// the call.
	Fail func(p prefdata.Prompt) error
	// Block, if set, makes every call wait until Block is closed or ctx is
	// done.
	Block chan struct{}

	calls    atomic.Int64
	inFlight atomic.Int64
	maxMu    sync.Mutex
	max      int64
	perMu    sync.Mutex
	perID    map[string]int
}

var (
	_ prefdata.Generator     = (*Generator)(nil)
	_ prefdata.Namer         = (*Generator)(nil)
	_ prefdata.Fingerprinter = (*Generator)(nil)
)

// Name returns the model name.
func (g *Generator) Name() string { return g.Model }

// Fingerprint identifies the generator's output: model and samples.
func (g *Generator) Fingerprint() string {
	return fmt.Sprintf("prefdatatest:%s:%d", g.Model, g.samples())
}

func (g *Generator) samples() int {
	if g.Samples <= 0 {
		return 1
	}
	return g.Samples
}

// Generate implements [prefdata.Generator].
func (g *Generator) Generate(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g.calls.Add(1)
	n := g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	g.maxMu.Lock()
	g.max = max(g.max, n)
	g.maxMu.Unlock()
	g.perMu.Lock()
	if g.perID == nil {
		g.perID = map[string]int{}
	}
	g.perID[p.ID]++
	g.perMu.Unlock()

	if g.Block != nil {
		select {
		case <-g.Block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if g.Latency > 0 {
		t := time.NewTimer(g.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if g.Fail != nil {
		if err := g.Fail(p); err != nil {
			return nil, err
		}
	}
	out := make([]prefdata.Response, g.samples())
	for i := range out {
		text := Answer(g.Model, p, i)
		out[i] = prefdata.Response{
			ID:           prefdata.ResponseID(p.ID, g.Model, "", prefdata.Sampling{}, i),
			PromptID:     p.ID,
			Model:        g.Model,
			Sample:       i,
			Text:         text,
			FinishReason: "stop",
			Usage:        prefdata.Usage{Requests: 1, PromptTokens: len(strings.Fields(p.Text())), CompletionTokens: len(strings.Fields(text))},
		}
	}
	return out, nil
}

// Answer is the text [Generator] gives: deterministic, and longer for some
// (model, prompt, sample) triples than for others, so scorers that prefer
// length have something to prefer.
func Answer(model string, p prefdata.Prompt, sample int) string {
	h := prefdata.Hash(model, p.ID, sample)
	words := 3 + int(h[0]%8)
	var b strings.Builder
	fmt.Fprintf(&b, "%s answers %q:", model, p.Text())
	for i := range words {
		fmt.Fprintf(&b, " w%s", h[2*i%60:2*i%60+2])
	}
	return b.String()
}

// Calls returns the number of Generate calls so far.
func (g *Generator) Calls() int { return int(g.calls.Load()) }

// CallsFor returns the number of Generate calls for the prompt with the ID.
func (g *Generator) CallsFor(promptID string) int {
	g.perMu.Lock()
	defer g.perMu.Unlock()
	return g.perID[promptID]
}

// MaxInFlight returns the most Generate calls that were running at once.
func (g *Generator) MaxInFlight() int {
	g.maxMu.Lock()
	defer g.maxMu.Unlock()
	return int(g.max)
}

var _ prefdata.Scorer = LengthScorer{}

// LengthScorer is a [prefdata.Scorer] that scores a response by its length
// in words, under the name "length". Real scorers are in package filter.
type LengthScorer struct{}

// Score implements [prefdata.Scorer].
func (LengthScorer) Score(_ context.Context, _ prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
	out := make([]prefdata.Score, len(rs))
	for i, r := range rs {
		out[i] = prefdata.Score{ResponseID: r.ID, Scorer: "length", Value: float64(len(strings.Fields(r.Text)))}
	}
	return out, nil
}

// Labeler is a simple [prefdata.Labeler]: it pairs the response with the
// highest score against the one with the lowest (scores summed per
// response), and marks the pair NeedsHuman when the gap is below
// HumanBelow. Equal best and worst scores yield no pair. Real pair builders
// and routers are in package filter.
type Labeler struct {
	HumanBelow float64
}

// Name returns "prefdatatest.Labeler".
func (Labeler) Name() string { return "prefdatatest.Labeler" }

// Fingerprint makes the labeler's output cacheable.
func (l Labeler) Fingerprint() string { return fmt.Sprintf("prefdatatest.Labeler:%g", l.HumanBelow) }

// Label implements [prefdata.Labeler].
func (l Labeler) Label(_ context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) {
	if len(c.Responses) < 2 {
		return nil, nil
	}
	// Each response's summed score, added in the order of c.Scores. The
	// best is the first with the highest total, the worst the last with the
	// lowest: the ends of a stable sort by total, highest first.
	var small [8]float64
	totals := small[:0]
	if len(c.Responses) > len(small) {
		totals = make([]float64, 0, len(c.Responses))
	}
	totals = totals[:len(c.Responses)]
	for i := range c.Responses {
		for _, s := range c.Scores {
			if s.ResponseID == c.Responses[i].ID {
				totals[i] += s.Value
			}
		}
	}
	b, w := 0, 0
	for i, t := range totals {
		if math.IsNaN(t) {
			return l.labelSorted(c)
		}
		if t > totals[b] {
			b = i
		}
		if t <= totals[w] {
			w = i
		}
	}
	best, worst := c.Responses[b], c.Responses[w]
	return l.pair(c, best, worst, totals[b], totals[w])
}

// labelSorted labels by a stable sort of the responses by total, for
// totals a comparison cannot order (NaN).
func (l Labeler) labelSorted(c prefdata.Candidate) ([]prefdata.Pair, error) {
	total := map[string]float64{}
	for _, s := range c.Scores {
		total[s.ResponseID] += s.Value
	}
	rs := append([]prefdata.Response(nil), c.Responses...)
	sort.SliceStable(rs, func(i, j int) bool { return total[rs[i].ID] > total[rs[j].ID] })
	best, worst := rs[0], rs[len(rs)-1]
	return l.pair(c, best, worst, total[best.ID], total[worst.ID])
}

func (l Labeler) pair(c prefdata.Candidate, best, worst prefdata.Response, bestTotal, worstTotal float64) ([]prefdata.Pair, error) {
	gap := bestTotal - worstTotal
	if gap == 0 {
		return nil, nil
	}
	return []prefdata.Pair{{
		ID:            prefdata.PairID(c.Prompt.ID, best.ID, worst.ID),
		Prompt:        c.Prompt,
		Chosen:        best,
		Rejected:      worst,
		Margin:        gap,
		ScoreChosen:   bestTotal,
		ScoreRejected: worstTotal,
		NeedsHuman:    gap < l.HumanBelow,
		Provenance:    prefdata.Provenance{Stage: prefdata.StageFilter, Labeler: l.Name(), Confidence: min(1, gap/10)},
	}}, nil
}

// Sink is a [prefdata.Sink] that keeps the pairs it receives in memory. It
// is safe for concurrent use.
type Sink struct {
	mu      sync.Mutex
	pairs   []prefdata.Pair
	flushed int
}

// WritePair implements [prefdata.Sink].
func (s *Sink) WritePair(_ context.Context, p prefdata.Pair) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pairs = append(s.pairs, p)
	return nil
}

// Flush counts the pipeline's end-of-run flush.
func (s *Sink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushed++
	return nil
}

// Pairs returns a copy of the pairs received, in order.
func (s *Sink) Pairs() []prefdata.Pair {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]prefdata.Pair(nil), s.pairs...)
}

// Flushed returns how many times Flush was called.
func (s *Sink) Flushed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushed
}

// CountingSource yields n generated prompts "prompt 0", "prompt 1", ...
// without holding them in memory, then io.EOF.
func CountingSource(n int) prefdata.PromptSource {
	i := 0
	return prefdata.PromptSourceFunc(func(ctx context.Context) (prefdata.Prompt, error) {
		if err := ctx.Err(); err != nil {
			return prefdata.Prompt{}, err
		}
		if i >= n {
			return prefdata.Prompt{}, io.EOF
		}
		i++
		return NewPrompt(fmt.Sprintf("prompt %d", i-1)), nil
	})
}

// NewPrompt returns a one-turn prompt with its content ID.
func NewPrompt(text string) prefdata.Prompt {
	msgs := []prefdata.Message{{Role: prefdata.RoleUser, Content: text}}
	return prefdata.Prompt{ID: prefdata.ContentID(msgs), Messages: msgs, Source: "test"}
}

// CheckGenerator checks that g keeps the [prefdata.Generator] contract for
// the prompt p: every response names p and has an ID, IDs are unique, a
// second call gives the same IDs, concurrent calls are safe, and a call with a
// cancelled context returns an error. It returns every violation found, joined.
func CheckGenerator(ctx context.Context, g prefdata.Generator, p prefdata.Prompt) error {
	var errs []error
	first, err := g.Generate(ctx, p)
	if err != nil {
		return fmt.Errorf("Generate: %w", err)
	}
	if len(first) == 0 {
		errs = append(errs, errors.New("Generate returned no responses and no error"))
	}
	ids := map[string]bool{}
	for i, r := range first {
		if r.ID == "" {
			errs = append(errs, fmt.Errorf("response %d has no ID", i))
		}
		if ids[r.ID] {
			errs = append(errs, fmt.Errorf("response %d repeats ID %s", i, r.ID))
		}
		ids[r.ID] = true
		if r.PromptID != p.ID {
			errs = append(errs, fmt.Errorf("response %d: PromptID %q, want %q", i, r.PromptID, p.ID))
		}
		if r.Model == "" {
			errs = append(errs, fmt.Errorf("response %d has no Model", i))
		}
	}
	var wg sync.WaitGroup
	again := make([][]prefdata.Response, 4)
	callErrs := make([]error, 4)
	for i := range again {
		wg.Add(1)
		go func() {
			defer wg.Done()
			again[i], callErrs[i] = g.Generate(ctx, p)
		}()
	}
	wg.Wait()
	for i, rs := range again {
		if callErrs[i] != nil {
			errs = append(errs, fmt.Errorf("concurrent Generate %d: %w", i, callErrs[i]))
			continue
		}
		if len(rs) != len(first) {
			errs = append(errs, fmt.Errorf("concurrent Generate %d: %d responses, want %d", i, len(rs), len(first)))
			continue
		}
		for k := range rs {
			if rs[k].ID != first[k].ID {
				errs = append(errs, fmt.Errorf("concurrent Generate %d: response %d ID %s, first call gave %s", i, k, rs[k].ID, first[k].ID))
			}
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.Generate(cctx, p); err == nil {
		errs = append(errs, errors.New("Generate with a cancelled context returned no error"))
	}
	return errors.Join(errs...)
}
