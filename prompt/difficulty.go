package prompt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/prefdata/prefdata"
)

// Rating is what a [Rater] learned about one prompt: the policy's responses
// and their rewards.
type Rating struct {
	PromptID  string              `json:"prompt_id"`
	Responses []prefdata.Response `json:"responses"`
	// Rewards[i] is the reward of Responses[i], NaN when the scorer gave it
	// none (it is then left out of the figures below).
	Rewards []float64 `json:"rewards"`
	Mean    float64   `json:"mean"`
	Var     float64   `json:"var"` // population variance
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	// Worst is the index in Responses of the lowest-rewarded response.
	Worst int `json:"worst"`
}

// Rater asks the policy for responses to a prompt and scores them with a
// reward model, once per prompt (its ID and content: two files may number
// different prompts alike), for [Difficulty] and [RIP] (which may share one
// Rater so a prompt is answered and scored once).
//
// The policy's responses are kept, and the Rater is also a
// [prefdata.Generator] that replays them: put it in Pipeline.Generators and
// stage 2 reuses the responses stage 1 paid for instead of asking the policy
// again. A prompt it has not rated goes to the policy. Memory grows with the
// responses of the rated prompts. A Rater is safe for concurrent use.
type Rater struct {
	Policy prefdata.Generator
	Scorer prefdata.Scorer
	// Aspect selects the scores that count as the reward: those with this
	// Aspect ("" takes every score of a response and averages them).
	Aspect string

	mu    sync.Mutex
	rated map[string]Rating // by raterKey
}

func raterKey(p prefdata.Prompt) string { return p.ID + " " + prefdata.ContentID(p.Messages) }

var _ prefdata.Generator = (*Rater)(nil)

// Name returns "policy-replay", the name the Rater has as a generator.
func (r *Rater) Name() string { return "policy-replay" }

// Rating returns the rating of p, if p (the same ID and content) was rated
// before.
func (r *Rater) Rating(p prefdata.Prompt) (Rating, bool) {
	return r.rating(raterKey(p))
}

func (r *Rater) rating(key string) (Rating, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt, ok := r.rated[key]
	return rt, ok
}

// Generate replays the policy's responses to p if p was rated, and asks the
// policy otherwise.
func (r *Rater) Generate(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if rt, ok := r.Rating(p); ok {
		return append([]prefdata.Response(nil), rt.Responses...), nil
	}
	if r.Policy == nil {
		return nil, errors.New("prompt: Rater.Policy is nil")
	}
	return r.Policy.Generate(ctx, p)
}

