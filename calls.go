package prefdata

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
)

// JournalGenerator returns g with every Generate call journaled in the run
// directory of the [Pipeline] that calls the component using it: a judge's
// model, say. When a Pipeline with a Dir calls a component (a Filter, a
// Labeler, a PromptFilter, a Generator), the context it passes carries the
// run's journal; the wrapper writes each successful answer to [FileCalls]
// as soon as it arrives, keyed by g's identity (its [Fingerprinter] and
// [Namer]) and the request, and a later run reads it back instead of paying
// again, even if the run was killed before the component returned. A failed
// call is never written: it marks the component's output for this item as
// incomplete ([MarkIncomplete]), so the pipeline neither caches that output
// nor records the prompt as done, and the next run asks again.
//
// A g without a Fingerprint cannot be told apart from another generator's
// calls: JournalGenerator returns it unchanged. Outside a pipeline the
// wrapper just calls g. It keeps g's name, fingerprint and model (a
// Model() string method), so wrapping does not change the fingerprint of
// the judge built on it.
func JournalGenerator(g Generator) Generator {
	if _, ok := g.(Fingerprinter); !ok {
		return g
	}
	if _, ok := g.(journaledGenerator); ok {
		return g
	}
	return journaledGenerator{g, identity(g)}
}

// JournalScorer returns s with every Score call (a reward-model batch)
// journaled like [JournalGenerator]'s calls. A call that returns an error is
// not journaled (the scores it did make are still returned) and marks the
// output incomplete.
func JournalScorer(s Scorer) Scorer {
	if _, ok := s.(Fingerprinter); !ok {
		return s
	}
	if _, ok := s.(journaledScorer); ok {
		return s
	}
	return journaledScorer{s, identity(s)}
}

type journaledGenerator struct {
	g  Generator
	id string // identity(g), computed once
}

func (j journaledGenerator) Name() string        { return nameOf(j.g, "generator", 0) }
func (j journaledGenerator) Fingerprint() string { return j.g.(Fingerprinter).Fingerprint() }

// Model returns the wrapped generator's model, when it says.
func (j journaledGenerator) Model() string {
	if m, ok := j.g.(interface{ Model() string }); ok {
		return m.Model()
	}
	return ""
}

// Unwrap returns the wrapped generator.
func (j journaledGenerator) Unwrap() Generator { return j.g }

func (j journaledGenerator) Generate(ctx context.Context, p Prompt) ([]Response, error) {
	cj, _ := ctx.Value(callsKey{}).(*callJournal)
	id := j.id
	if cj == nil || id == "" {
		rs, err := j.g.Generate(ctx, p)
		if err != nil {
			MarkIncomplete(ctx)
		}
		return rs, err
	}
	key := hashN(32, "call/generate", id, p.ID, p.Messages, p.Options)
	var rs []Response
	if hit, err := cj.get(key, &rs); err != nil || hit {
		return rs, err
	}
	rs, err := j.g.Generate(ctx, p)
	if err != nil {
		MarkIncomplete(ctx)
		return rs, err
	}
	if err := cj.put(key, p.ID, j.Name(), rs); err != nil {
		return rs, err
	}
	return rs, nil
}

type journaledScorer struct {
	s  Scorer
	id string // identity(s), computed once
}

func (j journaledScorer) Name() string        { return nameOf(j.s, "scorer", 0) }
func (j journaledScorer) Fingerprint() string { return j.s.(Fingerprinter).Fingerprint() }

// Unwrap returns the wrapped scorer.
func (j journaledScorer) Unwrap() Scorer { return j.s }

// scoreInput is what a score call is keyed by: the responses' IDs and texts.
type scoreInput struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

