package prefdata

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// PromptSource yields the prompts of a run, one at a time.
//
// Next returns the next prompt. At the end of the prompts it returns io.EOF
// (itself, not wrapped), and it keeps returning io.EOF if called again. An
// error that wraps an [*ItemError] reports one bad item (a malformed line, an
// empty prompt): the pipeline records it as a failure and calls Next again.
// An error made by [RejectPrompt] reports a prompt the source dropped itself:
// the pipeline records the drop and calls Next again. Any other error ends
// the run. Next is called from one goroutine at a time;
// it should return promptly when ctx is done.
type PromptSource interface {
	Next(ctx context.Context) (Prompt, error)
}

// PromptSourceFunc adapts a function to a [PromptSource].
type PromptSourceFunc func(ctx context.Context) (Prompt, error)

// Next calls f(ctx).
func (f PromptSourceFunc) Next(ctx context.Context) (Prompt, error) { return f(ctx) }

// PromptFilter is a stage-1 step: it keeps, rewrites or rejects one prompt.
//
// FilterPrompt returns the prompt to pass on (possibly changed: a category
// added, say). To reject the prompt it returns an error made by [Reject];
// the pipeline counts the rejection under the filter's name and goes on. Any
// other error is a failure of this prompt: it is recorded with its ID and the
// run goes on within its error budget. The pipeline calls a PromptFilter from
// one goroutine at a time, in source order, so stateful filters (dedup) see
// every prompt once, in a deterministic order; a filter that also implements
// [Fingerprinter] declares itself stateless, and the pipeline then calls it
// concurrently on up to [Limits.Prompt] prompts (keeping their order for the
// filters after it) and caches its decisions.
type PromptFilter interface {
	FilterPrompt(ctx context.Context, p Prompt) (Prompt, error)
}

// PromptFilterFunc adapts a function to a [PromptFilter].
type PromptFilterFunc func(ctx context.Context, p Prompt) (Prompt, error)

// FilterPrompt calls f(ctx, p).
func (f PromptFilterFunc) FilterPrompt(ctx context.Context, p Prompt) (Prompt, error) {
	return f(ctx, p)
}

// Generator answers prompts: stage 2.
//
// Generate returns every response it was configured to produce for p (one
// model's k samples, or one per drawn model). A non-nil error means the item
// failed after whatever retries the generator does itself; responses returned
// alongside an error are the samples that did succeed, and the pipeline keeps
// them. Generate is called concurrently from many goroutines (up to
// [Limits.Generate]) and must be safe for that. It must return promptly, with
// ctx's error, when ctx is done.
type Generator interface {
	Generate(ctx context.Context, p Prompt) ([]Response, error)
}

// GeneratorFunc adapts a function to a [Generator].
type GeneratorFunc func(ctx context.Context, p Prompt) ([]Response, error)

// Generate calls f(ctx, p).
func (f GeneratorFunc) Generate(ctx context.Context, p Prompt) ([]Response, error) {
	return f(ctx, p)
}

// Filter is a stage-3 step over one candidate: it scores responses, drops
// broken ones, or rejects the whole candidate.
//
// Filter returns the candidate to pass on. It must not modify c's slices in
// place: it returns a copy with its changes ([Candidate.Without] drops a
// response and records why). To reject the whole candidate it returns an
// error made by [Reject]. Any other error is a failure of this candidate: it
// is recorded and the run goes on. Filters run in the order given, each on the
// output of the one before; a candidate left with no responses is not passed
// to later filters. Filter is called concurrently for different candidates
// (up to [Limits.Filter]) and must be safe for that.
type Filter interface {
	Filter(ctx context.Context, c Candidate) (Candidate, error)
}

// FilterFunc adapts a function to a [Filter].
type FilterFunc func(ctx context.Context, c Candidate) (Candidate, error)

// Filter calls f(ctx, c).
func (f FilterFunc) Filter(ctx context.Context, c Candidate) (Candidate, error) { return f(ctx, c) }

// ResponseFilterFunc makes a named [Filter] from a test of one response:
// check returns a non-empty reason to drop r, or "" to keep it. It is the
// shortest way to write a custom rule filter.
func ResponseFilterFunc(name string, check func(ctx context.Context, p Prompt, r Response) (reason string, err error)) Filter {
	return Named(name, FilterFunc(func(ctx context.Context, c Candidate) (Candidate, error) {
		out := c
		for _, r := range c.Responses {
			reason, err := check(ctx, c.Prompt, r)
			if err != nil {
				return c, fmt.Errorf("response %s: %w", r.ID, err)
			}
			if reason != "" {
				out = out.Without(r.ID, name, reason)
			}
		}
		return out, nil
	}))
}

