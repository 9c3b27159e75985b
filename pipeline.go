package prefdata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Limits bounds the work a [Pipeline] does at once. Zero fields take the
// defaults shown.
type Limits struct {
	// Prompt is the number of prompts at once in the stage-1 filters that
	// have a fingerprint (stateless: an LLM classifier), their order kept
	// (default 8). Filters without one (dedup) always see prompts one at a
	// time, in source order.
	Prompt int
	// Generate is the number of Generate calls in flight (default 16).
	Generate int
	// Filter is the number of candidates in stage 3 and labeling at once
	// (default 16).
	Filter int
	// Window is the number of prompts at once between stage 1 and the sink
	// (default 2×Generate + 2×Filter, at least 64). Pairs reach the sink in
	// source order: a prompt that finishes early waits in a reorder buffer
	// of at most Window prompts for the ones before it.
	Window int
}

func (l Limits) withDefaults() Limits {
	if l.Prompt <= 0 {
		l.Prompt = 8
	}
	if l.Generate <= 0 {
		l.Generate = 16
	}
	if l.Filter <= 0 {
		l.Filter = 16
	}
	if l.Window <= 0 {
		l.Window = max(64, 2*l.Generate+2*l.Filter)
	}
	return l
}

// ErrorBudget bounds how many prompts may fail before a run gives up. Its
// one unit is the prompt: a prompt has failed when any of its items did (a
// bad source line, a prompt filter, one of its generations, a stage-3 filter
// or the labeler on its candidate), however many responses that item held;
// [Stats.FailedPrompts] counts them. The zero value lets any number fail:
// every failure is still recorded.
type ErrorBudget struct {
	// MaxFailures stops the run when more than this many prompts have
	// failed (0: no limit).
	MaxFailures int
	// MaxFraction stops the run when the failed prompts exceed this fraction
	// of the prompts read, once at least MinItems prompts have been read, and
	// at the end of the run (0: no limit).
	MaxFraction float64
	// MinItems is the number of prompts read before MaxFraction applies
	// during the run (default 20).
	MinItems int
}

// Pipeline wires the four stages: Source → PromptFilters (stage 1) →
// Generators (stage 2, every prompt goes to every generator) → Filters
// (stage 3) → Labeler → Sink, with the pairs the Labeler is unsure of going to
// the human queue (stage 4). Set the fields, then call Run. A Pipeline must
// not be changed while it runs.
type Pipeline struct {
	Source        PromptSource
	PromptFilters []PromptFilter
	Generators    []Generator
	Filters       []Filter
	Labeler       Labeler
	// Sink receives the pairs labeled by AI (and, on a rerun, the pairs of
	// prompts finished before, read back from Dir): give it a fresh output
	// each run. It may be nil when Dir is set.
	Sink Sink
	// Queue, if set, also receives the pairs that need people, as they come;
	// they are always appended to Dir's queue file.
	Queue Sink
	// Dir is the run directory. With one, every unit of work is journaled
	// and a rerun resumes; without one, nothing is kept.
	Dir    *RunDir
	Limits Limits
	Budget ErrorBudget
	Hooks  Hooks
	// Logger receives a line at the start and end of a run and one per
	// failure; nil discards.
	Logger *slog.Logger
	// FiltersOnly stops every prompt after stage 3: the filters run (and are
	// journaled, so the next run reads them back), the Labeler is not
	// called (it may be nil), no pair is made and no prompt counts as
	// finished, so prompts finished by an earlier run go through the
	// filters again too. A caller that must see every candidate before it
	// labels any (routing by a goal over the whole set) runs the pipeline
	// once with FiltersOnly and a last filter that collects the candidates,
	// then again without (with a Memo, the second run labels the candidates
	// the first one kept instead of reading them back).
	FiltersOnly bool
	// Memo, if set, keeps the candidates of a FiltersOnly run in memory,
	// and gives them to the labeling run after it (of the same stages 1-3,
	// with the same memo), which then does not read them back from Dir. It
	// keeps that run's stage 1 too: the labeling run replays its selection
	// instead of reading Source and running the prompt filters again (see
	// [CandidateMemo]).
	// A FiltersOnly run with a Memo does not wait for Dir to be synced to
	// disk: the labeling run after it starts that sync in the background
	// once it has written its manifest, and its end (or Dir.Sync, or
	// Dir.Close) waits for it, returns its error, and syncs the rest. The
	// lines are in the files for any reader meanwhile.
	Memo *CandidateMemo
	// AddStats, if set, is called once at the end of a run, before the
	// manifest is written, to add the figures only a component knows (a
	// judge cascade's calls saved, a router's predicted accuracy).
	AddStats func(*Stats)
}

// job is what travels between the stages: a prompt, then its candidate; or
// the pairs of a prompt finished in an earlier run, to replay to the sink.
type job struct {
	seq    int64 // position among the prompts that passed stage 1
	pos    int64 // position in the source
	prompt Prompt
	// doneKey is the key of the prompt's done record, with a Dir.
	doneKey string
	cand    Candidate
	// memo: cand is the one a FiltersOnly run finished (Pipeline.Memo),
	// to label as it is.
	memo bool
	// gens are the prompt's generations, one per generator, with where
	// FileResponses holds each (pairs refer to them there); for a
	// candidate from the memo, those of the run that kept it.
	gens   []genRecord
	replay []Pair
	// incomplete: some call for the prompt failed (a generator, a judge's
	// request); its pairs are written but it is not recorded as done, so the
	// next run retries what failed.
	incomplete bool
	// failed: the prompt is counted in Stats.FailedPrompts already.
	failed bool
	// dead: the prompt ended before labeling (every generator failed, or
	// its candidate failed): nothing to write.
	dead bool
}

type outcome struct {
	job
	pairs       []Pair
	filtersOnly bool // Pipeline.FiltersOnly: not labeled, not finished
}

