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
	// PairsAI is the number of pairs written to the sink, PairsHuman the
	// number sent to the human-labeling queue.
	PairsAI    int `json:"pairs_ai"`
	PairsHuman int `json:"pairs_human"`
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
	key, _, _ := strings.Cut(p.Provenance.Reason, ":")
	if key = strings.TrimSpace(key); key == "" {
		key = "unspecified"
	}
	if p.NeedsHuman {
		return "human/" + key
	}
	return "ai/" + key
}

func (s *Stats) route(p Pair) {
	if s.Routes == nil {
		s.Routes = map[string]int{}
	}
	s.Routes[RouteKey(p)]++
}