// Scorer rates responses to one prompt: a reward model or a pointwise LLM
// judge. Stage 1 uses one to find the prompts the policy is weak on; stage 3
// wraps one in a Filter.
//
// Score returns one or more scores per response (one per aspect), each with
// its ResponseID set. It returns the scores it could make; a non-nil error
// reports the responses it could not score (errors.Join of one error per
// response, each naming the response ID), and the others' scores still count.
// Score is called concurrently and must be safe for that.
type Scorer interface {
	Score(ctx context.Context, p Prompt, rs []Response) ([]Score, error)
}

// ScorerFunc adapts a function to a [Scorer].
type ScorerFunc func(ctx context.Context, p Prompt, rs []Response) ([]Score, error)

// Score calls f(ctx, p, rs).
func (f ScorerFunc) Score(ctx context.Context, p Prompt, rs []Response) ([]Score, error) {
	return f(ctx, p, rs)
}

// Labeler turns a filtered candidate into preference pairs: it builds pairs
// from the scores and decides, pair by pair, whether the AI's order stands or
// a person must look ([Pair.NeedsHuman]).
//
// A nil or empty result with a nil error means the candidate yields no pair
// (all responses tied, say). An error is a failure of this candidate. Like a
// [Filter], Label must not modify c's slices in place: the run directory
// writes the responses of c it finds unchanged in the pairs as references to
// the stored ones. Label is called concurrently (up to [Limits.Filter]) and
// must be safe for that.
type Labeler interface {
	Label(ctx context.Context, c Candidate) ([]Pair, error)
}

// LabelerFunc adapts a function to a [Labeler].
type LabelerFunc func(ctx context.Context, c Candidate) ([]Pair, error)

// Label calls f(ctx, c).
func (f LabelerFunc) Label(ctx context.Context, c Candidate) ([]Pair, error) { return f(ctx, c) }

// Sink receives the pairs of a run.
//
// WritePair is called from one goroutine at a time. An error from WritePair
// ends the run (the pair stays in the run directory, so a rerun writes it).
// If the sink also has a Flush() error method, the pipeline calls it once at
// the end of a run, whether the run succeeded or not.
type Sink interface {
	WritePair(ctx context.Context, p Pair) error
}

// SinkFunc adapts a function to a [Sink].
type SinkFunc func(ctx context.Context, p Pair) error

// WritePair calls f(ctx, p).
func (f SinkFunc) WritePair(ctx context.Context, p Pair) error { return f(ctx, p) }

// Namer is the optional interface of a component that has a name. Names show
// in stats, drop records and failure records; components without one are
// named by their position ("filter[2]").
type Namer interface {
	Name() string
}

// Fingerprinter is the optional interface of a PromptFilter, Generator,
// Filter or Labeler whose output depends only on its input and its
// configuration (not a dedup filter, whose decision depends on what it saw
// before). Fingerprint
// returns a string that changes whenever the configuration does (a hash of the
// model, sampling settings, rubric...). The pipeline then caches the
// component's output in the run directory, keyed by the fingerprint and a hash
// of the input, and a rerun reads it back instead of paying for it again.
// Components without a Fingerprint are called again on every run.
type Fingerprinter interface {
	Fingerprint() string
}

// Named gives f a name for stats and drop records. It keeps f's fingerprint.
func Named(name string, f Filter) Filter {
	if fp, ok := f.(Fingerprinter); ok {
		return namedFingerprintFilter{namedFilter{name, f}, fp}
	}
	return namedFilter{name, f}
}

type namedFilter struct {
	name string
	f    Filter
}

func (n namedFilter) Name() string { return n.name }

func (n namedFilter) Filter(ctx context.Context, c Candidate) (Candidate, error) {
	return n.f.Filter(ctx, c)
}

type namedFingerprintFilter struct {
	namedFilter
	fp Fingerprinter
}

func (n namedFingerprintFilter) Fingerprint() string { return n.fp.Fingerprint() }

// NamedGenerator gives g a name for stats, failure records and the
// pipeline's checks. It keeps g's fingerprint.
func NamedGenerator(name string, g Generator) Generator {
	if fp, ok := g.(Fingerprinter); ok {
		return namedFingerprintGenerator{namedGenerator{name, g}, fp}
	}
	return namedGenerator{name, g}
}

type namedGenerator struct {
	name string
	g    Generator
}

func (n namedGenerator) Name() string { return n.name }

func (n namedGenerator) Generate(ctx context.Context, p Prompt) ([]Response, error) {
	return n.g.Generate(ctx, p)
}

