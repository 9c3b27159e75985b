package prefdata

import "sync"

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
// The zero value keeps any number of candidates. It is safe for concurrent
// use.
type CandidateMemo struct {
	// Max is the most candidates kept at once (0: no limit); beyond it, a
	// candidate is not kept and the labeling run reads it back.
	Max int

	mu sync.Mutex
	m  map[string]memoEntry
}

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