// Run runs the pipeline until the source ends, ctx is done, or the error
// budget is spent. It returns the run's stats in every case. Items that fail
// are recorded and do not stop the run; the error is non-nil only when the run
// as a whole did not finish (ctx's error, a source or sink error, the budget).
// Whatever finished before an error is in the run directory and is not done
// again by the next Run.
func (p *Pipeline) Run(ctx context.Context) (Stats, error) {
	r, err := p.newRun()
	if err != nil {
		return Stats{}, err
	}
	r.log.Info("prefdata: run start", "generators", len(p.Generators), "filters", len(p.Filters), "resume_done", r.resumeDone())

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.stop = cancel
	if r.calls != nil {
		ctx = context.WithValue(ctx, callsKey{}, r.calls)
	}
	g, gctx := errgroup.WithContext(ctx)
	read := make(chan sourced, selectBatch)
	selected := make(chan job, selectBatch)
	cands := make(chan job, r.limits.Filter)
	outs := make(chan outcome, r.limits.Filter)
	if sel, ok := r.replayable(); ok {
		// The FiltersOnly run's stage 1, replayed: the source is not read.
		g.Go(func() error { defer close(selected); return r.replay(gctx, sel, selected) })
	} else {
		g.Go(func() error { defer close(read); return r.read(gctx, read) })
		g.Go(func() error { defer close(selected); return r.selectPrompts(gctx, read, selected) })
	}
	toGenerate := selected
	if r.p.Dir != nil && !r.p.FiltersOnly && r.resumeDone() > 0 {
		// Some prompts are done: each is looked up, in parallel.
		looked := make(chan job, selectBatch)
		g.Go(func() error { defer close(looked); return r.findDone(gctx, selected, looked) })
		toGenerate = looked
	}
	g.Go(func() error { defer close(cands); return r.generate(gctx, toGenerate, cands) })
	g.Go(func() error { defer close(outs); return r.filterAndLabel(gctx, cands, outs) })
	g.Go(func() error { return r.write(gctx, outs) })
	err = g.Wait()
	if cause := context.Cause(ctx); isStorage(cause) {
		// A storage failure seen inside a component (a journaled call)
		// stopped the run: it is the reason, not the cancellation it caused.
		err = cause
	}
	if err == nil {
		err = r.checkBudget(true)
	}
	return r.finish(err)
}

// run is the state of one Run.
type run struct {
	p      *Pipeline
	limits Limits
	log    *slog.Logger
	st     *stats
	runKey string
	// stage1Key identifies the prompt filters: a labeling run replays a
	// memo's stage 1 only if made by the same ones.
	stage1Key string
	genNames  []string
	fltNames  []string
	lblName   string
	// window holds a token for each prompt between stage 1 and the sink.
	window chan struct{}
	seq    int64 // next job.seq, set by selected (one goroutine)
	// stop cancels the run with a cause: a storage failure that a
	// component's journaled call could only report this way.
	stop context.CancelCauseFunc
	// genKeys tells apart, in the cache, generators that share a
	// fingerprint (one model on two endpoints, named apart): their names.
	genKeys []string
	calls   *callJournal // FileCalls, with Dir

	// The resume state is in the run directory's on-disk indexes, not in
	// memory: runID names this run's records.
	runID    string
	promptMu sync.Mutex // one check-and-append of FilePrompts at a time
	queueMu  sync.Mutex // one check-and-append of FileQueue at a time
	// tally is the sink stage's counts, its goroutine's alone, added to st
	// a batch at a time.
	tally sinkTally
}

func (p *Pipeline) newRun() (*run, error) {
	switch {
	case p.Source == nil:
		return nil, errors.New("prefdata: Pipeline.Source is nil")
	case len(p.Generators) == 0:
		return nil, errors.New("prefdata: Pipeline has no Generators")
	case p.Labeler == nil && !p.FiltersOnly:
		return nil, errors.New("prefdata: Pipeline.Labeler is nil")
	case p.Sink == nil && p.Dir == nil:
		return nil, errors.New("prefdata: Pipeline needs a Sink or a Dir")
	}
	r := &run{p: p, limits: p.Limits.withDefaults(), log: p.Logger, st: newStats()}
	r.window = make(chan struct{}, r.limits.Window)
	if r.log == nil {
		r.log = slog.New(discardHandler{})
	}
	var keyParts []any
	for i, x := range p.PromptFilters {
		keyParts = append(keyParts, componentKey(x, "prompt-filter", i))
	}
	r.stage1Key = Hash(append([]any{"stage 1"}, keyParts...)...)
	for i, x := range p.Generators {
		r.genNames = append(r.genNames, nameOf(x, "generator", i))
		keyParts = append(keyParts, componentKey(x, "generator", i))
	}
	for i, x := range p.Filters {
		r.fltNames = append(r.fltNames, nameOf(x, "filter", i))
		keyParts = append(keyParts, componentKey(x, "filter", i))
	}
	if err := r.generatorIdentities(); err != nil {
		return nil, err
	}
	r.lblName = nameOf(p.Labeler, "labeler", 0)
	keyParts = append(keyParts, componentKey(p.Labeler, "labeler", 0))
	r.runKey = Hash(keyParts...)[:32]
	if p.Dir != nil {
		if err := r.load(); err != nil {
			return nil, err
		}
		var err error
		if r.calls, err = r.newCallJournal(); err != nil {
			return nil, err
		}
		m, ok, err := p.Dir.ReadManifest()
		if err != nil {
			p.Dir.Unlock()
			return nil, err
		}
		now := time.Now().UTC()
		if !ok {
			m = Manifest{Version: 1, Created: now}
		}
		m.Updated, m.Started, m.RunKey, m.RunID = now, now, r.runKey, r.runID
		m.Generators, m.Filters, m.Labeler = r.genNames, r.fltNames, r.lblName
		if err := p.Dir.WriteManifest(m); err != nil {
			p.Dir.Unlock()
			return nil, err
		}
		// What a FiltersOnly run with a Memo left unsynced goes to disk
		// now, while this run works; after the manifest, whose fsync would
		// otherwise wait behind it.
		p.Dir.startDeferredSync()
	}
	return r, nil
}

func nameOf(x any, kind string, i int) string {
	if n, ok := x.(Namer); ok {
		return n.Name()
	}
	return fmt.Sprintf("%s[%d]", kind, i)
}

// componentKey identifies a component's configuration for the run key.
func componentKey(x any, kind string, i int) string {
	if f, ok := x.(Fingerprinter); ok {
		return kind + ":" + f.Fingerprint()
	}
	return fmt.Sprintf("%s[%d]:%s:%T", kind, i, nameOf(x, kind, i), x)
}

// load locks the run directory and opens its on-disk indexes for resume
// (building them, by one scan, for a directory written without them).
func (r *run) load() error {
	d := r.p.Dir
	if err := d.Lock(); err != nil {
		return err
	}
	host, _ := os.Hostname()
	// Short: it is on every record. The manifest has the time and place.
	r.runID = Hash(time.Now().UnixNano(), host, os.Getpid())[:12]
	for _, file := range []string{FilePairs, FileStage1, FileResponses, FileScores, FileLabels, FilePrompts, FileQueue} {
		if err := d.Index(file); err != nil {
			d.Unlock()
			return err
		}
	}
	return nil
}

