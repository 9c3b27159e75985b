package prefdata

import (
	"maps"
	"sync"
)

// CandidateMemo keeps in memory the candidates a FiltersOnly run finished,
// for the labeling run that follows it (routing by a goal over the whole
// set: see [Pipeline.FiltersOnly]). Give both runs the same memo as
// [Pipeline.Memo]: the labeling run takes a prompt's candidate from it and
// labels it at once, instead of reading the prompt's generations and every
// filter's output back from the run directory. What it labels is the very
// candidate it would have read back.
//
// A candidate is kept only when every call behind it succeeded (one the
// next run would ask again goes through stages 2 and 3 as usual), and is
// let go when the labeling run takes it. Stats of the labeling run do not
// count stages 2 and 3 again for the candidates it took: they are the
// FiltersOnly run's.
//
// The memo also keeps the FiltersOnly run's stage 1: the prompts it
// selected, in source order, with its stage-1 figures. A labeling run with
// the same prompt filters (by their names and fingerprints) replays that
// selection instead of reading its Source and running its prompt filters
// again, so its Source is not read at all; its Stats.Prompt are the
// FiltersOnly run's. It is kept only when the FiltersOnly run ended without
// an error and selected at most Max prompts; otherwise, or with other prompt
// filters, the labeling run goes through stage 1 itself. A prompt stage 1
// failed on (recorded in FileFailures) is not replayed: the next run asks
// again.
//
// The zero value keeps any number of candidates. It is safe for concurrent
// use.
type CandidateMemo struct {
	// Max is the most candidates kept at once (0: no limit); beyond it, a
	// candidate is not kept and the labeling run reads it back. It bounds
	// the stage-1 selection kept too.
	Max int

	mu sync.Mutex
	m  map[string]memoEntry
	// The FiltersOnly run's stage 1, for the labeling run to replay.
	sel selection
}

// selection is a FiltersOnly run's stage 1: the prompts it selected with
// their source positions, made by the prompt filters keyed key.
type selection struct {
	key     string
	state   selState
	prompts []sourced
	prompt  StageStats // Stats.Prompt
	cached  int        // Stats.Cached.PromptFilters
}

type selState int

const (
	selNone      selState = iota
	selRecording          // the FiltersOnly run is selecting
	selWhole              // its run ended well: the labeling run may replay it
)

// memoEntry is a kept candidate with its prompt's generation records: the
// labeling run's pairs refer to the responses where these say they are
// stored, without reading the responses journal to find them.
type memoEntry struct {
	c    Candidate
	gens []genRecord
}

// Len returns the number of candidates kept.
func (m *CandidateMemo) Len() int {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

func (m *CandidateMemo) put(key string, c Candidate, gens []genRecord) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]memoEntry{}
	}
	if _, ok := m.m[key]; !ok && m.Max > 0 && len(m.m) >= m.Max {
		return
	}
	m.m[key] = memoEntry{c, gens}
}

// take returns the candidate kept under key, with its generation records,
// and lets it go.
func (m *CandidateMemo) take(key string) (Candidate, []genRecord, bool) {
	if m == nil {
		return Candidate{}, nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[key]
	delete(m.m, key)
	return e.c, e.gens, ok
}

// startSelection starts keeping the stage-1 selection of a FiltersOnly run
// whose prompt filters are keyed key.
func (m *CandidateMemo) startSelection(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sel = selection{key: key, state: selRecording}
}

// addSelected keeps prompts stage 1 selected, unless that would keep more
// than Max: then the selection is let go, and the labeling run goes through
// stage 1 itself.
func (m *CandidateMemo) addSelected(batch []sourced) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sel.state != selRecording {
		return
	}
	if m.Max > 0 && len(m.sel.prompts)+len(batch) > m.Max {
		m.sel = selection{}
		return
	}
	m.sel.prompts = append(m.sel.prompts, batch...)
}

// endSelection ends the FiltersOnly run's selection: whole when the run
// ended well (ok), with its stage-1 figures; let go otherwise.
func (m *CandidateMemo) endSelection(ok bool, s *Stats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sel.state != selRecording || !ok {
		m.sel = selection{}
		return
	}
	m.sel.state = selWhole
	m.sel.prompt = s.Prompt
	m.sel.prompt.Dropped = maps.Clone(s.Prompt.Dropped)
	m.sel.cached = s.Cached.PromptFilters
}

// takeSelection returns the whole selection of a FiltersOnly run whose
// prompt filters were keyed key, and lets it go (whatever the key).
func (m *CandidateMemo) takeSelection(key string) (selection, bool) {
	if m == nil {
		return selection{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sel := m.sel
	m.sel = selection{}
	return sel, sel.state == selWhole && sel.key == key
}
