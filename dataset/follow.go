package dataset

import (
	"errors"
	"os"
	"sync"

	"github.com/prefdata/prefdata"
)

// FollowSummary is [StartSummary] for a run directory a run is about to
// write: it takes the lines d appends to the responses and scores journals
// from memory as they are written ([prefdata.RunDir.Tap]), reads from disk
// only what the two held before, and decodes them in the background while
// the run goes on. [PendingSummary.Summary] then has none of them left to
// read. Whenever the two journals hold a line d did not append (another
// process wrote to them, or a torn line was repaired), Summary reads them
// again from disk instead, so the summary is always [Summarize]'s. It holds
// what the summary counts as the run goes (each response's ID, model and
// sampling, each score and comparison), as Summarize does at its end; call
// Summary or Wait when the run is done, which stops the following.
func FollowSummary(d *prefdata.RunDir) *PendingSummary {
	n := len(journalGroups())
	p := &PendingSummary{d: d, early: make([]*accum, n), sizes: make([][]int64, n), done: make(chan struct{}), follow: newFollower(d)}
	close(p.done) // nothing is read as StartSummary reads
	return p
}

// follower builds the generated group's accum from the lines a RunDir
// appends to the responses and scores journals, in the order they stand in
// the files: the responses journal's records, then the scores journal's,
// as readGenerated reads them.
type follower struct {
	d     *prefdata.RunDir
	stops []func()
	wake  chan struct{} // a line was added (buffered: one wake-up is enough)
	quit  chan struct{} // closed by finish: take what is left, then end
	done  chan struct{} // closed when the loop has ended
	once  sync.Once

	mu    sync.Mutex
	files [2]followedFile
	held  int // bytes added since the loop was last woken

	// Built by the loop alone; read once it has ended.
	gen    *accum       // the responses journal's records
	judged *accum       // the scores and comparisons of the scores journal
	events []respEvent  // the scores journal's responses, in order
	broken bool         // a line that did not decode: read from disk
	built  *accum       // finish's result (nil: read from disk)
	sizes  []int64      // the files' sizes it stands for
	names  [2]string    // FileResponses, FileScores
	starts [2]int64     // the sizes when following began
	nexts  [2]int64     // where the lines taken end
	lines  [2][]takenLn // scratch: the lines the loop takes at once
}

// followedFile is the lines of one journal not taken yet.
type followedFile struct {
	next    int64 // where the next line to take starts
	pending map[int64][]byte
}

type takenLn struct {
	off  int64
	data []byte
}

// respEvent is a response of a filter's record, added after every response
// of the responses journal (accum.candidate's rule).
type respEvent struct {
	r   prefdata.Response
	ref bool
}

func newFollower(d *prefdata.RunDir) *follower {
	f := &follower{d: d, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		gen: newAccum(), judged: newAccum(), names: [2]string{prefdata.FileResponses, prefdata.FileScores}}
	for i, name := range f.names {
		f.files[i].pending = map[int64][]byte{}
		f.stops = append(f.stops, d.Tap(name, func(off int64, line []byte) { f.add(i, off, line) }))
	}
	// The sizes are read after the taps are set: a line appended in
	// between is both read from disk and tapped, and taken once.
	for i, name := range f.names {
		st, err := os.Stat(d.Path(name))
		switch {
		case err == nil:
			f.starts[i] = st.Size()
		case !errors.Is(err, os.ErrNotExist):
			f.broken = true // unreadable: Summary reads it and says why
		}
		f.mu.Lock()
		f.files[i].next, f.nexts[i] = f.starts[i], f.starts[i]
		f.mu.Unlock()
	}
	go f.loop()
	return f
}

// followBatch is the bytes of tapped lines the loop is woken for: a
// wake-up per line would cost the run more than decoding it.
const followBatch = 128 << 10