// read is the source stage.
func (r *run) read(ctx context.Context, out chan<- sourced) error {
	for pos := int64(0); ; pos++ {
		pr, err := r.p.Source.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, ErrStopRun) {
			return stopRun(StagePrompt, "source", nameOf(r.p.Source, "source", 0), err)
		}
		var re *RejectError
		if errors.As(err, &re) && re.Prompt != nil {
			dropped := *re.Prompt
			if dropped.ID == "" {
				dropped.ID = ContentID(dropped.Messages)
			}
			by := re.By
			if by == "" {
				by = nameOf(r.p.Source, "source", 0)
			}
			r.st.update(func(s *Stats) { s.Prompt.In++; s.Prompt.drop(by, 1) })
			if err := r.recordPrompt(PromptRecord{Prompt: dropped, DroppedBy: by, Reason: re.Reason}); err != nil {
				return err
			}
			r.progress()
			continue
		}
		var ie *ItemError
		if errors.As(err, &ie) {
			r.st.update(func(s *Stats) { s.Prompt.In++; s.Prompt.Failed++ })
			if err := r.fail(StagePrompt, ie.Item, ie.Component, ie.Err, true); err != nil {
				return err
			}
			r.progress()
			continue
		}
		if err != nil {
			return fmt.Errorf("prefdata: prompt source: %w", err)
		}
		r.st.update(func(s *Stats) { s.Prompt.In++ })
		if pr.ID == "" {
			pr.ID = ContentID(pr.Messages)
		}
		if err := send(ctx, out, sourced{pos, pr}); err != nil {
			return err
		}
	}
}

// sourced is a prompt with its position in the source (every item the
// source yielded counts, kept, dropped or bad): the same on every machine of
// a sharded run, so the shards' pairs merge in source order.
type sourced struct {
	pos int64
	pr  Prompt
}

