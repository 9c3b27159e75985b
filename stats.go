package prefdata

import (
	"maps"
	"strings"
	"sync"
	"time"
)

// StageStats counts what one stage did. The unit depends on the stage: see
// [Stats].
type StageStats struct {
	In     int `json:"in"`
	Out    int `json:"out"`
	Failed int `json:"failed"`
	// Dropped counts the units each named filter removed (rejections are not
	// failures).
	Dropped map[string]int `json:"dropped,omitempty"`
}

// Stats are the figures of a run, returned by [Pipeline.Run] and written to
// the manifest.
type Stats struct {
	// Prompt counts prompts: read from the source (In), passed stage 1 (Out),
	// bad or failed (Failed), rejected by each prompt filter (Dropped).
	Prompt StageStats `json:"prompt"`
	// Generate counts (prompt, generator) items: In asked, Out answered,
	// Failed. Responses is the number of responses produced.
	Generate  StageStats `json:"generate"`
	Responses int        `json:"responses"`
	// Generators splits Generate by generator name.
	Generators map[string]StageStats `json:"generators,omitempty"`
	// Filter counts responses: In entering stage 3, Out surviving every
	// filter, Dropped by each filter (a rejected candidate counts all its
	// responses), Failed (responses of candidates whose filter failed).
	Filter StageStats `json:"filter"`
	// Label counts candidates: In labeled, Out yielding at least one pair,
	// Failed.
	Label StageStats `json:"label"`
	// Calls counts the calls inside components journaled in this run (see
	// [JournalGenerator]); Cached.Calls those read back instead.
	Calls int `json:"calls,omitempty"`
	// FailedPrompts counts the prompts with at least one failed item (in
	// any stage, each prompt once): the unit of [ErrorBudget].
	FailedPrompts int `json:"failed_prompts"`
	// PairsAI is the number of pairs written to the sink, PairsHuman the
	// number sent to the human-labeling queue.
	PairsAI    int `json:"pairs_ai"`
	PairsHuman int `json:"pairs_human"`
	// PairsPeople is the part of PairsAI that people decided
	// (Provenance.Stage StageLabel): pairs labeled by AI are PairsAI -
	// PairsPeople.
	PairsPeople int `json:"pairs_people,omitempty"`
	// Routes counts this run's new pairs by where they went and why: "ai/"
	// or "human/" followed by the key of Provenance.Reason (the text before
	// its first colon; "unspecified" when empty).
	Routes map[string]int `json:"routes,omitempty"`
	// Cached counts work read back from the run directory instead of done
	// again: generations, filter outputs, labeler outputs, and finished
	// prompts whose pairs were replayed.
	Cached CacheStats `json:"cached"`
	// Usage is token use (and cost, where known) per model, from the
	// responses generated in this run (cached responses are not counted).
	Usage   map[string]Usage `json:"usage,omitempty"`
	Elapsed time.Duration    `json:"elapsed_ns"`
	// Cascade counts the judge calls of a judge cascade (filter.Panel with
	// a cascade) in this run: asked, and saved where the cheaper judges
	// left no doubt. Set through [Pipeline.AddStats].
	Cascade CascadeStats `json:"cascade"`
	// Routing is what a router by goal predicted and what the audit
	// measured; nil for a router with a fixed threshold. Set through
	// [Pipeline.AddStats].
	Routing *RoutingStats `json:"routing,omitempty"`
}

// CascadeStats counts the calls of a judge cascade.
type CascadeStats struct {
	// Asked is the number of judge calls the cascade made (both orders of
	// a pair count as two), Saved the calls of its later, stronger judges
	// it did not make because the earlier ones had settled the pair.
	Asked int `json:"asked"`
	Saved int `json:"saved"`
}

