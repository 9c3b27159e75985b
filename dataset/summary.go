package dataset

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/runstore"
	"golang.org/x/sync/errgroup"
)

// Summary holds the figures of a run directory: what the report draws and
// the dataset card states, for programs as JSON. Build one with [Summarize].
//
// Two kinds of figure sit side by side. Stats, Funnel and the token use and
// cost of Models are the last run's ([prefdata.Stats] from the manifest);
// everything counted from the run directory's files (prompts, responses,
// scores, comparisons, pairs, the queue, failures) covers every run that
// wrote to the directory, each item once.
type Summary struct {
	RunKey string `json:"run_key,omitempty"`
	// RunID identifies the last run (the run "this run" figures count).
	RunID   string    `json:"run_id,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Started is when the last run began.
	Started    time.Time `json:"started"`
	Generators []string  `json:"generators,omitempty"`
	Filters    []string  `json:"filters,omitempty"`
	Labeler    string    `json:"labeler,omitempty"`
	// Stats are the last run's figures; HasStats is false when the
	// manifest has none (a run that never finished).
	Stats    prefdata.Stats `json:"stats"`
	HasStats bool           `json:"has_stats"`

	// Funnel follows the last run through the four stages (this run's
	// figures, from Stats); FunnelAll counts the whole run directory, every
	// run, each item once.
	Funnel    []FunnelStep `json:"funnel"`
	FunnelAll []FunnelStep `json:"funnel_all"`

	Prompts PromptSummary `json:"prompts"`
	// GeneratorRuns are the (prompt, generator) items per generator.
	GeneratorRuns []GeneratorSummary `json:"generator_runs"`
	Models        []ModelSummary     `json:"models"`
	// FilterDrops counts responses removed per stage-3 filter (last run).
	FilterDrops []Count `json:"filter_drops"`
	// Routes counts the last run's new pairs by where they went and why
	// ([prefdata.Stats].Routes: "ai/..." or "human/..." and the reason's
	// key).
	Routes []Count `json:"routes"`
	// Scorers are the reward models and judges whose scores the directory
	// holds.
	Scorers []ScorerSummary `json:"scorers"`
	// Scores are score distributions per scorer, aspect and model.
	Scores []ScoreDist `json:"scores"`
	// Gaps are the chosen-minus-rejected score gaps: of the pairs written
	// ("pairs") and of those sent to people ("queue").
	Gaps   []GapDist      `json:"gaps"`
	Judges []JudgeSummary `json:"judges"`
	Pairs  PairSummary    `json:"pairs"`
	Human  HumanSummary   `json:"human"`
	// Failures counts failed items per stage and per component.
	Failures            []Count `json:"failures"`
	FailuresByComponent []Count `json:"failures_by_component"`
}

// Count is a named number.
type Count struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// FunnelStep is one bar of the funnel.
type FunnelStep struct {
	Stage prefdata.Stage `json:"stage"`
	Label string         `json:"label"`
	N     int            `json:"n"`
}

// KeptDropped counts prompts of one category or source.
type KeptDropped struct {
	Name    string `json:"name"`
	Kept    int    `json:"kept"`
	Dropped int    `json:"dropped"`
}

// PromptSummary counts the prompts of prompts.jsonl (prompts that failed
// to read are only in Stats and Failures).
type PromptSummary struct {
	Recorded   int           `json:"recorded"`
	Kept       int           `json:"kept"`
	Dropped    int           `json:"dropped"`
	ByCategory []KeptDropped `json:"by_category"`
	BySource   []KeptDropped `json:"by_source"`
	DroppedBy  []Count       `json:"dropped_by"`
}

// GeneratorSummary counts one generator's (prompt, generator) items.
//
// When the manifest has the last run's stats for the generator (LastRun),
// Asked, Answered and Failed are that run's [prefdata.Stats].Generators
// figures: exact for every generator, with a Fingerprint or not, and
// Answered includes answers read back from the run directory. Otherwise
// they are counted from the run directory over every run: Answered from
// responses.jsonl, which journals only generators with a Fingerprint, and
// Failed from failures.jsonl (an item that failed once and was answered by
// a rerun counts in both); the failure rate is then known only for a
// journaled generator. RateKnown says whether FailureRate means anything.
type GeneratorSummary struct {
	Name string `json:"name"`
	// Models are the models of the generator's answers in responses.jsonl.
	Models      []string `json:"models,omitempty"`
	LastRun     bool     `json:"last_run"`
	Asked       int      `json:"asked"`
	Answered    int      `json:"answered"`
	Failed      int      `json:"failed"`
	FailureRate float64  `json:"failure_rate"`
	RateKnown   bool     `json:"rate_known"`
	// Journaled is the number of prompts whose answers by this generator
	// responses.jsonl holds, over every run (0 without a Fingerprint).
	Journaled int `json:"journaled"`
}

// ModelSummary describes one model's responses. Responses counts distinct
// responses found in the run directory; Usage is the last run's spend
// (cached responses cost nothing); Sampling lists the distinct settings used.
type ModelSummary struct {
	Model      string              `json:"model"`
	Generators []string            `json:"generators,omitempty"`
	Responses  int                 `json:"responses"`
	Usage      prefdata.Usage      `json:"usage"`
	Sampling   []prefdata.Sampling `json:"sampling,omitempty"`
	// Systems is the number of distinct system ("principle") prompts.
	Systems int `json:"systems,omitempty"`
	// Failed and FailureRate are the failed items of the generators that
	// wrote only this model (a generator drawing several models cannot
	// tell whose call failed), counted as in [GeneratorSummary];
	// FailureKnown says whether there is such a generator with a known
	// rate.
	Failed       int     `json:"failed"`
	FailureRate  float64 `json:"failure_rate"`
	FailureKnown bool    `json:"failure_known"`
}

// ScorerSummary names a reward model or judge and what it produced.
type ScorerSummary struct {
	Name        string   `json:"name"`
	Scores      int      `json:"scores"`
	Aspects     []string `json:"aspects,omitempty"`
	Comparisons int      `json:"comparisons"`
}

// Bin is one histogram bar: N values in [Lo, Hi) (the last bin includes Hi).
type Bin struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	N  int     `json:"n"`
}

// ScoreDist is the distribution of one scorer's scores of one model's
// responses. The bins of a scorer and aspect are shared by its models.
type ScoreDist struct {
	Scorer string  `json:"scorer"`
	Aspect string  `json:"aspect,omitempty"`
	Model  string  `json:"model"`
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Bins   []Bin   `json:"bins"`
}

// GapDist is the distribution of ScoreChosen - ScoreRejected over a set of
// pairs.
type GapDist struct {
	Set  string  `json:"set"`
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Bins []Bin   `json:"bins"`
}

// JudgeSummary is one pairwise judge's self-consistency across the two
// orders of each comparison. Every comparison is exactly one of: Consistent
// (the same preference in both orders), Ties (a tie in both orders),
// Inconsistent (the orders disagree) or Undecided (an order gave no
// verdict). Rate is (Consistent + Ties) over the decided comparisons
// (Comparisons - Undecided).
type JudgeSummary struct {
	Scorer       string  `json:"scorer"`
	Comparisons  int     `json:"comparisons"`
	Consistent   int     `json:"consistent"`
	Ties         int     `json:"ties"`
	Inconsistent int     `json:"inconsistent"`
	Undecided    int     `json:"undecided"`
	Rate         float64 `json:"rate"`
}

// JudgeOutcome classifies a comparison for [JudgeSummary]: "consistent",
// "tie", "inconsistent" or "undecided".
func JudgeOutcome(c prefdata.Comparison) string {
	for _, o := range c.Orders {
		if o == nil {
			return "undecided"
		}
	}
	switch {
	case c.Consistent && c.Preference == 0:
		return "tie"
	case c.Consistent:
		return "consistent"
	}
	return "inconsistent"
}

// PairSummary counts the pairs written (pairs.jsonl), each once, over
// every run.
type PairSummary struct {
	Total int `json:"total"`
	// AI and People split Total: pairs decided by the AI labeler (any stage
	// before 4) and by people (Provenance.Stage 4).
	AI        int     `json:"ai"`
	People    int     `json:"people"`
	ByStage   []Count `json:"by_stage"`
	ByLabeler []Count `json:"by_labeler"`
	ByJudge   []Count `json:"by_judge,omitempty"`
	// ByModel counts how often each model wrote the chosen and the
	// rejected side.
	ChosenByModel   []Count `json:"chosen_by_model"`
	RejectedByModel []Count `json:"rejected_by_model"`
}

// Agreement is an inter-annotator agreement figure, computed elsewhere (the
// label package) and given to the summary: set [Summary.Human].Agreement.
type Agreement struct {
	// Metric names the statistic ("krippendorff_alpha", "fleiss_kappa",
	// "percent").
	Metric     string  `json:"metric"`
	Value      float64 `json:"value"`
	Items      int     `json:"items,omitempty"`
	Annotators int     `json:"annotators,omitempty"`
}

// HumanSummary is stage 4: how many pairs went to people and what came back.
type HumanSummary struct {
	// Queued is the number of distinct pairs in queue.jsonl.
	Queued int `json:"queued"`
	// Labeled is the number of written pairs decided by people
	// (Provenance.Stage 4).
	Labeled int `json:"labeled"`
	// Labels and LabeledPairs count the labels in human_labels.jsonl, when
	// the label package wrote one, and the pairs they label: each label
	// once, leaving out retracted labels and the lines that retract them.
	// Annotators are the people named by those labels and by the pairs.
	Labels       int        `json:"labels"`
	LabeledPairs int        `json:"labeled_pairs"`
	Annotators   []string   `json:"annotators,omitempty"`
	Agreement    *Agreement `json:"agreement,omitempty"`
}

// fileHumanLabels is the label package's labels file (runstore.Label lines).
const fileHumanLabels = runstore.FileHumanLabels

// HistogramBins is the number of bins of score and gap histograms.
const HistogramBins = 10

// Summarize reads a run directory and returns its figures. A malformed line
// gives an error naming the file and line.
func Summarize(d *prefdata.RunDir) (Summary, error) { return summarize(d, nil) }

// summarize is Summarize with the journal groups read already into
// early[i], where not nil.
func summarize(d *prefdata.RunDir, early []*accum) (Summary, error) {
	var s Summary
	m, ok, err := d.ReadManifest()
	if err != nil {
		return s, err
	}
	if ok {
		s.RunKey, s.RunID, s.Created, s.Updated, s.Started = m.RunKey, m.RunID, m.Created, m.Updated, m.Started
		s.Generators, s.Filters, s.Labeler = m.Generators, m.Filters, m.Labeler
		if m.Stats != nil {
			s.Stats, s.HasStats = *m.Stats, true
		}
	}
	a := newAccum()
	if err := a.read(d, early); err != nil {
		return s, err
	}
	a.fill(&s)
	return s, nil
}

// readGenerated reads the responses journal, then the scores journal (its
// references are to responses read), into a.
func readGenerated(rs *runstore.Store, a *accum) error {
	if err := responses(rs, a.responseRecord); err != nil {
		return err
	}
	return scores(rs, a.candidate)
}

// A PendingSummary is a [Summarize] begun before a run directory is
// finished: [StartSummary] reads its responses and the filters' records
// (most of its bytes) in the background, or [FollowSummary] takes them as
// the run writes them; [PendingSummary.ReadRest] reads the other
// journals, and [PendingSummary.Summary] reads the manifest and again any
// journal appended to since it was read. The quickstart follows the run
// from its start, reads the rest once the first pass is done (while the
// plan is fitted), and again, for the journals the labeling pass appended
// to, when that pass is done with its pairs, while it syncs the run
// directory.
type PendingSummary struct {
	d *prefdata.RunDir
	// early[i] is journal group i read in the background (nil: not read,
	// or not whole), with sizes[i] the sizes of its files then.
	early []*accum
	sizes [][]int64
	done  chan struct{} // the generated group
	rest  chan struct{} // the other groups; nil before ReadRest
	// follow, if set, is following the generated group (FollowSummary).
	follow *follower
}

// StartSummary starts reading d's responses and scores journals in the
// background.
func StartSummary(d *prefdata.RunDir) *PendingSummary {
	groups := journalGroups()
	p := &PendingSummary{d: d, early: make([]*accum, len(groups)), sizes: make([][]int64, len(groups)), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.readEarly(groups, 0)
	}()
	return p
}

// ReadRest starts reading the other journals in the background too: for a
// run that has written its pairs, queue and failures but not yet its
// manifest. It may be called again (a run of two passes reads after each):
// a journal read by an earlier call and not appended to since is not read
// again. Call it before Summary, from one goroutine.
func (p *PendingSummary) ReadRest() {
	prev := p.rest
	rest := make(chan struct{})
	p.rest = rest
	groups := journalGroups()
	go func() {
		defer close(rest)
		if prev != nil {
			<-prev // the earlier call's reading, whose sizes this one compares
		}
		var wg sync.WaitGroup
		for i := 1; i < len(groups); i++ {
			if p.early[i] != nil && slices.Equal(fileSizes(p.d, groups[i].files), p.sizes[i]) {
				continue // read already, and unchanged
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.readEarly(groups, i)
			}()
		}
		wg.Wait()
	}()
}

// readEarly reads group i into p.early[i], kept only when its files did not
// change while it was read (else Summary reads it again, and reports any
// error).
func (p *PendingSummary) readEarly(groups []journalGroup, i int) {
	before := fileSizes(p.d, groups[i].files)
	a := newAccum()
	if err := groups[i].readInto(p.d, a); err == nil && slices.Equal(fileSizes(p.d, groups[i].files), before) {
		p.early[i], p.sizes[i] = a, before
	}
}

// Summary returns the directory's summary as [Summarize] would now.
func (p *PendingSummary) Summary() (Summary, error) {
	p.Wait()
	if p.follow != nil {
		p.early[0], p.sizes[0] = p.follow.finish()
	}
	groups := journalGroups()
	early := make([]*accum, len(groups))
	for i, a := range p.early {
		if a != nil && slices.Equal(fileSizes(p.d, groups[i].files), p.sizes[i]) {
			early[i] = a // else appended to since: read again
		}
	}
	return summarize(p.d, early)
}

// Wait waits for the background reading to end, for a caller that will
// not ask for the summary (a failed run) and closes the directory.
func (p *PendingSummary) Wait() {
	<-p.done
	if p.rest != nil {
		<-p.rest
	}
	if p.follow != nil {
		p.follow.finish() // the run is done appending
	}
}

// fileSizes are the sizes of d's named files (-1: none).
func fileSizes(d *prefdata.RunDir, names []string) []int64 {
	sz := make([]int64, len(names))
	for i, name := range names {
		sz[i] = -1
		if st, err := os.Stat(d.Path(name)); err == nil {
			sz[i] = st.Size()
		}
	}
	return sz
}

// A journalGroup is journals the summary reads one after the other, into
// an accum of its own.
type journalGroup struct {
	files []string // what it reads, to tell whether it changed
	steps []func(rs *runstore.Store, a *accum) error
}

// journalGroups are the summary's groups, in the order their accums are
// merged: the order the journals were read one after the other before,
// so that the later journal's record of an item wins, as it did. The
// first is the generated group (StartSummary's).
func journalGroups() []journalGroup {
	type step = func(rs *runstore.Store, a *accum) error
	return []journalGroup{
		{[]string{prefdata.FileResponses, prefdata.FileScores}, []step{readGenerated}},
		{[]string{prefdata.FilePrompts}, []step{func(rs *runstore.Store, a *accum) error { return rs.Prompts(a.prompt) }}},
		// Every record, current or not: one pass, not Store.Pairs' two.
		// Their references are to the responses journal, only appended
		// to, and are filled in after the merge from the records read of
		// it (fillRefs).
		{[]string{prefdata.FilePairs}, []step{func(rs *runstore.Store, a *accum) error {
			rs.KeepRefs = true
			return rs.PairsRecords(a.pairRecord)
		}}},
		{[]string{prefdata.FileQueue}, []step{func(rs *runstore.Store, a *accum) error { return rs.Queue(a.queue, nil) }}},
		{[]string{prefdata.FileFailures, runstore.FileHumanLabels}, []step{
			func(rs *runstore.Store, a *accum) error { return rs.Failures(a.failure) },
			func(rs *runstore.Store, a *accum) (err error) { a.labels, err = rs.CurrentLabels(); return err },
		}},
	}
}

// readInto reads the group's journals into a.
func (g journalGroup) readInto(d *prefdata.RunDir, a *accum) error {
	rs, err := runstore.Open(d) // a store each: a Store is not shared
	if err != nil {
		return err
	}
	for _, st := range g.steps {
		if err := st(rs, a); err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
	}
	return nil
}

// read reads every journal of d into a; group i is early[i] where that is
// not nil. The other groups are read at once, each into an accum of its
// own, merged into a in the groups' order.
func (a *accum) read(d *prefdata.RunDir, early []*accum) error {
	groups := journalGroups()
	parts := make([]*accum, len(groups))
	var g errgroup.Group
	for i, grp := range groups {
		if i < len(early) && early[i] != nil {
			parts[i] = early[i]
			continue
		}
		parts[i] = newAccum()
		g.Go(func() error { return grp.readInto(d, parts[i]) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, p := range parts {
		a.merge(p)
	}
	return a.fillRefs(d)
}

// fillRefs fills in the responses the pairs give by reference: from the
// responses journal's records read (what the summary counts of a
// response, not its text), or, for one they do not hold, from the records
// the pair's Sources locate.
func (a *accum) fillRefs(d *prefdata.RunDir) error {
	for _, k := range sortedKeys(a.refSources) {
		p, ok := a.pairs[k]
		if !ok {
			continue
		}
		missing := false
		for _, r := range []*prefdata.Response{&p.Chosen, &p.Rejected} {
			if !prefdata.IsRef(*r) {
				continue
			}
			if full, ok := a.responses[r.ID]; ok {
				*r = full
			} else {
				missing = true
			}
		}
		if missing {
			ps, src := []prefdata.Pair{p}, a.refSources[k]
			if err := d.FillRefs(ps, src.sources); err != nil {
				return fmt.Errorf("dataset: %w", &runstore.LineError{Path: d.Path(prefdata.FilePairs), Line: src.line, Err: err})
			}
			p = ps[0]
			for _, r := range []prefdata.Response{p.Chosen, p.Rejected} {
				if _, ok := a.responses[r.ID]; !ok && r.ID != "" {
					a.responses[r.ID] = r // a reference no record holds counts as itself
				}
			}
		}
		a.pairs[k] = p
	}
	a.refSources = nil
	return nil
}

// merge adds b's items to a, b's winning where both have one. b is not
// changed: a's maps of items may start as copies of b's, never as b's.
func (a *accum) merge(b *accum) {
	mergeInto(&a.prompts, b.prompts)
	mergeInto(&a.responses, b.responses)
	mergeInto(&a.scores, b.scores)
	mergeInto(&a.comps, b.comps)
	mergeInto(&a.pairs, b.pairs)
	for k := range b.pairs {
		if src, ok := b.refSources[k]; ok {
			a.refSources[k] = src
		} else {
			delete(a.refSources, k)
		}
	}
	mergeInto(&a.queued, b.queued)
	mergeInto(&a.failures, b.failures)
	for k, set := range b.genItems {
		for v := range set {
			addTo(a.genItems, k, v)
		}
	}
	for k, set := range b.genModels {
		for v := range set {
			addTo(a.genModels, k, v)
		}
	}
	if b.labels != nil {
		a.labels = b.labels
	}
}

// mergeInto adds b's entries to *a; an empty *a becomes a copy of b,
// copied whole (much cheaper than one entry at a time).
func mergeInto[V any](a *map[string]V, b map[string]V) {
	if len(*a) == 0 && len(b) > 0 {
		*a = maps.Clone(b)
		return
	}
	for k, v := range b {
		(*a)[k] = v
	}
}

// accum gathers the files' records, each item once.
type accum struct {
	prompts   map[string]prefdata.PromptRecord // ID and content ID
	responses map[string]prefdata.Response
	scores    map[string]prefdata.Score      // response/scorer/aspect
	comps     map[string]prefdata.Comparison // a/b/scorer
	pairs     map[string]prefdata.Pair
	queued    map[string]prefdata.Pair
	genItems  map[string]map[string]bool // generator → prompt IDs answered
	genModels map[string]map[string]bool
	failures  map[string]prefdata.Failure // stage/item/component
	labels    map[string]runstore.Label   // the labels that count, by label ID
	// refSources holds, for each pair that gives a response by reference,
	// the records its Sources locate, until fillRefs.
	refSources map[string]refLine
}

// refLine is where a pair's line stands, and the records its Sources
// locate.
type refLine struct {
	line    int
	sources []prefdata.RecordRef
}

func newAccum() *accum {
	return &accum{
		prompts: map[string]prefdata.PromptRecord{}, responses: map[string]prefdata.Response{},
		scores: map[string]prefdata.Score{}, comps: map[string]prefdata.Comparison{},
		pairs: map[string]prefdata.Pair{}, queued: map[string]prefdata.Pair{},
		genItems: map[string]map[string]bool{}, genModels: map[string]map[string]bool{},
		failures: map[string]prefdata.Failure{}, refSources: map[string]refLine{},
	}
}

func addTo(m map[string]map[string]bool, k, v string) {
	if m[k] == nil {
		m[k] = map[string]bool{}
	}
	m[k][v] = true
}

func (a *accum) prompt(pl prefdata.PromptRecord) error {
	// Keyed as the pipeline keys prompts: by ID and content, since two
	// source files may number different prompts alike.
	a.prompts[prefdata.PromptKey(pl.Prompt)] = pl
	return nil
}

func (a *accum) responseRecord(cl prefdata.CacheRecord, rs []prefdata.Response) error {
	addTo(a.genItems, cl.Component, cl.PromptID)
	for _, r := range rs {
		a.addResponse(prefdata.Response{ID: r.ID, Model: r.Model, System: r.System, Sampling: r.Sampling})
		addTo(a.genModels, cl.Component, r.Model)
	}
	return nil
}

func (a *accum) addResponse(r prefdata.Response) {
	if prefdata.IsRef(r) {
		return // a pair's reference, for fillRefs
	}
	if r.ID != "" {
		a.responses[r.ID] = r
	}
}

func (a *accum) addScores(ss []prefdata.Score) {
	for _, sc := range ss {
		a.addScore(sc)
	}
}

func (a *accum) addScore(sc prefdata.Score) {
	a.scores[sc.ResponseID+"\x00"+sc.Scorer+"\x00"+sc.Aspect] = sc
}

// storedCandidate is what the summary reads of a filter's cache record:
// not the prompt, and the responses stored as references (their ID only)
// left as they are.
type storedCandidate struct {
	Responses   []prefdata.Response `json:"responses"`
	Scores      []storedScore       `json:"scores,omitempty"`
	Comparisons []storedComparison  `json:"comparisons,omitempty"`
}

// storedScore and storedComparison are what the summary reads of a score
// and a comparison: not the judge's replies (Raw, Rationale), most of a
// scores record's bytes, which it does not show.
type storedScore struct {
	ResponseID string  `json:"response_id"`
	Scorer     string  `json:"scorer"`
	Aspect     string  `json:"aspect,omitempty"`
	Value      float64 `json:"value"`
}

type storedComparison struct {
	A          string     `json:"a"`
	B          string     `json:"b"`
	Scorer     string     `json:"scorer"`
	Preference float64    `json:"preference"`
	Consistent bool       `json:"consistent"`
	Orders     []*float64 `json:"orders,omitempty"`
}

// storedResponse is what the summary reads of a generated response: not
// its text.
type storedResponse struct {
	ID       string            `json:"id"`
	Model    string            `json:"model"`
	System   string            `json:"system,omitempty"`
	Sampling prefdata.Sampling `json:"sampling"`
}

// responses calls fn with every generation record, as
// [runstore.Store.Responses] does. Each line is decoded by hand
// ([prefdata.DecodeResponsesLine]), or, when it is not the shape the
// pipeline writes, with encoding/json, each response without its text.
func responses(rs *runstore.Store, fn func(prefdata.CacheRecord, []prefdata.Response) error) error {
	d := rs.Dir()
	var (
		rec prefdata.CacheRecord
		v   []prefdata.Response
	)
	decode := func(line []byte) (ok bool) {
		rec, v, ok = prefdata.DecodeResponsesLine(line)
		return ok
	}
	return d.ScanDecoded(prefdata.FileResponses, decode, func(r prefdata.Record, decoded bool) error {
		if decoded {
			return fn(rec, v)
		}
		rec, out, err := responsesFallback(d, r)
		if err != nil {
			return err
		}
		return fn(rec, out)
	})
}

// responsesFallback decodes a generation record the hand decoder did not
// take with encoding/json, each response without its text.
func responsesFallback(d *prefdata.RunDir, r prefdata.Record) (prefdata.CacheRecord, []prefdata.Response, error) {
	var rec prefdata.CacheRecord
	if err := json.Unmarshal(r.Data, &rec); err != nil {
		return rec, nil, &runstore.LineError{Path: d.Path(prefdata.FileResponses), Line: r.Line, Err: err}
	}
	var stored []storedResponse
	if err := json.Unmarshal(rec.Value, &stored); err != nil {
		return rec, nil, &runstore.LineError{Path: d.Path(prefdata.FileResponses), Line: r.Line, Err: fmt.Errorf("value: %w", err)}
	}
	out := make([]prefdata.Response, len(stored))
	for i, sr := range stored {
		out[i] = prefdata.Response{ID: sr.ID, Model: sr.Model, System: sr.System, Sampling: sr.Sampling}
	}
	return rec, out, nil
}

// scores calls fn with every record of the scores journal, as
// [runstore.Store.Scores] does, but without filling in the references: the
// responses step has read every response of the responses journal, which is
// what a reference stands for, so reading that journal a second time to
// fill them in would add nothing.
//
// Each line is decoded by hand ([prefdata.DecodeCandidateLine]), or, when
// it is not the shape the pipeline writes, with encoding/json, without the
// prompt and the judges' replies.
func scores(rs *runstore.Store, fn func(prefdata.Candidate) error) error {
	d := rs.Dir()
	var c *prefdata.Candidate
	decode := func(line []byte) (ok bool) {
		_, c, ok = prefdata.DecodeCandidateLine(line)
		return ok
	}
	return d.ScanDecoded(prefdata.FileScores, decode, func(r prefdata.Record, decoded bool) error {
		if !decoded {
			var err error
			if c, err = scoresFallback(d, r); err != nil {
				return err
			}
		}
		if c == nil {
			return &runstore.LineError{Path: d.Path(prefdata.FileScores), Line: r.Line, Err: errors.New("value: missing or null")}
		}
		return fn(*c)
	})
}

// scoresFallback decodes a filter's record the hand decoder did not take
// with encoding/json, without the prompt and the judges' replies.
func scoresFallback(d *prefdata.RunDir, r prefdata.Record) (*prefdata.Candidate, error) {
	var l scoresLine
	if err := json.Unmarshal(r.Data, &l); err != nil {
		return nil, &runstore.LineError{Path: d.Path(prefdata.FileScores), Line: r.Line, Err: err}
	}
	return l.Value.candidate(), nil
}

// scoresLine is what the summary reads of a scores journal line: its value.
type scoresLine struct {
	Value *storedCandidate `json:"value"`
}

// candidate returns c as a [prefdata.Candidate] (nil for nil).
func (c *storedCandidate) candidate() *prefdata.Candidate {
	if c == nil {
		return nil
	}
	out := &prefdata.Candidate{Responses: c.Responses}
	for _, sc := range c.Scores {
		out.Scores = append(out.Scores, prefdata.Score{ResponseID: sc.ResponseID, Scorer: sc.Scorer, Aspect: sc.Aspect, Value: sc.Value})
	}
	for _, cp := range c.Comparisons {
		out.Comparisons = append(out.Comparisons, prefdata.Comparison{A: cp.A, B: cp.B, Scorer: cp.Scorer, Preference: cp.Preference, Consistent: cp.Consistent, Orders: cp.Orders})
	}
	return out
}

func (a *accum) candidate(c prefdata.Candidate) error {
	for _, r := range c.Responses {
		a.candidateResponse(r, isRef(r))
	}
	a.judgments(c)
	return nil
}

// isRef reports whether a filter's record holds r as a reference to a
// response of the responses journal.
func isRef(r prefdata.Response) bool { return r.Text == "" && prefdata.IsRef(r) }

// candidateResponse adds a response of a filter's record: a reference
// (ref) is the responses journal's response, read already, and one missing
// from it is kept as the reference.
func (a *accum) candidateResponse(r prefdata.Response, ref bool) {
	if ref {
		if _, ok := a.responses[r.ID]; ok {
			return
		}
	}
	a.addResponse(r)
}

// judgments adds the scores and comparisons of a filter's record.
func (a *accum) judgments(c prefdata.Candidate) {
	for _, sc := range c.Scores {
		a.addScore(prefdata.Score{ResponseID: sc.ResponseID, Scorer: sc.Scorer, Aspect: sc.Aspect, Value: sc.Value})
	}
	for _, cp := range c.Comparisons {
		a.comps[cp.A+"\x00"+cp.B+"\x00"+cp.Scorer] = prefdata.Comparison{A: cp.A, B: cp.B, Scorer: cp.Scorer, Preference: cp.Preference, Consistent: cp.Consistent, Orders: cp.Orders}
	}
}

func (a *accum) addPairResponses(p prefdata.Pair) {
	a.addResponse(p.Chosen)
	a.addResponse(p.Rejected)
	a.addScores(p.Scores)
}

func (a *accum) pairLine(rec prefdata.PairsRecord, _ bool) error { return a.pairRecord(0, rec) }

// pairRecord adds the pairs of the pairs journal's line: one that gives a
// response by reference keeps the line and its Sources for fillRefs.
func (a *accum) pairRecord(line int, rec prefdata.PairsRecord) error {
	for _, p := range rec.Pairs {
		a.addPairResponses(p)
		k := pairKey(p, rec.PromptID)
		a.pairs[k] = p
		if prefdata.IsRef(p.Chosen) || prefdata.IsRef(p.Rejected) {
			a.refSources[k] = refLine{line, rec.Sources}
		} else {
			delete(a.refSources, k) // a later record of the pair, whole
		}
	}
	return nil
}

func pairKey(p prefdata.Pair, promptID string) string {
	if p.ID != "" {
		return p.ID
	}
	return prefdata.PairID(promptID, p.Chosen.ID, p.Rejected.ID)
}

func (a *accum) queue(p prefdata.Pair) error {
	a.addPairResponses(p)
	a.queued[pairKey(p, p.Prompt.ID)] = p
	return nil
}

func (a *accum) failure(f prefdata.Failure) error {
	a.failures[f.Stage.String()+"\x00"+f.Item+"\x00"+f.Component] = f
	return nil
}

// counter counts names and returns them sorted by count, then name.
type counter map[string]int

func (c counter) sorted() []Count {
	out := make([]Count, 0, len(c))
	for k, v := range c {
		out = append(out, Count{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (a *accum) fill(s *Summary) {
	st := s.Stats
	s.Funnel = []FunnelStep{
		{prefdata.StagePrompt, "prompts read", st.Prompt.In},
		{prefdata.StagePrompt, "prompts selected", st.Prompt.Out},
		{prefdata.StageGenerate, "responses generated", st.Responses},
		{prefdata.StageFilter, "responses kept by filters", st.Filter.Out},
		{prefdata.StageFilter, "pairs labeled by AI", st.PairsAI - st.PairsPeople},
		{prefdata.StageLabel, "pairs labeled by people", st.PairsPeople},
		{prefdata.StageLabel, "pairs sent to people", st.PairsHuman},
	}

	// Prompts.
	byCat, bySrc := map[string]*KeptDropped{}, map[string]*KeptDropped{}
	dropped := counter{}
	for _, pl := range a.prompts { // counts only: in map order
		s.Prompts.Recorded++
		for _, x := range []struct {
			m   map[string]*KeptDropped
			key string
		}{{byCat, orNone(pl.Prompt.Category)}, {bySrc, orNone(pl.Prompt.Source)}} {
			kd := x.m[x.key]
			if kd == nil {
				kd = &KeptDropped{Name: x.key}
				x.m[x.key] = kd
			}
			if pl.DroppedBy == "" {
				kd.Kept++
			} else {
				kd.Dropped++
			}
		}
		if pl.DroppedBy == "" {
			s.Prompts.Kept++
		} else {
			s.Prompts.Dropped++
			dropped[pl.DroppedBy]++
		}
	}
	s.Prompts.ByCategory, s.Prompts.BySource = sortedKD(byCat), sortedKD(bySrc)
	s.Prompts.DroppedBy = dropped.sorted()

	// Failures.
	byStage, byComp := counter{}, counter{}
	genFailed := map[string]int{}
	for _, f := range a.failures {
		byStage[f.Stage.String()]++
		byComp[orNone(f.Component)]++
		if f.Stage == prefdata.StageGenerate {
			genFailed[f.Component]++
		}
	}
	s.Failures, s.FailuresByComponent = byStage.sorted(), byComp.sorted()

	// Generators: those in the manifest, then any others the stats or the
	// files name.
	gens := append([]string(nil), s.Generators...)
	seen := map[string]bool{}
	for _, g := range gens {
		seen[g] = true
	}
	for _, g := range append(append(sortedKeys(st.Generators), sortedKeys(a.genItems)...), sortedKeys(genFailed)...) {
		if !seen[g] {
			seen[g] = true
			gens = append(gens, g)
		}
	}
	for _, g := range gens {
		gs := GeneratorSummary{Name: g, Models: sortedKeys(a.genModels[g]), Journaled: len(a.genItems[g])}
		if gst, ok := st.Generators[g]; ok {
			gs.LastRun = true
			gs.Asked, gs.Answered, gs.Failed = gst.In, gst.Out, gst.Failed
			gs.RateKnown = gs.Asked > 0
		} else {
			gs.Answered, gs.Failed = gs.Journaled, genFailed[g]
			gs.Asked = gs.Answered + gs.Failed
			gs.RateKnown = gs.Journaled > 0
		}
		if gs.RateKnown {
			gs.FailureRate = float64(gs.Failed) / float64(gs.Asked)
		}
		s.GeneratorRuns = append(s.GeneratorRuns, gs)
	}

	// Models.
	type modelAcc struct {
		n        int
		sampling map[string]prefdata.Sampling // by hash
		last     prefdata.Sampling            // the last one hashed
		hasLast  bool
		systems  map[string]bool
	}
	models := map[string]*modelAcc{}
	modelOf := map[string]string{}
	// Counts only: in map order. A response's sampling is hashed only when
	// it is not its model's last one (most share it).
	for id, r := range a.responses {
		modelOf[id] = r.Model
		ma := models[r.Model]
		if ma == nil {
			ma = &modelAcc{sampling: map[string]prefdata.Sampling{}, systems: map[string]bool{}}
			models[r.Model] = ma
		}
		ma.n++
		if !ma.hasLast || !reflect.DeepEqual(ma.last, r.Sampling) {
			ma.sampling[prefdata.Hash(r.Sampling)] = r.Sampling
			ma.last, ma.hasLast = r.Sampling, true
		}
		if r.System != "" {
			ma.systems[r.System] = true
		}
	}
	for m := range st.Usage {
		if models[m] == nil {
			models[m] = &modelAcc{}
		}
	}
	for _, m := range sortedKeys(models) {
		ma := models[m]
		ms := ModelSummary{Model: m, Responses: ma.n, Usage: st.Usage[m], Systems: len(ma.systems)}
		for _, g := range sortedKeys(a.genModels) {
			if a.genModels[g][m] {
				ms.Generators = append(ms.Generators, g)
			}
		}
		items := 0
		for _, g := range s.GeneratorRuns {
			if g.RateKnown && len(g.Models) == 1 && g.Models[0] == m {
				ms.FailureKnown = true
				ms.Failed += g.Failed
				items += g.Asked
			}
		}
		if items > 0 {
			ms.FailureRate = float64(ms.Failed) / float64(items)
		}
		for _, k := range sortedKeys(ma.sampling) {
			ms.Sampling = append(ms.Sampling, ma.sampling[k])
		}
		s.Models = append(s.Models, ms)
	}

	s.FilterDrops = counter(st.Filter.Dropped).sorted()
	s.Routes = counter(st.Routes).sorted()

	// Scorers and score distributions.
	type distKey struct{ scorer, aspect string }
	vals := map[distKey]map[string][]float64{}
	scorers := map[string]*ScorerSummary{}
	aspects := map[string]map[string]bool{}
	for _, k := range sortedKeys(a.scores) {
		sc := a.scores[k]
		dk := distKey{sc.Scorer, sc.Aspect}
		if vals[dk] == nil {
			vals[dk] = map[string][]float64{}
		}
		model := orNone(modelOf[sc.ResponseID])
		vals[dk][model] = append(vals[dk][model], sc.Value)
		ss := scorers[sc.Scorer]
		if ss == nil {
			ss = &ScorerSummary{Name: sc.Scorer}
			scorers[sc.Scorer] = ss
		}
		ss.Scores++
		if sc.Aspect != "" {
			addTo(aspects, sc.Scorer, sc.Aspect)
		}
	}
	dks := make([]distKey, 0, len(vals))
	for dk := range vals {
		dks = append(dks, dk)
	}
	sort.Slice(dks, func(i, j int) bool {
		if dks[i].scorer != dks[j].scorer {
			return dks[i].scorer < dks[j].scorer
		}
		return dks[i].aspect < dks[j].aspect
	})
	for _, dk := range dks {
		var all []float64
		for _, v := range vals[dk] {
			all = append(all, v...)
		}
		lo, hi := minMax(all)
		for _, m := range sortedKeys(vals[dk]) {
			v := vals[dk][m]
			mn, mx := minMax(v)
			s.Scores = append(s.Scores, ScoreDist{Scorer: dk.scorer, Aspect: dk.aspect, Model: m, N: len(v), Mean: mean(v), Min: mn, Max: mx, Bins: histogram(v, lo, hi, HistogramBins, allIntegers(all))})
		}
	}

	// Judges.
	judges := map[string]*JudgeSummary{}
	for _, c := range a.comps { // counts only: in map order
		j := judges[c.Scorer]
		if j == nil {
			j = &JudgeSummary{Scorer: c.Scorer}
			judges[c.Scorer] = j
		}
		j.Comparisons++
		switch JudgeOutcome(c) {
		case "consistent":
			j.Consistent++
		case "tie":
			j.Ties++
		case "inconsistent":
			j.Inconsistent++
		default:
			j.Undecided++
		}
		ss := scorers[c.Scorer]
		if ss == nil {
			ss = &ScorerSummary{Name: c.Scorer}
			scorers[c.Scorer] = ss
		}
		ss.Comparisons++
	}
	for _, k := range sortedKeys(judges) {
		j := judges[k]
		if d := j.Comparisons - j.Undecided; d > 0 {
			j.Rate = float64(j.Consistent+j.Ties) / float64(d)
		}
		s.Judges = append(s.Judges, *j)
	}
	for _, k := range sortedKeys(scorers) {
		ss := scorers[k]
		ss.Aspects = sortedKeys(aspects[k])
		s.Scorers = append(s.Scorers, *ss)
	}

	// Pairs and gaps.
	stages, labelers, judgesP, chosenBy, rejectedBy := counter{}, counter{}, counter{}, counter{}, counter{}
	people := map[string]bool{}
	var gaps []float64
	for _, k := range sortedKeys(a.pairs) {
		p := a.pairs[k]
		s.Pairs.Total++
		stages[StageConfig(p.Provenance.Stage)]++
		labelers[orNone(p.Provenance.Labeler)]++
		if p.Provenance.Judge != "" {
			judgesP[p.Provenance.Judge]++
		}
		chosenBy[orNone(p.Chosen.Model)]++
		rejectedBy[orNone(p.Rejected.Model)]++
		if p.Provenance.Stage == prefdata.StageLabel {
			s.Human.Labeled++
			s.Pairs.People++
		} else {
			s.Pairs.AI++
		}
		for _, an := range p.Provenance.Annotators {
			people[an] = true
		}
		gaps = append(gaps, p.ScoreChosen-p.ScoreRejected)
	}
	s.Pairs.ByStage, s.Pairs.ByLabeler, s.Pairs.ByJudge = stages.sorted(), labelers.sorted(), judgesP.sorted()
	s.Pairs.ChosenByModel, s.Pairs.RejectedByModel = chosenBy.sorted(), rejectedBy.sorted()
	var qgaps []float64
	for _, k := range sortedKeys(a.queued) {
		p := a.queued[k]
		qgaps = append(qgaps, p.ScoreChosen-p.ScoreRejected)
	}
	allGaps := append(append([]float64(nil), gaps...), qgaps...)
	lo, hi := minMax(allGaps)
	for _, g := range []struct {
		set string
		v   []float64
	}{{"pairs", gaps}, {"queue", qgaps}} {
		mn, mx := minMax(g.v)
		s.Gaps = append(s.Gaps, GapDist{Set: g.set, N: len(g.v), Mean: mean(g.v), Min: mn, Max: mx, Bins: histogram(g.v, lo, hi, HistogramBins, allIntegers(allGaps))})
	}

	// People.
	s.Human.Queued = len(a.queued)
	labeled := map[string]bool{}
	for _, l := range a.labels {
		s.Human.Labels++
		if l.PairID != "" {
			labeled[l.PairID] = true
		}
		if l.Annotator != "" {
			people[l.Annotator] = true
		}
	}
	s.Human.LabeledPairs = len(labeled)
	s.Human.Annotators = sortedKeys(people)

	s.FunnelAll = []FunnelStep{
		{prefdata.StagePrompt, "prompts recorded", s.Prompts.Recorded},
		{prefdata.StagePrompt, "prompts kept", s.Prompts.Kept},
		{prefdata.StageGenerate, "distinct responses", len(a.responses)},
		{prefdata.StageFilter, "pairs labeled by AI", s.Pairs.AI},
		{prefdata.StageLabel, "pairs labeled by people", s.Pairs.People},
		{prefdata.StageLabel, "pairs sent to people", s.Human.Queued},
		{prefdata.StageLabel, "pairs with people's labels", s.Human.LabeledPairs},
	}
}

func sortedKD(m map[string]*KeptDropped) []KeptDropped {
	out := make([]KeptDropped, 0, len(m))
	for _, v := range m {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Kept+out[i].Dropped, out[j].Kept+out[j].Dropped
		if a != b {
			return a > b
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func minMax(v []float64) (lo, hi float64) {
	if len(v) == 0 {
		return 0, 0
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func allIntegers(v []float64) bool {
	for _, x := range v {
		if x != math.Trunc(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var t float64
	for _, x := range v {
		t += x
	}
	return t / float64(len(v))
}

// maxIntegerBins is the widest range of integer values binned one bin per
// integer.
const maxIntegerBins = 25

// histogram counts v in n equal bins over [lo, hi]; one bin when lo == hi.
// When every value is an integer and the range spans at most
// maxIntegerBins integers, each integer k gets its own bin [k-0.5, k+0.5):
// no bin straddles two values and none falls between them.
// ints says whether every value of the series sharing these bins is an
// integer (see allIntegers).
func histogram(v []float64, lo, hi float64, n int, ints bool) []Bin {
	if len(v) == 0 && lo == hi {
		return []Bin{}
	}
	if ints && lo == math.Trunc(lo) && hi == math.Trunc(hi) && hi-lo < maxIntegerBins {
		bins := make([]Bin, int(hi-lo)+1)
		for i := range bins {
			k := lo + float64(i)
			bins[i] = Bin{Lo: k - 0.5, Hi: k + 0.5}
		}
		for _, x := range v {
			bins[int(x-lo)].N++
		}
		return bins
	}
	if hi <= lo {
		return []Bin{{Lo: lo, Hi: hi, N: len(v)}}
	}
	bins := make([]Bin, n)
	w := (hi - lo) / float64(n)
	for i := range bins {
		bins[i] = Bin{Lo: lo + float64(i)*w, Hi: lo + float64(i+1)*w}
	}
	bins[n-1].Hi = hi
	for _, x := range v {
		i := int((x - lo) / w)
		if i >= n {
			i = n - 1
		}
		if i < 0 {
			i = 0
		}
		bins[i].N++
	}
	return bins
}

// JSON returns the summary as indented JSON.
func (s Summary) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("dataset: summary: %w", err)
	}
	return append(b, '\n'), nil
}

// scorerKind guesses whether a scorer is a reward model or a judge from its
// name's conventional prefix ("rm:", "judge:").
func scorerKind(name string) string {
	switch {
	case strings.HasPrefix(name, "rm:"), strings.HasPrefix(name, "reward:"):
		return "reward model"
	case strings.HasPrefix(name, "judge:"):
		return "LLM judge"
	}
	return "scorer"
}
