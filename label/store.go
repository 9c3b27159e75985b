package label

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/runstore"
)

// tail reads the complete lines appended to a run-directory file since the
// last call, through the run store's scan (a half-written line a crash left
// is skipped and reported, a record glued to it recovered). Another process
// (the pipeline, an import, the server) may be appending to it at the same
// time: a line being written is left for the next call.
type tail struct {
	dir  *prefdata.RunDir
	name string
	off  int64
	line int
}

func (t *tail) read(fn func(line int, data []byte) error, bad func(string)) error {
	st, err := os.Stat(t.dir.Path(t.name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("label: %w", err)
	}
	if st.Size() < t.off {
		return fmt.Errorf("label: %s shrank from %d to %d bytes: an append-only file was rewritten", t.dir.Path(t.name), t.off, st.Size())
	}
	if st.Size() == t.off {
		return nil
	}
	end, line, err := t.dir.ScanFrom(t.name, t.off, t.line, func(r prefdata.Record) error {
		data := bytes.TrimSpace(r.Data)
		if len(data) == 0 {
			return nil
		}
		return fn(r.Line, data)
	}, func(f prefdata.Fragment) {
		bad(f.String())
	})
	if err != nil {
		return fmt.Errorf("label: %w", err)
	}
	t.off, t.line = end, line
	return nil
}

var errNilDir = errors.New("label: the run directory is nil")

// Queue is the human-labeling queue of a run directory: the pairs the
// pipeline appended to [prefdata.FileQueue], in order, without duplicates.
// Refresh picks up pairs appended since, by the pipeline running in this
// process or another. A Queue is safe for concurrent use.
type Queue struct {
	mu       sync.Mutex
	t        tail
	pairs    []prefdata.Pair
	bad      []string // lines that could not be read
	index    map[string]int
	byPrompt map[string][]int
}

// OpenQueue reads the queue of dir.
func OpenQueue(dir *prefdata.RunDir) (*Queue, error) {
	if dir == nil {
		return nil, errNilDir
	}
	q := &Queue{t: tail{dir: dir, name: prefdata.FileQueue}, index: map[string]int{}, byPrompt: map[string][]int{}}
	if _, err := q.Refresh(); err != nil {
		return nil, err
	}
	return q, nil
}

// Refresh reads the pairs appended since the last call and returns how many
// new ones it found.
func (q *Queue) Refresh() (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	err := q.t.read(func(line int, data []byte) error {
		// The responses a line gives by reference are read from the
		// responses journal.
		p, err := runstore.QueuedPair(q.t.dir, data)
		if err != nil {
			// One bad line does not keep the other pairs from people.
			q.bad = append(q.bad, fmt.Sprintf("%s:%d: %v", q.t.dir.Path(q.t.name), line, err))
			return nil
		}
		if _, ok := q.index[p.ID]; ok {
			return nil
		}
		q.index[p.ID] = len(q.pairs)
		q.byPrompt[p.Prompt.ID] = append(q.byPrompt[p.Prompt.ID], len(q.pairs))
		q.pairs = append(q.pairs, p)
		n++
		return nil
	}, func(f string) { q.bad = append(q.bad, f) })
	return n, err
}

// BadLines lists the lines of the queue file that could not be read
// (file:line: error). They are skipped.
func (q *Queue) BadLines() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.bad...)
}

// Pair returns the queued pair with the given ID.
func (q *Queue) Pair(id string) (prefdata.Pair, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, ok := q.index[id]
	if !ok {
		return prefdata.Pair{}, false
	}
	return q.pairs[i], true
}

// Pairs returns the queued pairs in queue order.
func (q *Queue) Pairs() []prefdata.Pair {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]prefdata.Pair(nil), q.pairs...)
}

// SamePrompt returns the queued pairs of the prompt, in queue order.
func (q *Queue) SamePrompt(promptID string) []prefdata.Pair {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]prefdata.Pair, 0, len(q.byPrompt[promptID]))
	for _, i := range q.byPrompt[promptID] {
		out = append(out, q.pairs[i])
	}
	return out
}

// At returns the i-th queued pair, from 0.
func (q *Queue) At(i int) prefdata.Pair {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pairs[i]
}