// Rate answers p with the policy and scores the answers, or returns the
// rating made before for p.
func (r *Rater) Rate(ctx context.Context, p prefdata.Prompt) (Rating, error) {
	key := raterKey(p)
	if rt, ok := r.rating(key); ok {
		return rt, nil
	}
	if r.Policy == nil || r.Scorer == nil {
		return Rating{}, errors.New("prompt: Rater needs a Policy and a Scorer")
	}
	rs, err := r.Policy.Generate(ctx, p)
	if len(rs) == 0 {
		if err == nil {
			err = errors.New("no responses")
		}
		return Rating{}, fmt.Errorf("policy: %w", err)
	}
	scores, serr := r.Scorer.Score(ctx, p, rs)
	rt := Rating{PromptID: p.ID, Responses: rs, Rewards: make([]float64, len(rs))}
	var vals []float64
	for i, resp := range rs {
		sum, n := 0.0, 0
		for _, s := range scores {
			if s.ResponseID == resp.ID && (r.Aspect == "" || s.Aspect == r.Aspect) {
				sum += s.Value
				n++
			}
		}
		rt.Rewards[i] = math.NaN()
		if n > 0 {
			rt.Rewards[i] = sum / float64(n)
			vals = append(vals, rt.Rewards[i])
		}
	}
	if len(vals) == 0 {
		if serr == nil {
			serr = errors.New("no scores")
		}
		return Rating{}, fmt.Errorf("no response was scored: %w", serr)
	}
	rt.Min, rt.Max = math.Inf(1), math.Inf(-1)
	for i, v := range rt.Rewards {
		if math.IsNaN(v) {
			continue
		}
		rt.Mean += v / float64(len(vals))
		if v < rt.Min {
			rt.Min, rt.Worst = v, i
		}
		rt.Max = max(rt.Max, v)
	}
	for _, v := range vals {
		rt.Var += (v - rt.Mean) * (v - rt.Mean) / float64(len(vals))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rated == nil {
		r.rated = map[string]Rating{}
	}
	if old, ok := r.rated[key]; ok {
		return old, nil
	}
	r.rated[key] = rt
	return rt, nil
}

// DifficultyConfig configures [Difficulty]. A prompt is kept when it meets
// any criterion that is set (all of them, with All); with none set, the
// lowest-mean half is kept.
type DifficultyConfig struct {
	Rater *Rater
	// LowestMean keeps the prompts whose mean reward is among this share of
	// lowest means (0.3: the weakest 30%).
	LowestMean float64
	// MeanBelow keeps the prompts whose mean reward is below it.
	MeanBelow *float64
	// HighestVar keeps the prompts whose reward variance is among this share
	// of highest variances (the policy is erratic on them).
	HighestVar float64
	// VarAbove keeps the prompts whose reward variance is above it.
	VarAbove *float64
	All      bool
	// RecordDrops makes Next, after the kept prompts, return each prompt left
	// out as an error made by prefdata.RejectPrompt (by "difficulty", with
	// the criteria it missed), so a Pipeline counts it and records it in the
	// run directory. Leave it off when you read the selector yourself.
	RecordDrops bool
	// Concurrency is the number of prompts rated at once (default 4).
	Concurrency int
}

// Rated is one prompt's outcome in [DifficultySelector.Results].
type Rated struct {
	Prompt prefdata.Prompt
	Rating Rating
	Kept   bool
	// Reason says which criteria the prompt met or missed.
	Reason string
}

// DifficultySelector is the source made by [Difficulty].
type DifficultySelector struct {
	src prefdata.PromptSource
	cfg DifficultyConfig

	read    bool
	prompts []prefdata.Prompt
	failed  []error
	results []Rated
	out     []int
	next    int

	nextDrop int // next index of results to check for RecordDrops
}

var _ prefdata.PromptSource = (*DifficultySelector)(nil)

// Difficulty returns a source that reads src to the end, rates every prompt
// with cfg.Rater (k policy responses, scored), and yields the prompts the
// policy is weak on: the lowest mean reward (LowestMean, MeanBelow) and/or
// the highest reward variance (HighestVar, VarAbove), in input order. Kept
// prompts carry Meta["reward_mean"] and Meta["reward_var"]. A prompt whose
// rating fails is returned as an error wrapping a *prefdata.ItemError (the
// pipeline records it) and the others go on. The policy's responses stay in
// the Rater for stage 2.
//
// A pipeline sees only what Next returns (and the item errors of failed
// ratings, which it records): set [DifficultyConfig.RecordDrops] when a
// [prefdata.Pipeline] reads the selector, and the prompts left out are
// counted in Stats.Prompt.Dropped and written to the run directory's prompts
// file with the criteria they missed. [DifficultySelector.Results] lists
// every rated prompt with its rating, decision and reason either way.
// A rating error that wraps prefdata.ErrStopRun (a spent cost budget) is
// returned as it is, ending the run, instead of as item errors.
func Difficulty(src prefdata.PromptSource, cfg DifficultyConfig) *DifficultySelector {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.LowestMean == 0 && cfg.MeanBelow == nil && cfg.HighestVar == 0 && cfg.VarAbove == nil {
		cfg.LowestMean = 0.5
	}
	return &DifficultySelector{src: src, cfg: cfg}
}

// Results returns every rated prompt with its rating and the decision, in
// input order, once Next has returned its first prompt or io.EOF.
func (d *DifficultySelector) Results() []Rated { return append([]Rated(nil), d.results...) }

// Validate reports the first impossible setting of c, naming the field: no
// Rater, a LowestMean or HighestVar share outside [0, 1] (or NaN), a NaN
// threshold.
func (c DifficultyConfig) Validate() error {
	share := func(name string, v float64) error {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("prompt: DifficultyConfig.%s is %v, outside [0, 1]", name, v)
		}
		return nil
	}
	switch {
	case c.Rater == nil:
		return errors.New("prompt: DifficultyConfig.Rater is nil")
	case c.MeanBelow != nil && math.IsNaN(*c.MeanBelow):
		return errors.New("prompt: DifficultyConfig.MeanBelow is NaN")
	case c.VarAbove != nil && math.IsNaN(*c.VarAbove):
		return errors.New("prompt: DifficultyConfig.VarAbove is NaN")
	}
	if err := share("LowestMean", c.LowestMean); err != nil {
		return err
	}
	return share("HighestVar", c.HighestVar)
}

