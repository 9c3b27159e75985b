package prompt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/prefdata/prefdata"
)

// Concat returns a source that yields every prompt of srcs[0], then of
// srcs[1], and so on. Errors of one item pass through; any other error ends
// it. Use [prefdata.Prompts] for a source over a Go slice.
func Concat(srcs ...prefdata.PromptSource) prefdata.PromptSource {
	i := 0
	return prefdata.PromptSourceFunc(func(ctx context.Context) (prefdata.Prompt, error) {
		for i < len(srcs) {
			p, err := srcs[i].Next(ctx)
			if errors.Is(err, io.EOF) {
				i++
				continue
			}
			return p, err
		}
		return prefdata.Prompt{}, io.EOF
	})
}

// Weighted is a source with its share in [Interleave].
type Weighted struct {
	Source prefdata.PromptSource
	Weight float64 // relative; zero or negative means 1; NaN and ±Inf are errors
}

// Interleave returns a source that draws each prompt from one of srcs at
// random, in proportion to their weights, until all are exhausted; an
// exhausted source leaves the draw. The order is deterministic for a seed.
// With weights 3 and 1, the first stretch of output is about three quarters
// from the first source.
func Interleave(seed uint64, srcs ...Weighted) prefdata.PromptSource {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	live := append([]Weighted(nil), srcs...)
	var bad error
	for i := range live {
		switch w := live[i].Weight; {
		case (math.IsNaN(w) || math.IsInf(w, 0)) && bad == nil:
			bad = fmt.Errorf("prompt: Interleave: source %d has weight %v", i, w)
		case w <= 0:
			live[i].Weight = 1
		}
	}
	return prefdata.PromptSourceFunc(func(ctx context.Context) (prefdata.Prompt, error) {
		if bad != nil {
			return prefdata.Prompt{}, bad
		}
		for len(live) > 0 {
			total := 0.0
			for _, w := range live {
				total += w.Weight
			}
			x, k := rng.Float64()*total, len(live)-1
			for i, w := range live {
				if x < w.Weight {
					k = i
					break
				}
				x -= w.Weight
			}
			p, err := live[k].Source.Next(ctx)
			if errors.Is(err, io.EOF) {
				live = append(live[:k], live[k+1:]...)
				continue
			}
			return p, err
		}
		return prefdata.Prompt{}, io.EOF
	})
}

// Filtered returns a source that passes each prompt of src through filters
// in order, the way a [prefdata.Pipeline] runs stage 1, and yields only the
// prompts every filter keeps. Use it to put filters before a source wrapper
// that needs the filtered stream ([Balance], [Difficulty]), or to run stage 1
// without a pipeline. Rejections are counted in Funnel and passed to onDrop
// if it is not nil (to record them); a filter's failure is returned as an
// error wrapping a *prefdata.ItemError, and the source goes on, unless it
// wraps prefdata.ErrStopRun: that error is returned as it is, to end a run. A
// [prefdata.Pipeline] reading from a FilteredSource sees only the prompts it
// yields: the rejections reach its run directory only if onDrop writes them
// there.
func Filtered(src prefdata.PromptSource, onDrop func(p prefdata.Prompt, filter, reason string), filters ...prefdata.PromptFilter) *FilteredSource {
	return &FilteredSource{src: src, filters: filters, onDrop: onDrop, funnel: Funnel{Dropped: map[string]int{}}, n: 1}
}

// FilteredSource is the source made by [Filtered].
type FilteredSource struct {
	src     prefdata.PromptSource
	filters []prefdata.PromptFilter
	onDrop  func(p prefdata.Prompt, filter, reason string)
	funnel  Funnel
	n       int
	buf     []filtered // results of the current batch, in source order
	srcErr  error      // a source error that ended the last batch early
}

type filtered struct {
	p        prefdata.Prompt
	err      error // an item error to pass on, or a failure
	filter   string
	rejected bool
	reason   string
}

// Concurrency makes the source read batches of n prompts and filter the
// prompts of a batch at once, yielding them in source order; it returns s.
// Use it for filters that call a model ([Classifier], [RIP]), which must be
// safe for concurrent use. Dedup filters are safe too, but which copy of a
// duplicate pair they keep then depends on timing: put them in a Filtered
// of their own with the default of 1.
func (s *FilteredSource) Concurrency(n int) *FilteredSource {
	s.n = max(n, 1)
	return s
}