// Len returns the number of queued pairs.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pairs)
}

// Store holds the human labels of a run directory ([FileHumanLabels]). Add
// appends a label to the file before it returns; Refresh picks up labels
// appended by other processes (an import, a second server). For each pair
// and annotator only the latest label that was not retracted counts. A Store
// is safe for concurrent use.
type Store struct {
	dir *prefdata.RunDir

	mu        sync.Mutex
	t         tail
	out       appender
	bad       []string                     // lines of the file that could not be read
	labels    map[string]Label             // every label line by ID (not retractions)
	retracted map[string]bool              // label IDs retracted
	current   map[string]map[string]string // pair → annotator → label ID
	order     []string                     // label IDs in file order
	perAnn    map[string]int               // annotator → labels that count
	version   uint64                       // bumped on every change
}

// OpenStore reads the labels of dir.
func OpenStore(dir *prefdata.RunDir) (*Store, error) {
	if dir == nil {
		return nil, errNilDir
	}
	s := &Store{
		dir:       dir,
		t:         tail{dir: dir, name: FileHumanLabels},
		out:       appender{dir: dir, name: FileHumanLabels},
		labels:    map[string]Label{},
		retracted: map[string]bool{},
		current:   map[string]map[string]string{},
		perAnn:    map[string]int{},
	}
	if err := s.Refresh(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir returns the run directory the store writes to.
func (s *Store) Dir() *prefdata.RunDir { return s.dir }

// Refresh reads the labels appended to the file since the last call.
func (s *Store) Refresh() error {
	_, err := s.refresh()
	return err
}

// refresh is Refresh that also reports whether labels written by others
// (not through this Store) changed the labels that count.
func (s *Store) refresh() (changed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.version
	err = s.t.read(func(line int, data []byte) error {
		var l Label
		if err := json.Unmarshal(data, &l); err != nil {
			// A line cut by a crash (and ended by the next writer), or
			// edited by hand: one bad line does not hide the others.
			s.bad = append(s.bad, fmt.Sprintf("%s:%d: %v", s.dir.Path(FileHumanLabels), line, err))
			return nil
		}
		s.index(l)
		return nil
	}, func(f string) { s.bad = append(s.bad, f) })
	return s.version != v, err
}

// BadLines lists the lines of the labels file that could not be read
// (file:line: error): a line cut short by a crash, say. They are skipped.
func (s *Store) BadLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bad...)
}

// Sync writes the labels this Store appended to disk. Labels are in the
// operating system's hands as soon as Add returns (a killed process loses
// none); they are fsynced within the run directory's SyncInterval when more
// follow, and by Sync.
func (s *Store) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.sync()
}

// Close syncs and closes the labels file; a later Add opens it again.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.close()
}

// appender appends lines to a run-directory file that other processes may
// append to at the same time (an import while the server runs, a second
// server), through the run store: each line in one O_APPEND write, a label
// acknowledged only once the whole line is written, and a fragment left by a
// failed write (a full disk) ended before the next line.
type appender struct {
	dir  *prefdata.RunDir
	name string
}

func (a *appender) write(line []byte) error {
	// RunDir.Append adds the newline and encodes nothing more: line is JSON.
	if err := a.dir.Append(a.name, json.RawMessage(bytes.TrimSuffix(line, []byte{'\n'}))); err != nil {
		return fmt.Errorf("label: %w", err)
	}
	return nil
}

func (a *appender) sync() error { return a.dir.Sync() }

func (a *appender) close() error { return a.dir.CloseFile(a.name) }

// appendLabel writes l as one line of the labels file. s.mu is held.
func (s *Store) appendLabel(l Label) error {
	line, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("label: %s: encode label %s: %w", FileHumanLabels, l.ID, err)
	}
	return s.out.write(append(line, '\n'))
}