// add keeps a tapped line for the loop.
func (f *follower) add(i int, off int64, line []byte) {
	f.mu.Lock()
	f.files[i].pending[off] = append([]byte(nil), line...)
	f.held += len(line)
	wake := f.held >= followBatch
	if wake {
		f.held = 0
	}
	f.mu.Unlock()
	if wake {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// loop reads what the journals held before, then takes the tapped lines
// in file order as they come, until finish.
func (f *follower) loop() {
	defer close(f.done)
	if !f.broken {
		f.readBefore()
	}
	for {
		select {
		case <-f.wake:
			f.takeReady()
		case <-f.quit:
			f.takeReady()
			return
		}
	}
}

// readBefore reads the lines the two journals held when following began.
func (f *follower) readBefore() {
	errStop := errors.New("past the start")
	for i, name := range f.names {
		if f.starts[i] == 0 {
			continue
		}
		start := f.starts[i]
		var c *prefdata.Candidate
		var rec prefdata.CacheRecord
		var rs []prefdata.Response
		decode := func(line []byte) (ok bool) {
			if i == 0 {
				rec, rs, ok = prefdata.DecodeResponsesLine(line)
			} else {
				_, c, ok = prefdata.DecodeCandidateLine(line)
			}
			return ok
		}
		err := f.d.ScanDecoded(name, decode, func(r prefdata.Record, decoded bool) error {
			if r.Offset >= start {
				return errStop
			}
			if r.Offset+int64(len(r.Data))+1 > start {
				return errStop // a line cut at the start: read from disk
			}
			if i == 0 {
				return f.takeResponses(r, decoded, rec, rs)
			}
			return f.takeScores(r, decoded, c)
		})
		if err != nil && err != errStop {
			f.broken = true
			return
		}
	}
}

// takeReady takes every line that continues a journal where the lines taken
// end.
func (f *follower) takeReady() {
	if f.broken {
		return
	}
	for i := range f.files {
		f.mu.Lock()
		ff := &f.files[i]
		f.lines[i] = f.lines[i][:0]
		for {
			line, ok := ff.pending[ff.next]
			if !ok {
				break
			}
			delete(ff.pending, ff.next)
			f.lines[i] = append(f.lines[i], takenLn{ff.next, line})
			ff.next += int64(len(line)) + 1
		}
		f.nexts[i] = ff.next
		f.mu.Unlock()
		for _, l := range f.lines[i] {
			r := prefdata.Record{Offset: l.off, Data: l.data}
			var err error
			if i == 0 {
				rec, rs, ok := prefdata.DecodeResponsesLine(l.data)
				err = f.takeResponses(r, ok, rec, rs)
			} else {
				_, c, ok := prefdata.DecodeCandidateLine(l.data)
				err = f.takeScores(r, ok, c)
			}
			if err != nil {
				f.broken = true // Summary reads the file, and reports the line
				return
			}
		}
		clear(f.lines[i])
	}
}

// takeResponses adds a line of the responses journal, decoded by hand or
// not, as readGenerated does.
func (f *follower) takeResponses(r prefdata.Record, decoded bool, rec prefdata.CacheRecord, rs []prefdata.Response) error {
	if !decoded {
		var err error
		if rec, rs, err = responsesFallback(f.d, r); err != nil {
			return err
		}
	}
	return f.gen.responseRecord(rec, rs)
}

// takeScores adds a line of the scores journal: its scores and comparisons
// at once, its responses once the responses journal's are all in.
func (f *follower) takeScores(r prefdata.Record, decoded bool, c *prefdata.Candidate) error {
	if !decoded {
		var err error
		if c, err = scoresFallback(f.d, r); err != nil {
			return err
		}
	}
	if c == nil {
		return errors.New("value: missing or null")
	}
	for _, resp := range c.Responses {
		// What the summary keeps of a response (fill reads no more).
		f.events = append(f.events, respEvent{prefdata.Response{ID: resp.ID, Model: resp.Model, System: resp.System, Sampling: resp.Sampling}, isRef(resp)})
	}
	f.judged.judgments(*c)
	return nil
}

// finish stops following and returns the generated group's accum and the
// sizes of its files, or nil when the files hold lines it did not take.
// It is called once the run is done appending.
func (f *follower) finish() (*accum, []int64) {
	f.once.Do(func() {
		for _, stop := range f.stops {
			stop()
		}
		close(f.quit)
		<-f.done
		if f.broken {
			return
		}
		sizes := fileSizes(f.d, f.names[:])
		for i := range f.names {
			if f.nexts[i] != max(sizes[i], 0) { // -1: no file, and no line taken
				return // another writer, or a repaired torn line
			}
		}
		a := f.gen
		for _, ev := range f.events {
			a.candidateResponse(ev.r, ev.ref)
		}
		a.scores, a.comps = f.judged.scores, f.judged.comps
		f.built, f.sizes = a, sizes
		f.events, f.gen, f.judged = nil, nil, nil
	})
	return f.built, f.sizes
}