// selectPrompts is stage 1. The prompt filters are cut into segments: a run
// of filters with a fingerprint (stateless: an LLM classifier) works on up to
// Limits.Prompt prompts at once, keeping their order; a filter without one
// (dedup) sees prompts one at a time, in source order.
func (r *run) selectPrompts(ctx context.Context, in <-chan sourced, out chan<- job) error {
	g, ctx := errgroup.WithContext(ctx)
	cur := in
	for _, seg := range r.segments() {
		next := make(chan sourced)
		src := cur
		g.Go(func() error {
			defer close(next)
			if seg.parallel && r.limits.Prompt > 1 {
				return r.parallelSegment(ctx, seg.filters, src, next)
			}
			for sp := range src {
				pr, keep, err := r.applyPromptFilters(ctx, seg.filters, sp.pr)
				if err != nil {
					return err
				}
				if keep {
					if err := send(ctx, next, sourced{sp.pos, pr}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		cur = next
	}
	g.Go(func() error {
		// The prompts that have arrived are taken together: their records
		// are appended in one write.
		batch := make([]sourced, 0, selectBatch)
		for sp := range cur {
			batch = append(batch[:0], sp)
		more:
			for len(batch) < cap(batch) {
				select {
				case sp, ok := <-cur:
					if !ok {
						break more
					}
					batch = append(batch, sp)
				default:
					break more
				}
			}
			if err := r.selected(ctx, batch, out); err != nil {
				return err
			}
		}
		return nil
	})
	return g.Wait()
}

type segment struct {
	filters  []int // indices into PromptFilters
	parallel bool
}

// segments cuts the prompt filters into runs of stateless (fingerprinted)
// and stateful ones.
func (r *run) segments() []segment {
	var segs []segment
	for i, f := range r.p.PromptFilters {
		_, parallel := f.(Fingerprinter)
		if n := len(segs); n > 0 && segs[n-1].parallel == parallel {
			segs[n-1].filters = append(segs[n-1].filters, i)
			continue
		}
		segs = append(segs, segment{filters: []int{i}, parallel: parallel})
	}
	return segs
}

// parallelSegment runs stateless filters on up to Limits.Prompt prompts at
// once and passes the kept ones on in their input order.
func (r *run) parallelSegment(ctx context.Context, filters []int, in <-chan sourced, out chan<- sourced) error {
	type slot struct {
		sourced
		keep bool
		done chan struct{}
	}
	g, ctx := errgroup.WithContext(ctx)
	// The collector holds one slot and the channel the rest: at most
	// Limits.Prompt slots are being worked on.
	pending := make(chan *slot, r.limits.Prompt-1)
	g.Go(func() error {
		defer close(pending)
		for sp := range in {
			s := &slot{sourced: sp, done: make(chan struct{})}
			if err := send(ctx, pending, s); err != nil {
				return err
			}
			g.Go(func() error {
				defer close(s.done)
				var err error
				s.pr, s.keep, err = r.applyPromptFilters(ctx, filters, sp.pr)
				return err
			})
		}
		return nil
	})
	g.Go(func() error {
		for s := range pending {
			select {
			case <-s.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if s.keep {
				if err := send(ctx, out, s.sourced); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return g.Wait()
}

// applyPromptFilters runs the filters with the given indices on pr, in
// order. keep is false when one rejected pr or failed on it (both recorded);
// err is non-nil only when the run must stop.
func (r *run) applyPromptFilters(ctx context.Context, filters []int, pr Prompt) (_ Prompt, keep bool, err error) {
	for _, i := range filters {
		f := r.p.PromptFilters[i]
		name := nameOf(f, "prompt-filter", i)
		in := pr
		res, hit, err := cached(r, FileStage1, f, []any{in}, in.ID, name, nil, func() (Stage1Result, error) {
			fctx, incomplete := withIncomplete(ctx)
			next, err := f.FilterPrompt(fctx, in)
			if reason, ok := Rejection(err); ok {
				return Stage1Result{Prompt: in, Rejected: true, Reason: reason}, uncachedIf(incomplete, nil)
			}
			return Stage1Result{Prompt: next}, uncachedIf(incomplete, err)
		})
		if errors.Is(err, errIncomplete) {
			err = nil // used, not cached: the next run asks again
		}
		if isStorage(err) {
			return pr, false, err
		}
		if errors.Is(err, ErrStopRun) {
			return pr, false, stopRun(StagePrompt, pr.ID, name, err)
		}
		if ctx.Err() != nil {
			return pr, false, ctx.Err()
		}
		if hit {
			r.st.update(func(s *Stats) { s.Cached.PromptFilters++ })
		}
		if err == nil && res.Rejected {
			r.st.update(func(s *Stats) { s.Prompt.drop(name, 1) })
			if err := r.recordPrompt(PromptRecord{Prompt: pr, DroppedBy: name, Reason: res.Reason}); err != nil {
				return pr, false, err
			}
			r.progress()
			return pr, false, nil
		}
		if err != nil {
			r.st.update(func(s *Stats) { s.Prompt.Failed++ })
			if err := r.fail(StagePrompt, pr.ID, name, err, true); err != nil {
				return pr, false, err
			}
			r.progress()
			return pr, false, nil
		}
		pr = res.Prompt
	}
	return pr, true, nil
}

// selectBatch is the most prompts stage 1 passes on at once (and the
// buffer of prompts read ahead of it).
const selectBatch = 32

// selected passes prompts that survived stage 1 on: to generation, or, when
// an earlier run finished them, as pairs to replay.
func (r *run) selected(ctx context.Context, batch []sourced, out chan<- job) error {
	r.st.update(func(s *Stats) { s.Prompt.Out += len(batch) })
	if r.p.Dir != nil {
		var buf [selectBatch]PromptRecord
		recs := buf[:0]
		for _, sp := range batch {
			recs = append(recs, PromptRecord{Prompt: sp.pr})
		}
		if err := r.recordPrompts(recs); err != nil {
			return err
		}
	}
	if r.p.FiltersOnly && r.p.Memo != nil {
		r.p.Memo.addSelected(batch)
	}
	for _, sp := range batch {
		if err := r.emit(ctx, sp, out); err != nil {
			return err
		}
	}
	return nil
}

// emit passes a prompt stage 1 selected on to stage 2.
func (r *run) emit(ctx context.Context, sp sourced, out chan<- job) error {
	pr := sp.pr
	r.itemDone(StagePrompt, pr.ID)
	// A token of the window: released when the sink stage is done with
	// the prompt, so the reorder buffer never holds more than
	// Limits.Window.
	select {
	case r.window <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	j := job{seq: r.seq, pos: sp.pos, prompt: pr}
	r.seq++
	if r.p.Dir != nil {
		j.doneKey = r.doneKey(pr)
	}
	return send(ctx, out, j)
}

// replayable returns, for a labeling run with a Memo, the stage 1 of the
// FiltersOnly run before it, if made by the same prompt filters and whole;
// a FiltersOnly run with a Memo starts keeping its own.
func (r *run) replayable() (selection, bool) {
	switch {
	case r.p.Memo == nil:
		return selection{}, false
	case r.p.FiltersOnly:
		r.p.Memo.startSelection(r.stage1Key)
		return selection{}, false
	}
	return r.p.Memo.takeSelection(r.stage1Key)
}

// replay is stage 1 of a labeling run that replays the FiltersOnly run's:
// its figures are that run's, its prompts (recorded by it) go on to stage
// 2 in the same order.
func (r *run) replay(ctx context.Context, sel selection, out chan<- job) error {
	r.st.update(func(s *Stats) {
		s.Prompt = sel.prompt
		s.Prompt.Dropped = maps.Clone(sel.prompt.Dropped)
		s.Cached.PromptFilters = sel.cached
		// Each prompt stage 1 failed on was its prompt's first failure.
		s.FailedPrompts += sel.prompt.Failed
	})
	if r.p.Hooks.Progress != nil && sel.prompt.In > sel.prompt.Out {
		// The prompts stage 1 finished (dropped or failed) are done.
		r.st.update(func(*Stats) { r.st.done += sel.prompt.In - sel.prompt.Out })
		r.p.Hooks.Progress(r.st.progress())
	}
	for _, sp := range sel.prompts {
		if err := r.emit(ctx, sp, out); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) recordPrompt(rec PromptRecord) error { return r.recordPrompts([]PromptRecord{rec}) }

// recordPrompts appends the records of prompts not recorded before, in one
// write.
func (r *run) recordPrompts(recs []PromptRecord) error {
	if r.p.Dir == nil {
		return nil
	}
	r.promptMu.Lock()
	defer r.promptMu.Unlock()
	var (
		kbuf  [selectBatch]string
		lbuf  [selectBatch][]byte
		keys  = kbuf[:0]
		lines = lbuf[:0]
	)
	defer func() {
		for _, l := range lines {
			putBuf(l)
		}
	}()
	for _, rec := range recs {
		rec.V, rec.Key = RecordVersion, PromptKey(rec.Prompt)
		if slices.Contains(keys, rec.Key) {
			continue
		}
		if seen, err := r.p.Dir.Has(FilePrompts, rec.Key); err != nil || seen {
			if err != nil {
				return err
			}
			continue
		}
		e := enc{b: getBuf()}
		if e.promptRecord(&rec); e.err != nil {
			putBuf(e.b)
			var err error
			if e.b, err = json.Marshal(rec); err != nil {
				return &StorageError{Op: "encode record for", Path: r.p.Dir.Path(FilePrompts), Err: err}
			}
		}
		keys, lines = append(keys, rec.Key), append(lines, e.b)
	}
	if len(lines) == 0 {
		return nil
	}
	return r.p.Dir.appendLines(FilePrompts, keys, lines)
}

// doneWorkers is the number of prompts findDone looks up at once: the work
// is the processor's (reading and decoding lines the OS has cached).
const doneWorkers = 4

// findDone passes the prompts from stage 1 on, those an earlier run of
// this configuration finished with the pairs to replay (read back and
// filled in by several workers: a resumed run's main work). Their order
// changes; the sink stage puts them back in source order.
func (r *run) findDone(ctx context.Context, in <-chan job, out chan<- job) error {
	g, ctx := errgroup.WithContext(ctx)
	for range doneWorkers {
		g.Go(func() error {
			for j := range in {
				rec, ok, err := r.donePairs(j.doneKey)
				if err != nil {
					return err
				}
				if ok {
					j.replay = rec.Pairs
					if j.replay == nil {
						j.replay = []Pair{}
					}
				}
				if err := send(ctx, out, j); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// donePairs returns the pairs record of a prompt finished by an earlier run
// of this configuration.
func (r *run) donePairs(key string) (PairsRecord, bool, error) {
	line, _, ok, err := r.p.Dir.lookupAt(FilePairs, key, false, getBuf())
	if err != nil || !ok {
		return PairsRecord{}, false, err
	}
	defer putBuf(line)  // the record's strings are copies
	var rec PairsRecord // declared here: a miss allocates nothing
	if unmarshalPairsRecord(line, &rec) != nil || rec.Key != key {
		return PairsRecord{}, false, nil // a fragment: the prompt is done again
	}
	// Responses given by reference are filled in, so the Sink gets the
	// pairs whole; a record they cannot be read from does the prompt again
	// (its generation is looked up in the cache as usual).
	if r.p.Dir.FillRefs(rec.Pairs, rec.Sources) != nil {
		return PairsRecord{}, false, nil
	}
	return rec, true, nil
}

// resumeDone returns how many prompts the run directory has finished.
func (r *run) resumeDone() int {
	if r.p.Dir == nil {
		return 0
	}
	x, err := r.p.Dir.index(FilePairs)
	if err != nil {
		return 0
	}
	return x.Len()
}

func (r *run) doneKey(pr Prompt) string {
	return hashN(32, "done", r.runKey, pr.ID, pr.Messages)
}

// generate is stage 2: every prompt goes to every generator, with at most
// Limits.Generate calls in flight. A prompt's candidate moves on when its
// last generator returns.
func (r *run) generate(ctx context.Context, in <-chan job, out chan<- job) error {
	g, ctx := errgroup.WithContext(ctx)
	// Limits.Generate workers, each taking one (prompt, generator) at a
	// time.
	type task struct {
		a *assembly
		i int
	}
	tasks := make(chan task, r.limits.Generate)
	for range r.limits.Generate {
		g.Go(func() error {
			for t := range tasks {
				if err := r.generateOne(ctx, t.a, t.i, out); err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(tasks)
		for j := range in {
			if ctx.Err() != nil {
				return nil
			}
			if r.p.Memo != nil && !r.p.FiltersOnly {
				// Taken either way: a prompt done before is replayed.
				c, gens, ok := r.p.Memo.take(PromptKey(j.prompt))
				if j.replay == nil {
					j.cand, j.gens, j.memo = c, gens, ok
				}
			}
			if j.replay != nil || j.memo {
				if err := send(ctx, out, j); err != nil {
					return nil
				}
				continue
			}
			a := &assembly{seq: j.seq, pos: j.pos, prompt: j.prompt, doneKey: j.doneKey}
			if a.gens = a.one[:]; len(r.p.Generators) > 1 {
				a.gens = make([]genRecord, len(r.p.Generators))
			}
			a.pending.Store(int32(len(r.p.Generators)))
			for i := range r.p.Generators {
				if err := send(ctx, tasks, task{a, i}); err != nil {
					return nil
				}
			}
		}
		return nil
	})
	return g.Wait()
}

// genRecord is one generator's responses to a prompt and, when the run
// directory holds them (a fingerprinted generator), the FileResponses record
// they are in: Key empty when it does not.
type genRecord struct {
	rs  []Response
	ref RecordRef
}

// assembly gathers one prompt's responses from all generators.
type assembly struct {
	seq, pos   int64
	prompt     Prompt
	doneKey    string
	gens       []genRecord // one per generator: one, or a slice of its own
	one        [1]genRecord
	failed     atomic.Bool
	incomplete atomic.Bool
	pending    atomic.Int32
}

func (r *run) generateOne(ctx context.Context, a *assembly, i int, out chan<- job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	gen, name, pr := r.p.Generators[i], r.genNames[i], a.prompt
	item := pr.ID + "/" + name
	r.st.update(func(s *Stats) { s.Generate.In++; s.countGen(name, func(g *StageStats) { g.In++ }) })
	input := []any{pr.ID, pr.Messages}
	if r.genKeys[i] != "" {
		input = append(input, r.genKeys[i])
	}
	var at *RecordRef
	if r.p.Dir != nil {
		at = &a.gens[i].ref
	}
	rs, hit, err := cached(r, FileResponses, gen, input, pr.ID, name, at, func() ([]Response, error) {
		gctx, incomplete := withIncomplete(ctx)
		rs, err := gen.Generate(gctx, pr)
		if cerr := checkResponses("generator "+name, pr.ID, rs); cerr != nil {
			return nil, errors.Join(cerr, err) // none of them is trusted
		}
		return rs, uncachedIf(incomplete, err)
	})
	if errors.Is(err, errIncomplete) {
		err = nil
		a.incomplete.Store(true) // not done: the next run asks again
	}
	if isStorage(err) {
		return err
	}
	if errors.Is(err, ErrStopRun) {
		return stopRun(StageGenerate, item, name, err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// The item's counts, in one update.
	failed := err != nil
	r.st.update(func(s *Stats) {
		if failed {
			s.Generate.Failed++
			s.countGen(name, func(g *StageStats) { g.Failed++ })
		} else {
			s.Generate.Out++
			s.countGen(name, func(g *StageStats) { g.Out++ })
		}
		s.Responses += len(rs)
		if hit {
			s.Cached.Generations++
			return
		}
		for _, resp := range rs {
			s.Usage[resp.Model] = s.Usage[resp.Model].Add(resp.Usage)
		}
	})
	if failed {
		first := a.failed.CompareAndSwap(false, true)
		if err := r.fail(StageGenerate, item, name, err, first); err != nil {
			return err
		}
	} else {
		r.itemDone(StageGenerate, item)
	}
	a.gens[i].rs = rs
	if a.pending.Add(-1) > 0 {
		return nil
	}
	// The last generator to return sends the candidate on.
	c := Candidate{Prompt: pr}
	n := 0
	for _, g := range a.gens {
		n += len(g.rs)
	}
	switch {
	case len(a.gens) == 1 && n > 0:
		// One generator: its responses are the candidate's, not copied
		// (filters and labelers never change a candidate's slices in
		// place; an append goes past them), and no other generator's IDs
		// can collide with them.
		rs := a.gens[0].rs
		c.Responses = rs[:len(rs):len(rs)]
	case n > 0:
		c.Responses = make([]Response, 0, n)
	}
	var owner idOwners
	if n > len(owner.small) {
		owner.m = make(map[string]int, n)
	}
	for k, g := range a.gens {
		if len(a.gens) == 1 {
			break
		}
		s := g.rs
		if dup := r.collision(&owner, k, s); dup != nil {
			// Two generators made one response ID: the later one's answers
			// cannot be told apart, so its item fails.
			first := a.failed.CompareAndSwap(false, true)
			r.st.update(func(s *Stats) { s.Generate.Failed++; s.countGen(r.genNames[k], func(g *StageStats) { g.Failed++ }) })
			if err := r.fail(StageGenerate, pr.ID+"/"+r.genNames[k], r.genNames[k], dup, first); err != nil {
				return err
			}
			continue
		}
		c.Responses = append(c.Responses, s...)
	}
	failed = a.failed.Load()
	if len(c.Responses) == 0 {
		// Every generator failed: the prompt ends here.
		return send(ctx, out, job{seq: a.seq, pos: a.pos, prompt: pr, doneKey: a.doneKey, dead: true, failed: failed, incomplete: true})
	}
	return send(ctx, out, job{seq: a.seq, pos: a.pos, prompt: pr, doneKey: a.doneKey, cand: c, gens: a.gens, incomplete: failed || a.incomplete.Load(), failed: failed})
}

// cached calls compute, or reads its result back from the run directory when
// the component has a fingerprint and the same input was done before. Only
// successful results are cached.
//
// at, if not nil, is set to the record that holds the result (read or
// written).
func cached[T any](r *run, file string, component any, input []any, promptID, name string, at *RecordRef, compute func() (T, error)) (v T, hit bool, err error) {
	fp, ok := component.(Fingerprinter)
	if r.p.Dir == nil || !ok {
		v, err = compute()
		return v, false, err
	}
	key := cacheKey(file, fp, input)
	rec, off, hit, err := r.p.Dir.get(file, key)
	if err != nil {
		return v, false, err
	}
	if hit {
		// Decoded into got, not v: only a hit puts the output on the heap.
		var got T
		if !decodeOutput(rec.Value, &got) {
			if err := json.Unmarshal(rec.Value, &got); err != nil {
				return v, false, &StorageError{Op: "decode " + name + " output in", Path: r.p.Dir.Path(file), Err: err}
			}
		}
		if rec.Refs {
			known := newRefSet(inputResponses(input))
			ExpandRefs(&got, func(id string) (Response, bool) {
				k := known.lookup(id)
				if k == nil {
					return Response{}, false
				}
				return *k, true
			})
		}
		if at != nil {
			*at = RecordRef{Key: key, Offset: off}
		}
		return got, true, nil
	}
	v, err = compute()
	if err != nil {
		return v, false, err
	}
	// Responses the component returns unchanged are stored as references.
	raw, refs, err := encodeOutput(&v, input)
	if err != nil {
		return v, false, fmt.Errorf("prefdata: %s: encode %s output: %w", file, name, err)
	}
	off, err = r.p.Dir.put(file, CacheRecord{Key: key, PromptID: promptID, Component: name, Run: r.runID, Refs: refs, Value: raw})
	putBuf(raw)
	if err == nil && at != nil {
		*at = RecordRef{Key: key, Offset: off}
	}
	return v, false, err
}

// filterAndLabel is stage 3 and the AI half of labeling, with at most
// Limits.Filter candidates at once.
func (r *run) filterAndLabel(ctx context.Context, in <-chan job, out chan<- outcome) error {
	g, ctx := errgroup.WithContext(ctx)
	for range r.limits.Filter {
		g.Go(func() error {
			for j := range in {
				o, ok, err := r.filterAndLabelOne(ctx, j)
				if err != nil {
					return err
				}
				if !ok {
					o = outcome{job: j}
					o.dead, o.failed, o.incomplete = true, true, true
				}
				if err := send(ctx, out, o); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// filterAndLabelOne returns ok false when the candidate failed.
func (r *run) filterAndLabelOne(ctx context.Context, j job) (outcome, bool, error) {
	o := outcome{job: j}
	if j.replay != nil || j.dead {
		return o, true, nil
	}
	c := j.cand
	// The candidate's counts, added in one update when it is done.
	var t struct{ filterIn, filterOut, filterFailed, cachedFilters, labelIn, labelOut, labelFailed, cachedLabels int }
	defer r.st.update(func(s *Stats) {
		s.Filter.In += t.filterIn
		s.Filter.Out += t.filterOut
		s.Filter.Failed += t.filterFailed
		s.Cached.Filters += t.cachedFilters
		s.Label.In += t.labelIn
		s.Label.Out += t.labelOut
		s.Label.Failed += t.labelFailed
		s.Cached.Labels += t.cachedLabels
	})
	filters := r.p.Filters
	if j.memo {
		filters = nil // done by the FiltersOnly run, and counted there
	} else {
		t.filterIn = len(c.Responses)
	}
	for i, f := range filters {
		if len(c.Responses) == 0 {
			break
		}
		name := r.fltNames[i]
		in := c
		next, hit, err := cached(r, FileScores, f, []any{in}, c.Prompt.ID, name, nil, func() (Candidate, error) {
			fctx, incomplete := withIncomplete(ctx)
			out, err := f.Filter(fctx, in)
			if err == nil {
				err = checkCandidate("filter "+name, in, out)
			}
			return out, uncachedIf(incomplete, err)
		})
		if errors.Is(err, errIncomplete) {
			// A call behind this output failed: use it, do not cache it,
			// and do not count the prompt as done.
			err, o.incomplete = nil, true
		}
		if isStorage(err) {
			return o, false, err
		}
		if errors.Is(err, ErrStopRun) {
			return o, false, stopRun(StageFilter, c.Prompt.ID, name, err)
		}
		if ctx.Err() != nil {
			return o, false, ctx.Err()
		}
		if _, ok := Rejection(err); ok {
			r.st.update(func(s *Stats) { s.Filter.drop(name, len(in.Responses)) })
			return o, true, nil // rejected: done, with no pairs
		}
		if err != nil {
			t.filterFailed += len(in.Responses)
			return o, false, r.fail(StageFilter, c.Prompt.ID, name, err, !j.failed)
		}
		c = next
		if hit {
			t.cachedFilters++
		}
		for k := len(in.Dropped); k < len(c.Dropped); k++ {
			if c.Dropped[k].Filter == "" {
				c.Dropped[k].Filter = name
			}
			d := c.Dropped[k]
			r.st.update(func(s *Stats) { s.Filter.drop(d.Filter, 1) })
		}
	}
	if !j.memo {
		t.filterOut = len(c.Responses)
		r.itemDone(StageFilter, c.Prompt.ID)
	}
	if r.p.FiltersOnly {
		if r.p.Memo != nil && !o.incomplete {
			r.p.Memo.put(PromptKey(j.prompt), c, j.gens)
		}
		o.filtersOnly = true
		return o, true, nil
	}
	if len(c.Responses) == 0 {
		return o, true, nil
	}
	t.labelIn = 1
	pairs, hit, err := cached(r, FileLabels, r.p.Labeler, []any{c}, c.Prompt.ID, r.lblName, nil, func() ([]Pair, error) {
		lctx, incomplete := withIncomplete(ctx)
		pairs, err := r.p.Labeler.Label(lctx, c)
		if err == nil {
			err = checkPairs("labeler "+r.lblName, c, pairs)
		}
		return pairs, uncachedIf(incomplete, err)
	})
	if errors.Is(err, errIncomplete) {
		err, o.incomplete = nil, true
	}
	if isStorage(err) {
		return o, false, err
	}
	if errors.Is(err, ErrStopRun) {
		return o, false, stopRun(StageLabel, c.Prompt.ID, r.lblName, err)
	}
	if ctx.Err() != nil {
		return o, false, ctx.Err()
	}
	if err != nil {
		t.labelFailed = 1
		return o, false, r.fail(StageLabel, c.Prompt.ID, r.lblName, err, !j.failed)
	}
	if hit {
		t.cachedLabels = 1
	}
	for k := range pairs {
		pr := &pairs[k]
		if pr.ID == "" {
			pr.ID = PairID(c.Prompt.ID, pr.Chosen.ID, pr.Rejected.ID)
		}
		if pr.Provenance.Stage == 0 {
			pr.Provenance.Stage = StageFilter
		}
		if pr.Provenance.Labeler == "" {
			pr.Provenance.Labeler = r.lblName
		}
	}
	if len(pairs) > 0 {
		t.labelOut = 1
	}
	o.pairs = pairs
	return o, true, nil
}

// write is the sink stage: one goroutine, so the Sink is never called
// concurrently. Outcomes arrive in the order they finished; write passes
// them on in source order, holding the early ones (at most Limits.Window,
// the tokens taken in selected) until the ones before them arrive.
func (r *run) write(ctx context.Context, in <-chan outcome) error {
	// held is the reorder buffer: outcome seq at held[seq%len(held)]; the
	// window bounds how far ahead of next an outcome can be.
	held := make([]outcome, r.limits.Window)
	has := make([]bool, len(held))
	var next int64
	// The prompts written since the last flush: their done records are
	// appended together, in one write, then each counts as finished.
	var (
		lines    [][]byte // the done records, encoded
		keys     []string // their keys
		finished []finishedPrompt
	)
	flush := func() error {
		r.tally.addTo(r.st)
		var err error
		if len(lines) > 0 {
			if err = r.p.Dir.appendLines(FilePairs, keys, lines); err != nil {
				err = storageError(r.p.Dir, FilePairs, "append", err)
			}
		}
		for _, f := range finished {
			if err == nil && f.labeled {
				r.itemDone(StageLabel, f.id)
			}
			if err == nil || !f.labeled {
				r.progress()
			}
			<-r.window
		}
		for _, l := range lines {
			putBuf(l)
		}
		clear(lines)
		clear(keys)
		lines, keys, finished = lines[:0], keys[:0], finished[:0]
		return err
	}
	for in != nil {
		o, ok := <-in
		for ok {
			held[o.seq%int64(len(held))], has[o.seq%int64(len(held))] = o, true
			// Take what else has arrived, without waiting for it.
			select {
			case o, ok = <-in:
				if !ok {
					in = nil
				}
				continue
			default:
			}
			break
		}
		if !ok {
			in = nil
		}
		for {
			k := next % int64(len(held))
			if !has[k] || held[k].seq != next {
				break
			}
			o := held[k]
			held[k], has[k] = outcome{}, false
			next++
			line, labeled, err := r.writeOne(ctx, o)
			if line != nil {
				lines, keys = append(lines, line), append(keys, o.doneKey)
			}
			if err != nil {
				flush()
				return err
			}
			finished = append(finished, finishedPrompt{id: o.prompt.ID, labeled: labeled})
			if len(lines) >= 256 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}

// finishedPrompt is a prompt the sink stage is done with, waiting for its
// done record to be written: labeled, it then counts as done by the labeler.
type finishedPrompt struct {
	id      string
	labeled bool
}

// writeOne writes one prompt's pairs and queues its unsure ones; it returns
// the record of the prompt as done, encoded (a buffer of getBuf), for the
// caller to append, and whether the prompt was labeled (not dead, replayed
// or stopped after the filters).
func (r *run) writeOne(ctx context.Context, o outcome) ([]byte, bool, error) {
	if o.dead {
		return nil, false, nil
	}
	if o.replay != nil {
		for _, pr := range o.replay {
			if err := r.writePair(ctx, pr); err != nil {
				return nil, false, err
			}
		}
		people := 0
		for _, pr := range o.replay {
			if pr.Provenance.Stage == StageLabel {
				people++
			}
		}
		r.tally.cachedPrompts++
		r.tally.pairsAI += len(o.replay)
		r.tally.pairsPeople += people
		return nil, false, nil
	}
	if o.filtersOnly {
		return nil, false, nil
	}
	pending := false
	for _, pr := range o.pairs {
		r.tally.route(pr)
		if !pr.NeedsHuman {
			if err := r.writePair(ctx, pr); err != nil {
				return nil, false, err
			}
			r.tally.pairsAI++
			if pr.Provenance.Stage == StageLabel {
				r.tally.pairsPeople++
			}
			continue
		}
		pending = true
		r.tally.pairsHuman++
		if err := r.enqueue(ctx, pr); err != nil {
			return nil, false, err
		}
	}
	if pending || o.incomplete || r.p.Dir == nil {
		return nil, true, nil
	}
	// Each response text stored once: those FileResponses holds unchanged
	// are written as references (pairsrefs.go); the pairs themselves, which
	// the Sink may keep, are not changed.
	var buf [4]*Response
	marked, srcs, err := r.refer(o.pairs, &o.prompt, o.gens, buf[:0])
	if err != nil {
		return nil, false, err
	}
	rec := PairsRecord{V: RecordVersion, Key: o.doneKey, PromptID: o.prompt.ID, Pos: o.pos, RunKey: r.runKey, Run: r.runID, Pairs: o.pairs, Sources: srcs}
	if rec.Pairs == nil {
		rec.Pairs = []Pair{}
	}
	e := enc{b: getBuf()}
	e.pairsRecord(&rec, &refSet{marked: marked})
	if e.err != nil {
		putBuf(e.b)
		err := e.err
		if _, jerr := json.Marshal(rec); jerr != nil {
			err = jerr // encoding/json's words, as the record's own encoding gave them
		}
		return nil, false, &StorageError{Op: "encode record for", Path: r.p.Dir.Path(FilePairs), Err: err}
	}
	return e.b, true, nil
}

func (r *run) writePair(ctx context.Context, pr Pair) error {
	if r.p.Sink == nil {
		return nil
	}
	if err := r.p.Sink.WritePair(ctx, pr); err != nil {
		return fmt.Errorf("prefdata: sink: pair %s: %w", pr.ID, err)
	}
	return nil
}

func (r *run) enqueue(ctx context.Context, pr Pair) error {
	if r.p.Dir != nil {
		r.queueMu.Lock()
		seen, err := r.p.Dir.Has(FileQueue, pr.ID)
		if err == nil && !seen {
			var rec QueueRecord // the pair, its responses by reference (queuerec.go)
			if rec, err = r.queueRecord(pr); err == nil {
				err = r.p.Dir.PutLine(FileQueue, pr.ID, rec)
			}
		}
		r.queueMu.Unlock()
		if err != nil {
			return err
		}
	}
	if r.p.Queue != nil {
		if err := r.p.Queue.WritePair(ctx, pr); err != nil {
			return fmt.Errorf("prefdata: queue: pair %s: %w", pr.ID, err)
		}
	}
	return nil
}

// fail records one failed item and returns an error only when the run must
// stop: the failures file could not be written, or the budget is spent.
// firstOfPrompt is true for the first failure of the item's prompt, which
// counts it in Stats.FailedPrompts.
func (r *run) fail(stage Stage, item, component string, err error, firstOfPrompt bool) error {
	f := Failure{Time: time.Now().UTC(), Stage: stage, Item: item, Component: component, Error: err.Error()}
	r.log.Warn("prefdata: item failed", "stage", stage, "item", item, "component", component, "err", err)
	if firstOfPrompt {
		r.st.update(func(s *Stats) { s.FailedPrompts++ })
	}
	if r.p.Dir != nil {
		if err := r.p.Dir.Append(FileFailures, f); err != nil {
			return storageError(r.p.Dir, FileFailures, "append", err)
		}
	}
	if h := r.p.Hooks.ItemFailed; h != nil {
		h(f)
	}
	if err := r.checkBudget(false); err != nil {
		return fmt.Errorf("%w (last: %s %s: %s)", err, stage, item, f.Error)
	}
	return nil
}

// stopRun wraps a component's ErrStopRun error with where it came from.
func stopRun(stage Stage, item, component string, err error) error {
	return fmt.Errorf("prefdata: %s stopped the run at %s %s: %w", component, stage, item, err)
}

func (r *run) checkBudget(final bool) error {
	b := r.p.Budget
	s := r.st.snapshot()
	n, read := s.FailedPrompts, s.Prompt.In
	if b.MaxFailures > 0 && n > b.MaxFailures {
		return fmt.Errorf("%w: %d prompts failed, more than the %d allowed", ErrBudgetExceeded, n, b.MaxFailures)
	}
	minItems := b.MinItems
	if minItems <= 0 {
		minItems = 20
	}
	if b.MaxFraction > 0 && read > 0 && (final || read >= minItems) && float64(n)/float64(read) > b.MaxFraction {
		return fmt.Errorf("%w: %d prompts failed of %d read, more than the %.3g allowed", ErrBudgetExceeded, n, read, b.MaxFraction)
	}
	return nil
}

func (r *run) itemDone(stage Stage, item string) {
	if h := r.p.Hooks.ItemDone; h != nil {
		h(Event{Stage: stage, Item: item})
	}
}

func (r *run) progress() {
	h := r.p.Hooks.Progress
	if h == nil {
		return // the count of prompts done is only the hook's
	}
	r.st.update(func(*Stats) { r.st.done++ })
	h(r.st.progress())
}

// finish flushes the sinks and the run directory and returns the stats.
func (r *run) finish(runErr error) (Stats, error) {
	errs := []error{runErr}
	for _, s := range []Sink{r.p.Sink, r.p.Queue} {
		if f, ok := s.(interface{ Flush() error }); ok {
			errs = append(errs, f.Flush())
		}
	}
	s := r.st.snapshot()
	if r.p.FiltersOnly && r.p.Memo != nil {
		r.p.Memo.endSelection(runErr == nil, &s)
	}
	if r.p.AddStats != nil {
		r.p.AddStats(&s)
	}
	if d := r.p.Dir; d != nil {
		m, _, err := d.ReadManifest()
		errs = append(errs, err)
		m.Updated, m.Stats = time.Now().UTC(), &s
		if !r.p.FiltersOnly || r.p.Memo == nil {
			// The journals go to disk while the manifest is written.
			synced := make(chan error, 1)
			go func() { synced <- d.Sync() }()
			errs = append(errs, d.WriteManifest(m), <-synced)
		} else {
			// A FiltersOnly run with a Memo is the first half of one: what
			// it wrote goes to disk while the labeling run after it works
			// (from its start), whose end (or Dir.Sync, or Dir.Close) waits
			// for that and syncs the rest.
			errs = append(errs, d.WriteManifest(m))
			d.deferSync()
		}
		errs = append(errs, d.Unlock())
	}
	err := errors.Join(errs...)
	r.log.Info("prefdata: run end", "prompts", s.Prompt.In, "pairs_ai", s.PairsAI, "pairs_human", s.PairsHuman, "failed", s.Failures(), "elapsed", s.Elapsed, "err", err)
	return s, err
}

// send sends v on ch unless ctx is done first.
func send[T any](ctx context.Context, ch chan<- T, v T) error {
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// discardHandler drops every record (slog.DiscardHandler needs Go 1.24).
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }

// isStorage reports whether err is a failure of the run directory.
func isStorage(err error) bool {
	if err == nil {
		return false // the common case, without errors.As's allocation
	}
	var se *StorageError
	return errors.As(err, &se)
}

// storageError wraps err, a failure of the named journal file, as a
// [*StorageError] unless it already is one.
func storageError(d *RunDir, file, op string, err error) error {
	if err == nil || isStorage(err) {
		return err
	}
	return &StorageError{Op: op, Path: d.Path(file), Err: err}
}

// uncachedIf returns errIncomplete in place of a nil err when the
// component marked its output incomplete.
func uncachedIf(incomplete *atomic.Bool, err error) error {
	if err == nil && incomplete.Load() {
		return errIncomplete
	}
	return err
}

// generatorIdentities refuses generators that cannot be told apart (equal
// fingerprints and names: their responses would share IDs and cached
// answers) and keys the cache of generators that share a fingerprint by
// their names.
func (r *run) generatorIdentities() error {
	r.genKeys = make([]string, len(r.p.Generators))
	byFP := map[string][]int{}
	for i, g := range r.p.Generators {
		if fp, ok := g.(Fingerprinter); ok {
			byFP[fp.Fingerprint()] = append(byFP[fp.Fingerprint()], i)
		}
	}
	for i, g := range r.p.Generators {
		fp, ok := g.(Fingerprinter)
		if !ok {
			continue
		}
		same := byFP[fp.Fingerprint()]
		if len(same) < 2 {
			continue
		}
		for _, j := range same {
			if j < i && r.genNames[j] == r.genNames[i] {
				return fmt.Errorf("prefdata: generators %d and %d are named %q and have the same fingerprint: their responses would share IDs and cached answers; give them distinct names (response.Config.Name)", j, i, r.genNames[i])
			}
		}
		r.genKeys[i] = "generator " + r.genNames[i]
	}
	return nil
}

// collision returns a ContractError when a response of generator k has the
// ID of another generator's response, and records k's IDs otherwise.
func (r *run) collision(owner *idOwners, k int, rs []Response) error {
	for _, resp := range rs {
		if j, ok := owner.get(resp.ID); ok {
			return &ContractError{"generator " + r.genNames[k], fmt.Sprintf("its response %s to prompt %s has the ID of a response of generator %s: response IDs must include the generator's identity (prefdata.NewResponse with its own name)", resp.ID, resp.PromptID, r.genNames[j])}
		}
	}
	for _, resp := range rs {
		owner.set(resp.ID, k)
	}
	return nil
}

// idOwners maps the response IDs of one prompt to the generator that made
// them: the few of a prompt in a fixed array, scanned (nothing allocated),
// more in a map.
type idOwners struct {
	small [16]struct {
		id  string
		gen int
	}
	n int
	m map[string]int
}

func (o *idOwners) get(id string) (int, bool) {
	if o.m != nil {
		j, ok := o.m[id]
		return j, ok
	}
	for i := range o.n {
		if o.small[i].id == id {
			return o.small[i].gen, true
		}
	}
	return 0, false
}

func (o *idOwners) set(id string, gen int) {
	if o.m != nil {
		o.m[id] = gen
		return
	}
	for i := range o.n {
		if o.small[i].id == id {
			o.small[i].gen = gen
			return
		}
	}
	if o.n == len(o.small) {
		o.m = make(map[string]int, 2*len(o.small))
		for i := range o.n {
			o.m[o.small[i].id] = o.small[i].gen
		}
		o.m[id] = gen
		return
	}
	o.small[o.n].id, o.small[o.n].gen = id, gen
	o.n++
}