// index adds l to the in-memory view; it is idempotent, so the lines this
// store appended itself can be read back by Refresh harmlessly.
func (s *Store) index(l Label) {
	if l.Undoes != "" {
		if s.retracted[l.Undoes] {
			return
		}
		s.retracted[l.Undoes] = true
		if old, ok := s.labels[l.Undoes]; ok {
			if s.current[old.PairID][old.Annotator] == old.ID {
				s.version++
				delete(s.current[old.PairID], old.Annotator)
				s.perAnn[old.Annotator]--
				// An earlier label of the same person counts again only if
				// it was never retracted: find the latest one.
				for i := len(s.order) - 1; i >= 0; i-- {
					prev := s.labels[s.order[i]]
					if prev.PairID == old.PairID && prev.Annotator == old.Annotator && !s.retracted[prev.ID] {
						s.current[old.PairID][old.Annotator] = prev.ID
						s.perAnn[old.Annotator]++
						break
					}
				}
			}
		}
		return
	}
	if _, ok := s.labels[l.ID]; ok {
		return
	}
	s.labels[l.ID] = l
	s.order = append(s.order, l.ID)
	if s.retracted[l.ID] {
		return
	}
	m := s.current[l.PairID]
	if m == nil {
		m = map[string]string{}
		s.current[l.PairID] = m
	}
	if _, ok := m[l.Annotator]; !ok {
		s.perAnn[l.Annotator]++
	}
	m[l.Annotator] = l.ID
	s.version++
}

// Version changes whenever the labels that count change.
func (s *Store) Version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// CountBy returns how many labels of annotator count.
func (s *Store) CountBy(annotator string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perAnn[annotator]
}

// ErrDuplicate is matched by errors.Is when a label with the same ID is
// already stored.
var ErrDuplicate = errors.New("label: duplicate label id")

// Add appends l to the labels file and counts it. It does not check l
// against its pair: see [Label.Check].
func (s *Store) Add(l Label) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.labels[l.ID]; ok {
		return fmt.Errorf("%w %q", ErrDuplicate, l.ID)
	}
	if err := s.appendLabel(l); err != nil {
		return err
	}
	s.index(l)
	return nil
}

// Retract appends a line that retracts the label with the given ID; only its
// annotator (by) may retract it.
func (s *Store) Retract(by, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.labels[id]
	if !ok || s.retracted[id] {
		return fmt.Errorf("label: no label %q to retract", id)
	}
	if l.Annotator != by {
		return fmt.Errorf("label: label %q is %s's, not %s's", id, l.Annotator, by)
	}
	rec := Label{ID: "undo-" + id, Undoes: id, Annotator: by, PairID: l.PairID, Source: l.Source, Time: at.UTC()}
	if err := s.appendLabel(rec); err != nil {
		return err
	}
	s.index(rec)
	return nil
}

// ForPair returns the labels that count for the pair: one per annotator,
// ordered by annotator.
func (s *Store) ForPair(pairID string) []Label {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forPairLocked(pairID)
}

func (s *Store) forPairLocked(pairID string) []Label {
	m := s.current[pairID]
	out := make([]Label, 0, len(m))
	for _, id := range m {
		out = append(out, s.labels[id])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Annotator < out[j].Annotator })
	return out
}

// counting returns annotator's label that counts for the pair, if any.
func (s *Store) counting(pairID, annotator string) (Label, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.current[pairID][annotator]
	return s.labels[id], ok
}

// Count returns how many annotators' labels count for the pair.
func (s *Store) Count(pairID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.current[pairID])
}

// Has reports whether annotator has a label that counts for the pair.
func (s *Store) Has(pairID, annotator string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.current[pairID][annotator]
	return ok
}

// Get returns the label with the given ID and whether it counts (it exists
// and was not retracted).
func (s *Store) Get(id string) (Label, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.labels[id]
	return l, ok && !s.retracted[id]
}

// Labels returns every label that counts, in file order.
func (s *Store) Labels() []Label {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Label, 0, len(s.order))
	for _, id := range s.order {
		l := s.labels[id]
		if s.current[l.PairID][l.Annotator] == id {
			out = append(out, l)
		}
	}
	return out
}

// Last returns annotator's most recent label from the given source that
// counts, if any.
func (s *Store) Last(annotator, source string) (Label, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.order) - 1; i >= 0; i-- {
		l := s.labels[s.order[i]]
		if l.Annotator == annotator && l.Source == source && s.current[l.PairID][annotator] == l.ID {
			return l, true
		}
	}
	return Label{}, false
}