// RoutingStats describe routing by goal: the goal, where the pairs went,
// the accuracy the calibrator predicts for the AI-labeled pairs and the
// accuracy the audit measured.
type RoutingStats struct {
	// Goal says how the split was chosen: "target" (an accuracy the
	// AI-labeled pairs must keep), "budget" (a number of pairs to people)
	// or "threshold" (a fixed probability).
	Goal   string  `json:"goal"`
	Target float64 `json:"target,omitempty"`
	Budget int     `json:"budget,omitempty"`
	// Threshold is the fixed probability of the "threshold" goal.
	Threshold float64 `json:"threshold,omitempty"`
	// Pairs is the number of pairs routed, Human those sent to people for
	// their label (not counting the audit), Audit the AI-labeled pairs also
	// sent to people, Labeled the pairs people had already decided (their
	// label stands).
	Pairs   int `json:"pairs"`
	Human   int `json:"human"`
	Audit   int `json:"audit"`
	Labeled int `json:"labeled,omitempty"`
	// HumanFraction is (Human + Labeled) / Pairs: the share of the pairs
	// whose label is people's, once they have given it.
	HumanFraction float64 `json:"human_fraction"`
	// Predicted is the calibrator's estimate of the accuracy of the
	// AI-labeled pairs (the share of them whose order people would
	// choose), with its interval.
	Predicted Estimate `json:"predicted"`
	// Audited is the measured accuracy: the share of audited pairs people
	// have labeled on which they agreed with the AI, with a Wilson
	// interval; nil before any audited pair is labeled.
	Audited *Measured `json:"audited,omitempty"`
	// HumanLabels is the number of pairs with people's labels the
	// calibrator was fitted with (0: from the judges' agreement alone).
	HumanLabels int `json:"human_labels"`
	// Curve is the predicted accuracy of the AI-labeled pairs against the
	// share of pairs sent to people, most doubtful first (at most about a
	// hundred points).
	Curve []CurvePoint `json:"curve,omitempty"`
	// Judges are the calibrator's estimates of each judge.
	Judges []JudgeEstimate `json:"judges,omitempty"`
}

// Estimate is a value with an (about 95%) interval.
type Estimate struct {
	Est float64 `json:"est"`
	Lo  float64 `json:"lo"`
	Hi  float64 `json:"hi"`
}

// Measured is an accuracy counted on labeled pairs: Agree of N, with an
// interval.
type Measured struct {
	Estimate
	Agree int `json:"agree"`
	N     int `json:"n"`
}

// CurvePoint is one point of [RoutingStats.Curve].
type CurvePoint struct {
	Human     int     `json:"human"`
	Fraction  float64 `json:"fraction"`
	Predicted float64 `json:"predicted"`
}

// JudgeEstimate is a calibrator's estimate of one judge.
type JudgeEstimate struct {
	Judge        string   `json:"judge"`
	Accuracy     Estimate `json:"accuracy"`
	PositionBias Estimate `json:"position_bias"`
	Consistency  float64  `json:"consistency"`
	Verdicts     int      `json:"verdicts"`
}

// CacheStats counts work a rerun did not pay for again.
type CacheStats struct {
	// PromptFilters counts stage-1 decisions of fingerprinted prompt filters
	// (an LLM classifier, say) read back.
	PromptFilters int `json:"prompt_filters"`
	Generations   int `json:"generations"`
	Filters       int `json:"filters"`
	Labels        int `json:"labels"`
	Prompts       int `json:"prompts"`
	// Calls counts the calls inside components (a judge's requests, a
	// reward model's batches, through [JournalGenerator] and
	// [JournalScorer]) answered from the run directory.
	Calls int `json:"calls"`
}

// Failures returns the number of failed items over all stages.
func (s Stats) Failures() int {
	return s.Prompt.Failed + s.Generate.Failed + s.Filter.Failed + s.Label.Failed
}

// Progress is a snapshot passed to [Hooks.Progress].
type Progress struct {
	Read     int // prompts read from the source
	Selected int // prompts that passed stage 1
	Done     int // prompts whose pairs (if any) are written
	Failed   int // failed items, all stages
	Pairs    int // pairs written or queued
	Elapsed  time.Duration
}

// Event is an item passed through a stage, for [Hooks.ItemDone].
type Event struct {
	Stage Stage
	Item  string
}

// Failure is a failed item, as written to the failures file and passed to
// [Hooks.ItemFailed].
type Failure struct {
	Time      time.Time `json:"time"`
	Stage     Stage     `json:"stage"`
	Item      string    `json:"item"`
	Component string    `json:"component,omitempty"`
	Error     string    `json:"error"`
}