// Funnel counts what a [FilteredSource] did.
type Funnel struct {
	Read    int            // prompts read from the source
	Bad     int            // item errors from the source (bad lines)
	Failed  int            // prompts a filter failed on
	Dropped map[string]int // rejections per filter name
	Kept    int            // prompts yielded
}

// Funnel returns the counts so far. Call it from the goroutine that calls
// Next.
func (s *FilteredSource) Funnel() Funnel {
	f := s.funnel
	f.Dropped = make(map[string]int, len(s.funnel.Dropped))
	for k, v := range s.funnel.Dropped {
		f.Dropped[k] = v
	}
	return f
}

// Next returns the next prompt that passes every filter.
func (s *FilteredSource) Next(ctx context.Context) (prefdata.Prompt, error) {
	for {
		if len(s.buf) == 0 {
			if err := s.fill(ctx); err != nil {
				return prefdata.Prompt{}, err
			}
		}
		r := s.buf[0]
		s.buf = s.buf[1:]
		switch {
		case r.rejected:
			s.funnel.Dropped[r.filter]++
			if s.onDrop != nil {
				s.onDrop(r.p, r.filter, r.reason)
			}
			continue
		case r.err != nil:
			var ie *prefdata.ItemError
			if errors.As(r.err, &ie) && r.filter == "" {
				s.funnel.Bad++
				return prefdata.Prompt{}, r.err
			}
			if err := stopError(r.p.ID, r.filter, r.err); err != nil {
				return prefdata.Prompt{}, err
			}
			s.funnel.Failed++
			return prefdata.Prompt{}, &prefdata.ItemError{Stage: prefdata.StagePrompt, Item: r.p.ID, Component: r.filter, Err: r.err}
		}
		s.funnel.Kept++
		return r.p, nil
	}
}

// fill reads the next batch and filters it. It returns io.EOF, ctx's error
// or a source error only when the batch is empty.
func (s *FilteredSource) fill(ctx context.Context) error {
	if err := s.srcErr; err != nil {
		s.srcErr = nil
		return err
	}
	var batch []filtered
	for len(batch) < s.n {
		p, err := s.src.Next(ctx)
		var ie *prefdata.ItemError
		if errors.As(err, &ie) {
			batch = append(batch, filtered{err: err})
			continue
		}
		if err != nil {
			if len(batch) == 0 {
				return err
			}
			s.srcErr = err // returned once this batch is out
			break
		}
		s.funnel.Read++
		if p.ID == "" {
			p.ID = prefdata.ContentID(p.Messages)
		}
		batch = append(batch, filtered{p: p})
	}
	if s.n == 1 {
		if batch[0].err == nil {
			s.apply(ctx, &batch[0])
		}
	} else {
		var wg sync.WaitGroup
		for i := range batch {
			if batch[i].err != nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.apply(ctx, &batch[i])
			}()
		}
		wg.Wait()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.buf = batch
	return nil
}

func (s *FilteredSource) apply(ctx context.Context, r *filtered) {
	for i, f := range s.filters {
		name := filterName(f, i)
		out, err := f.FilterPrompt(ctx, r.p)
		if reason, ok := prefdata.Rejection(err); ok {
			r.filter, r.rejected, r.reason = name, true, reason
			return
		}
		if err != nil {
			r.filter, r.err = name, err
			return
		}
		r.p = out
	}
}

// stopError returns err, naming the item and component, when it wraps
// [prefdata.ErrStopRun] (a spent cost budget), and nil otherwise. Sources
// return such an error as it is, so that it ends the run, rather than as
// the failure of one item.
func stopError(item, component string, err error) error {
	if !errors.Is(err, prefdata.ErrStopRun) {
		return nil
	}
	return fmt.Errorf("prompt: %s stopped at %s: %w", component, item, err)
}

func filterName(f prefdata.PromptFilter, i int) string {
	if n, ok := f.(prefdata.Namer); ok {
		return n.Name()
	}
	return "prompt-filter[" + strconv.Itoa(i) + "]"
}