func (j journaledScorer) Score(ctx context.Context, p Prompt, rs []Response) ([]Score, error) {
	cj, _ := ctx.Value(callsKey{}).(*callJournal)
	id := j.id
	if cj == nil || id == "" {
		scores, err := j.s.Score(ctx, p, rs)
		if err != nil {
			MarkIncomplete(ctx)
		}
		return scores, err
	}
	in := make([]scoreInput, len(rs))
	for i, r := range rs {
		in[i] = scoreInput{r.ID, r.Text}
	}
	key := hashN(32, "call/score", id, p.ID, p.Messages, in)
	var scores []Score
	if hit, err := cj.get(key, &scores); err != nil || hit {
		return scores, err
	}
	scores, err := j.s.Score(ctx, p, rs)
	if err != nil {
		MarkIncomplete(ctx)
		return scores, err
	}
	if err := cj.put(key, p.ID, j.Name(), scores); err != nil {
		return scores, err
	}
	return scores, nil
}

// identity is what tells a journaled component's calls from another's: its
// fingerprint and its name ("" without a fingerprint: not journaled).
func identity(x any) string {
	fp, ok := x.(Fingerprinter)
	if !ok {
		return ""
	}
	name := ""
	if n, ok := x.(Namer); ok {
		name = n.Name()
	}
	return Hash("identity", fp.Fingerprint(), name)[:32]
}

// MarkIncomplete tells the pipeline that the output a component is about to
// return for the item in ctx rests on a failure that is not a decision (a
// judge's request that failed after its retries, scored as "not scored"):
// the pipeline uses the output in this run but neither caches it nor records
// the prompt as done, so the next run computes it again (paying only for
// the calls that failed, when they are journaled). Components that call a
// Generator or Scorer wrapped by [JournalGenerator] or [JournalScorer] need
// not call it: the wrappers do. Outside a pipeline it does nothing.
func MarkIncomplete(ctx context.Context) {
	if f, ok := ctx.Value(incompleteKey{}).(*atomic.Bool); ok {
		f.Store(true)
	}
}

type (
	callsKey      struct{}
	incompleteKey struct{}
)

// withIncomplete returns a context for one component call and the flag
// MarkIncomplete sets.
func withIncomplete(ctx context.Context) (context.Context, *atomic.Bool) {
	f := new(atomic.Bool)
	return context.WithValue(ctx, incompleteKey{}, f), f
}

// errIncomplete is returned by a cached computation whose output must not
// be cached: cached passes it through with the output.
var errIncomplete = fmt.Errorf("prefdata: output incomplete")

// callJournal is a run's journal of calls, in FileCalls, indexed on disk by
// the run store.
type callJournal struct {
	r *run
}

func (r *run) newCallJournal() (*callJournal, error) {
	if err := r.p.Dir.Index(FileCalls); err != nil {
		return nil, err
	}
	return &callJournal{r: r}, nil
}

// get reads the journaled answer of the call with the key into v.
func (cj *callJournal) get(key string, v any) (bool, error) {
	d := cj.r.p.Dir
	rec, ok, err := d.Get(FileCalls, key)
	if err != nil {
		return false, cj.fatal(storageError(d, FileCalls, "read", err))
	}
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(rec.Value, v); err != nil {
		return false, cj.fatal(&StorageError{Op: "decode", Path: d.Path(FileCalls), Err: err})
	}
	cj.r.st.update(func(s *Stats) { s.Cached.Calls++ })
	return true, nil
}

// put journals the answer v of a call.
func (cj *callJournal) put(key, promptID, component string, v any) error {
	d := cj.r.p.Dir
	raw, err := marshal(v) // encoding/json's bytes, by hand for []Response
	if err != nil {
		return fmt.Errorf("prefdata: %s: encode %s answer: %w", FileCalls, component, err)
	}
	err = d.Put(FileCalls, CacheRecord{Key: key, PromptID: promptID, Component: component, Run: cj.r.runID, Value: raw})
	putBuf(raw)
	if err != nil {
		return cj.fatal(storageError(d, FileCalls, "append", err))
	}
	cj.r.st.update(func(s *Stats) { s.Calls++ })
	return nil
}

// fatal stops the run with a storage failure: a component may turn the
// error its call returned into a drop, so the run must hear it this way.
func (cj *callJournal) fatal(err error) error {
	cj.r.stop(err)
	return err
}