// Next returns the next selected prompt. An impossible configuration (see
// [DifficultyConfig.Validate]) is an error before anything is read.
func (d *DifficultySelector) Next(ctx context.Context) (prefdata.Prompt, error) {
	if !d.read && len(d.prompts) == 0 {
		if err := d.cfg.Validate(); err != nil {
			return prefdata.Prompt{}, err
		}
	}
	for !d.read {
		p, err := d.src.Next(ctx)
		if errors.Is(err, io.EOF) {
			if err := d.rateAll(ctx); err != nil {
				return prefdata.Prompt{}, err
			}
			d.read = true
			break
		}
		if err != nil {
			return p, err
		}
		if p.ID == "" {
			p.ID = prefdata.ContentID(p.Messages)
		}
		d.prompts = append(d.prompts, p)
	}
	if len(d.failed) > 0 {
		err := d.failed[0]
		d.failed = d.failed[1:]
		return prefdata.Prompt{}, err
	}
	if err := ctx.Err(); err != nil {
		return prefdata.Prompt{}, err
	}
	if d.next < len(d.out) {
		d.next++
		return d.results[d.out[d.next-1]].Prompt, nil
	}
	for d.cfg.RecordDrops && d.nextDrop < len(d.results) {
		r := d.results[d.nextDrop]
		d.nextDrop++
		if !r.Kept {
			return prefdata.Prompt{}, prefdata.RejectPrompt(r.Prompt, "difficulty", r.Reason)
		}
	}
	return prefdata.Prompt{}, io.EOF
}