// Hooks are optional functions a caller sets to watch a run. They are called
// from the pipeline's goroutines, possibly at the same time, and must be quick
// and safe for concurrent use. A nil field is skipped.
type Hooks struct {
	// Progress is called each time a prompt finishes (done, dropped or
	// failed).
	Progress func(Progress)
	// ItemDone is called when an item leaves a stage successfully.
	ItemDone func(Event)
	// ItemFailed is called when an item fails, after it is recorded.
	ItemFailed func(Failure)
}

// stats is the run's live, lock-guarded Stats.
type stats struct {
	mu    sync.Mutex
	s     Stats
	start time.Time
	done  int
}

func newStats() *stats {
	return &stats{start: time.Now(), s: Stats{Usage: map[string]Usage{}, Generators: map[string]StageStats{}}}
}

func (st *stats) update(f func(s *Stats)) {
	st.mu.Lock()
	f(&st.s)
	st.mu.Unlock()
}

func (st *stats) progress() Progress {
	st.mu.Lock()
	defer st.mu.Unlock()
	return Progress{
		Read:     st.s.Prompt.In,
		Selected: st.s.Prompt.Out,
		Done:     st.done,
		Failed:   st.s.Failures(),
		Pairs:    st.s.PairsAI + st.s.PairsHuman,
		Elapsed:  time.Since(st.start),
	}
}

func (st *stats) snapshot() Stats {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.s
	s.Elapsed = time.Since(st.start)
	s.Usage = maps.Clone(st.s.Usage)
	s.Generators = maps.Clone(st.s.Generators)
	s.Routes = maps.Clone(st.s.Routes)
	for _, ss := range []*StageStats{&s.Prompt, &s.Generate, &s.Filter, &s.Label} {
		ss.Dropped = maps.Clone(ss.Dropped)
	}
	return s
}

func (ss *StageStats) drop(name string, n int) {
	if ss.Dropped == nil {
		ss.Dropped = map[string]int{}
	}
	ss.Dropped[name] += n
}

func (s *Stats) countGen(name string, f func(*StageStats)) {
	g := s.Generators[name]
	f(&g)
	s.Generators[name] = g
}

// RouteKey is the key under which [Stats.Routes] counts a pair: "ai/" or
// "human/" (by NeedsHuman) followed by the key of its Provenance.Reason, the
// text before the first colon, trimmed ("unspecified" when empty).
func RouteKey(p Pair) string {
	if p.Provenance.Reason == "" {
		if p.NeedsHuman {
			return "human/unspecified"
		}
		return "ai/unspecified"
	}
	key, _, _ := strings.Cut(p.Provenance.Reason, ":")
	if key = strings.TrimSpace(key); key == "" {
		key = "unspecified"
	}
	if p.NeedsHuman {
		return "human/" + key
	}
	return "ai/" + key
}

// sinkTally counts what the sink stage did since it last added its counts
// to the run's stats: one update a batch, not several a prompt.
type sinkTally struct {
	cachedPrompts, pairsAI, pairsPeople, pairsHuman int
	routes                                          map[string]int
}

func (t *sinkTally) route(p Pair) {
	if t.routes == nil {
		t.routes = map[string]int{}
	}
	t.routes[RouteKey(p)]++
}

// addTo adds the counts to st and zeroes them.
func (t *sinkTally) addTo(st *stats) {
	if t.cachedPrompts == 0 && t.pairsAI == 0 && t.pairsPeople == 0 && t.pairsHuman == 0 && len(t.routes) == 0 {
		return
	}
	st.update(func(s *Stats) {
		s.Cached.Prompts += t.cachedPrompts
		s.PairsAI += t.pairsAI
		s.PairsPeople += t.pairsPeople
		s.PairsHuman += t.pairsHuman
		if len(t.routes) > 0 && s.Routes == nil {
			s.Routes = map[string]int{}
		}
		for k, n := range t.routes {
			s.Routes[k] += n
		}
	})
	t.cachedPrompts, t.pairsAI, t.pairsPeople, t.pairsHuman = 0, 0, 0, 0
	clear(t.routes)
}