type namedFingerprintGenerator struct {
	namedGenerator
	fp Fingerprinter
}

func (n namedFingerprintGenerator) Fingerprint() string { return n.fp.Fingerprint() }

// NamedPromptFilter gives f a name for stats and drop records. It keeps f's
// fingerprint.
func NamedPromptFilter(name string, f PromptFilter) PromptFilter {
	if fp, ok := f.(Fingerprinter); ok {
		return namedFingerprintPromptFilter{namedPromptFilter{name, f}, fp}
	}
	return namedPromptFilter{name, f}
}

type namedFingerprintPromptFilter struct {
	namedPromptFilter
	fp Fingerprinter
}

func (n namedFingerprintPromptFilter) Fingerprint() string { return n.fp.Fingerprint() }

type namedPromptFilter struct {
	name string
	f    PromptFilter
}

func (n namedPromptFilter) FilterPrompt(ctx context.Context, p Prompt) (Prompt, error) {
	return n.f.FilterPrompt(ctx, p)
}

func (n namedPromptFilter) Name() string { return n.name }

// ErrRejected is matched by errors.Is for every error made by [Reject].
var ErrRejected = errors.New("rejected")

// RejectError is a filter's decision to drop an item. It is not a failure.
type RejectError struct {
	Reason string
	// Prompt and By are set by [RejectPrompt]: the prompt a source dropped
	// itself, and the name of the step that dropped it.
	Prompt *Prompt
	By     string
}

func (e *RejectError) Error() string { return "rejected: " + e.Reason }

// Is reports whether target is [ErrRejected].
func (e *RejectError) Is(target error) bool { return target == ErrRejected }

// Reject returns the error a [PromptFilter] or [Filter] returns to drop the
// item it was given, with a reason that is recorded in the run directory.
func Reject(reason string) error { return &RejectError{Reason: reason} }

// RejectPrompt returns the error a [PromptSource] returns for a prompt it
// read and dropped itself (a balancing or difficulty wrapper, which needs the
// whole input before it can decide): the pipeline counts p under by in
// Stats.Prompt.Dropped, records it in the run directory's prompts file with
// the reason, and calls Next again.
func RejectPrompt(p Prompt, by, reason string) error {
	return &RejectError{Reason: reason, Prompt: &p, By: by}
}

// Rejection returns the reason of a rejection made by [Reject], and whether
// err is one.
func Rejection(err error) (reason string, ok bool) {
	var r *RejectError
	if errors.As(err, &r) {
		return r.Reason, true
	}
	return "", false
}

// ItemError is the failure of one item: a bad input line, a generation that
// failed after its retries, a judge that never answered. It names the stage
// and the item so the failures file says what and where.
type ItemError struct {
	Stage Stage
	// Item identifies the failed item: a prompt ID, "file.jsonl:17" for a
	// bad line, or "promptID/model" for one generation.
	Item string
	// Component names the filter, generator or labeler that failed, if any.
	Component string
	Err       error
}

func (e *ItemError) Error() string {
	if e.Component != "" {
		return fmt.Sprintf("%s %s (%s): %v", e.Stage, e.Item, e.Component, e.Err)
	}
	return fmt.Sprintf("%s %s: %v", e.Stage, e.Item, e.Err)
}

func (e *ItemError) Unwrap() error { return e.Err }

// ErrStopRun is wrapped by the error of a component that must end the whole
// run rather than fail one item: a cost budget is spent, a key was revoked.
// The pipeline does not record such an error as a failed item; it stops every
// stage, keeps what finished, and Run returns the error (errors.Is matches
// ErrStopRun and the component's own sentinel). A later run does the rest.
var ErrStopRun = errors.New("run stopped")

// ErrUnsupportedOption is matched by errors.Is when a generator's server
// refused one of a prompt's [GenerateOptions] (a 400 naming
// response_format, tools, logprobs or reasoning_effort): the caller may ask
// again without it, a judge in plain text say.
var ErrUnsupportedOption = errors.New("prefdata: generation option not supported by the server")

// ErrBudgetExceeded is matched by errors.Is when a run stops because more
// items failed than its [ErrorBudget] allows.
var ErrBudgetExceeded = errors.New("prefdata: error budget exceeded")

// Prompts returns a source that yields ps in order, then io.EOF.
func Prompts(ps ...Prompt) PromptSource {
	i := 0
	return PromptSourceFunc(func(ctx context.Context) (Prompt, error) {
		if err := ctx.Err(); err != nil {
			return Prompt{}, err
		}
		if i >= len(ps) {
			return Prompt{}, io.EOF
		}
		i++
		return ps[i-1], nil
	})
}