func (d *DifficultySelector) rateAll(ctx context.Context) error {
	ratings := make([]Rating, len(d.prompts))
	errs := make([]error, len(d.prompts))
	// A failed rating is one failed item; an error wrapping ErrStopRun (a
	// spent budget) stops the rating and is returned as it is.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(d.cfg.Concurrency)
	for i, p := range d.prompts {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			ratings[i], errs[i] = d.cfg.Rater.Rate(gctx, p)
			return stopError(p.ID, "difficulty", errs[i])
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var ok []int
	for i, p := range d.prompts {
		if errs[i] != nil {
			d.failed = append(d.failed, &prefdata.ItemError{Stage: prefdata.StagePrompt, Item: p.ID, Component: "difficulty", Err: errs[i]})
			continue
		}
		ok = append(ok, len(d.results))
		d.results = append(d.results, Rated{Prompt: p, Rating: ratings[i]})
	}
	d.prompts = nil
	lowMean := d.rankSet(ok, d.cfg.LowestMean, func(a, b Rating) bool { return a.Mean < b.Mean })
	highVar := d.rankSet(ok, d.cfg.HighestVar, func(a, b Rating) bool { return a.Var > b.Var })
	for _, i := range ok {
		r := &d.results[i]
		var met, missed []string
		check := func(set bool, pass bool, what string) {
			if !set {
				return
			}
			if pass {
				met = append(met, what)
			} else {
				missed = append(missed, what)
			}
		}
		check(d.cfg.LowestMean > 0, lowMean[i], fmt.Sprintf("mean in lowest %.0f%%", 100*d.cfg.LowestMean))
		check(d.cfg.MeanBelow != nil, d.cfg.MeanBelow != nil && r.Rating.Mean < deref(d.cfg.MeanBelow), fmt.Sprintf("mean below %g", deref(d.cfg.MeanBelow)))
		check(d.cfg.HighestVar > 0, highVar[i], fmt.Sprintf("variance in highest %.0f%%", 100*d.cfg.HighestVar))
		check(d.cfg.VarAbove != nil, d.cfg.VarAbove != nil && r.Rating.Var > deref(d.cfg.VarAbove), fmt.Sprintf("variance above %g", deref(d.cfg.VarAbove)))
		r.Kept = len(met) > 0 && (!d.cfg.All || len(missed) == 0)
		r.Reason = fmt.Sprintf("mean %.3g, variance %.3g", r.Rating.Mean, r.Rating.Var)
		if len(met) > 0 {
			r.Reason += "; met: " + strings.Join(met, ", ")
		}
		if len(missed) > 0 {
			r.Reason += "; missed: " + strings.Join(missed, ", ")
		}
		if r.Kept {
			r.Prompt.Meta = withMeta(r.Prompt.Meta,
				"reward_mean", fmt.Sprintf("%.4g", r.Rating.Mean),
				"reward_var", fmt.Sprintf("%.4g", r.Rating.Var))
			d.out = append(d.out, i)
		}
	}
	return nil
}

// rankSet marks the ceil(share × n) results first by less (ties broken by
// input order).
func (d *DifficultySelector) rankSet(idx []int, share float64, less func(a, b Rating) bool) map[int]bool {
	out := map[int]bool{}
	if share <= 0 {
		return out
	}
	sorted := append([]int(nil), idx...)
	sort.SliceStable(sorted, func(a, b int) bool { return less(d.results[sorted[a]].Rating, d.results[sorted[b]].Rating) })
	n := int(math.Ceil(share * float64(len(sorted))))
	for _, i := range sorted[:min(n, len(sorted))] {
		out[i] = true
	}
	return out
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// RIP is a [prefdata.PromptFilter] after "Rejecting Instruction
// Preferences" (arXiv 2501.18578): a prompt is kept only if the policy's
// lowest-rewarded response scores at least Floor, that response has at least
// MinWorstWords words, and the gap between the best and worst rewards is at
// most MaxGap. Low-quality prompts draw uniformly poor or erratic answers.
// Unset criteria (nil, 0) are not checked. The thresholds are settings, not
// the paper's values. Share the Rater with [Difficulty] to rate each prompt
// once; its responses stay in the Rater for stage 2.
type RIP struct {
	Rater         *Rater
	Floor         *float64
	MinWorstWords int
	MaxGap        *float64
}

var _ prefdata.PromptFilter = (*RIP)(nil)

// Name returns "rip".
func (f *RIP) Name() string { return "rip" }

// FilterPrompt rates p and rejects it when a criterion fails, saying which.
func (f *RIP) FilterPrompt(ctx context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
	if f.Rater == nil {
		return p, errors.New("prompt: RIP.Rater is nil")
	}
	rt, err := f.Rater.Rate(ctx, p)
	if err != nil {
		return p, err
	}
	worst := rt.Responses[rt.Worst]
	switch {
	case f.Floor != nil && rt.Min < *f.Floor:
		return p, prefdata.Reject(fmt.Sprintf("worst response %s has reward %.3g, below the floor %g", worst.ID, rt.Min, *f.Floor))
	case f.MinWorstWords > 0 && len(strings.Fields(worst.Text)) < f.MinWorstWords:
		return p, prefdata.Reject(fmt.Sprintf("worst response %s has %d words, fewer than %d", worst.ID, len(strings.Fields(worst.Text)), f.MinWorstWords))
	case f.MaxGap != nil && rt.Max-rt.Min > *f.MaxGap:
		return p, prefdata.Reject(fmt.Sprintf("best-worst reward gap %.3g is above %g", rt.Max-rt.Min, *f.MaxGap))
	}
	return p, nil
}
