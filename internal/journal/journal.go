package journal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Error is a storage failure: what was done (Op) to which file (Path).
type Error struct {
	Op   string // "open", "append", "sync", "read", "scan", "lock", "write", "index"
	Path string
	Err  error
}

func (e *Error) Error() string { return "prefdata: " + e.Op + " " + e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// File is what Dir needs of an open journal file. *os.File is one; tests
// inject others (a disk that fills up).
type File interface {
	io.Writer
	io.ReaderAt
	io.Seeker
	Stat() (os.FileInfo, error)
	Sync() error
	Close() error
}

// OpenFunc opens path for appending (O_RDWR|O_CREATE|O_APPEND).
type OpenFunc func(path string) (File, error)

func openAppend(path string) (File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
}

// Fragment is a half-written line found at the end of a file (a crash, a
// full disk) and ended with a newline so the next record starts on its own
// line. Readers skip it (it is not valid JSON) or recover a record glued to
// it with [SplitFragment].
type Fragment struct {
	Path   string
	Offset int64 // where the fragment starts
	Size   int64 // its bytes, without the newline added after it
	Line   int   // its line number, when found by a scan
}

func (f Fragment) String() string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d: skipped a half-written line of %d bytes at byte %d", f.Path, f.Line, f.Size, f.Offset)
	}
	return fmt.Sprintf("%s: a half-written line of %d bytes at byte %d was ended with a newline", f.Path, f.Size, f.Offset)
}

// DefaultSyncInterval is the most time between fsyncs of a file appended to.
const DefaultSyncInterval = time.Second

// Dir is a folder of journals. It is safe for concurrent use.
type Dir struct {
	path string
	// Open opens a journal for appending; nil means the operating system's.
	Open OpenFunc
	// OnFragment, if set, is called for each repaired fragment.
	OnFragment func(Fragment)

	syncEvery atomic.Int64 // see SetSyncInterval

	mu      sync.Mutex
	files   map[string]*appender
	open    sync.Map // name → *appender: files, read without mu
	readers map[string]*os.File
	frags   []Fragment
	// behind counts the syncs SyncBehind started; behindErr holds their
	// errors (under mu) for the next Sync or Close.
	behind    sync.WaitGroup
	behindErr []error
}

// SetSyncInterval bounds the time between fsyncs of a file appended to;
// zero means DefaultSyncInterval, negative means after every line.
func (d *Dir) SetSyncInterval(t time.Duration) { d.syncEvery.Store(int64(t)) }

// New returns the Dir at path, creating the folder if needed.
func New(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, &Error{"open", path, err}
	}
	return &Dir{path: path, files: map[string]*appender{}, readers: map[string]*os.File{}}, nil
}

// Path returns the folder's path, or the path of a file in it.
func (d *Dir) Path(name ...string) string {
	return filepath.Join(append([]string{d.path}, name...)...)
}

// Fragments returns the fragments repaired so far.
func (d *Dir) Fragments() []Fragment {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Fragment(nil), d.frags...)
}

// Report records a fragment found by a reader.
func (d *Dir) Report(f Fragment) { d.fragment(f) }

func (d *Dir) fragment(f Fragment) {
	d.mu.Lock()
	d.frags = append(d.frags, f)
	cb := d.OnFragment
	d.mu.Unlock()
	if cb != nil {
		cb(f)
	}
}

type appender struct {
	// mu is held by the goroutine writing to the file (and by sync and
	// close). Lines wait in queue meanwhile, and the next holder writes
	// every line waiting in one write: group commit.
	mu     fileLock
	path   string
	f      File
	writes int64  // lines written (under mu)
	torn   bool   // the last write may have left a fragment: check before the next
	closed bool   // closed by CloseFile or Close: appends go to a new appender
	buf    []byte // the batch being written (under mu)
	batch  []*request

	qmu   sync.Mutex
	queue []*request

	// The periodic sync runs outside mu, so that appends of other
	// goroutines do not wait on the disk: synced is the count of writes
	// the last successful sync covered, lastSync (unix ns) when it began,
	// syncing whether one is running, and syncs lets sync and close wait
	// for it.
	synced   atomic.Int64
	lastSync atomic.Int64
	syncing  atomic.Bool
	syncs    sync.WaitGroup
}

// fileLock is a lock whose waiters sleep at once: its holder is usually in
// a write to the kernel, and a sync.Mutex's waiters would spin for it.
type fileLock chan struct{}

func (l fileLock) Lock()   { l <- struct{}{} }
func (l fileLock) Unlock() { <-l }

// request is one line waiting to be written; done, off and err are set
// under the appender's mu by the goroutine that wrote it.
type request struct {
	line []byte
	done bool
	off  int64
	err  error
}

var requests = sync.Pool{New: func() any { return new(request) }}

func (d *Dir) appender(name string) (*appender, error) {
	if a, ok := d.open.Load(name); ok {
		return a.(*appender), nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if a, ok := d.files[name]; ok {
		return a, nil
	}
	path := d.Path(name)
	open := d.Open
	if open == nil {
		open = openAppend
	}
	f, err := open(path)
	if err != nil {
		return nil, &Error{"open", path, err}
	}
	// A file is never truncated: another process may be appending to it.
	// A torn tail is checked for, and ended, before the first write.
	a := &appender{path: path, f: f, torn: true, mu: make(fileLock, 1)}
	a.lastSync.Store(time.Now().UnixNano())
	d.files[name] = a
	d.open.Store(name, a)
	return a, nil
}

// forget removes a from the open files; d.mu is held.
func (d *Dir) forget(name string, a *appender) {
	if d.files[name] == a {
		delete(d.files, name)
		d.open.Delete(name)
	}
}

// tornTail returns where a half-written last line starts and how long it
// is, or size -1 when the file ends with a newline (or is empty).
func tornTail(f io.ReaderAt, size int64) (start int64, err error) {
	if size == 0 {
		return -1, nil
	}
	var b [1]byte
	if _, err := f.ReadAt(b[:], size-1); err != nil {
		return 0, err
	}
	if b[0] == '\n' {
		return -1, nil
	}
	buf := make([]byte, 4096)
	for end := size; end > 0; {
		lo := max(end-int64(len(buf)), 0)
		n, err := f.ReadAt(buf[:end-lo], lo)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return lo + int64(i) + 1, nil
		}
		end = lo
	}
	return 0, nil
}

// Append writes line (a newline is added) at the end of the named file in
// one write and returns the offset where it starts. When it returns nil the
// whole line is in the operating system's hands; it is synced to disk within
// the sync interval.
//
// Lines appended to one file at once by several goroutines are written
// together, in one write: each Append still returns only once its own line
// is written.
func (d *Dir) Append(name string, line []byte) (int64, error) {
	req := requests.Get().(*request)
	*req = request{line: line}
	one := [1]*request{req}
	err := d.appendAll(name, one[:])
	off := req.off
	if err == nil {
		err = req.err
	}
	*req = request{}
	requests.Put(req)
	return off, err
}

// AppendLines appends lines to the named file like as many Appends, in
// one write, and returns where each starts. When the error is nil every
// line is in the operating system's hands; otherwise offs[i] is -1 for each
// line that failed (a short write may have written the first lines whole).
func (d *Dir) AppendLines(name string, lines [][]byte) (offs []int64, err error) {
	all := make([]request, len(lines))
	reqs := make([]*request, len(lines))
	for i, l := range lines {
		all[i].line = l
		reqs[i] = &all[i]
	}
	err = d.appendAll(name, reqs)
	offs = make([]int64, len(lines))
	for i, r := range reqs {
		offs[i] = r.off
		if r.err != nil {
			offs[i] = -1
			if err == nil {
				err = r.err
			}
		}
	}
	return offs, err
}

// appendAll queues reqs together and returns once they are written; each
// request's result is in it. The error is one of the caller alone (a
// periodic sync it ran).
func (d *Dir) appendAll(name string, reqs []*request) error {
	for {
		a, err := d.appender(name)
		if err != nil {
			return err
		}
		a.qmu.Lock()
		a.queue = append(a.queue, reqs...)
		a.qmu.Unlock()
		a.mu.Lock()
		if reqs[0].done {
			// Written by the goroutine that held the file before (all of
			// them: they were queued at once).
			a.mu.Unlock()
			return nil
		}
		if a.closed {
			// Closed meanwhile: the lines go to the file opened again.
			a.mu.Unlock()
			continue
		}
		return d.writeQueue(a)
	}
}

// writeQueue writes every line waiting for a in one write and sets each
// request's result; a.mu is held, and released on return. The error is the
// caller's own: a periodic sync that failed.
func (d *Dir) writeQueue(a *appender) error {
	// Let the goroutines ready to run on this thread run first: those that
	// append to this file queue their lines meanwhile, and the one write
	// takes them too. With none ready this returns at once.
	runtime.Gosched()
	a.qmu.Lock()
	a.batch, a.queue = a.queue, a.batch[:0]
	a.qmu.Unlock()
	batch := a.batch
	locked := true
	defer func() {
		if locked {
			clear(batch)
			a.mu.Unlock()
		}
	}()
	fail := func(err error) error {
		for _, r := range batch {
			r.done, r.err = true, err
		}
		return nil
	}
	buf := a.buf[:0]
	if a.torn {
		st, err := a.f.Stat()
		if err != nil {
			return fail(&Error{"append", a.path, err})
		}
		start, err := tornTail(a.f, st.Size())
		if err != nil {
			return fail(&Error{"append", a.path, err})
		}
		if start >= 0 {
			buf = append(buf, '\n')
			d.fragment(Fragment{Path: a.path, Offset: start, Size: st.Size() - start})
		}
		a.torn = false
	}
	for _, r := range batch {
		buf = append(buf, r.line...)
		buf = append(buf, '\n')
	}
	if cap(buf) <= 1<<20 {
		a.buf = buf
	}
	n, werr := a.f.Write(buf)
	if werr == nil && n < len(buf) {
		werr = io.ErrShortWrite
	}
	if werr != nil {
		a.torn = true
	}
	if n == 0 && werr != nil {
		return fail(&Error{"append", a.path, werr})
	}
	end, err := a.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fail(&Error{"append", a.path, err})
	}
	// buf landed at end-n: each line gets its offset, or, past the part a
	// short write wrote, the write's error.
	start := end - int64(n)
	at := int64(len(buf))
	for _, r := range batch {
		at -= int64(len(r.line)) + 1
	}
	written := 0
	for _, r := range batch {
		lineEnd := at + int64(len(r.line)) + 1
		r.done = true
		if lineEnd <= int64(n) {
			r.off = start + at
			written++
		} else {
			r.err = &Error{"append", a.path, werr}
		}
		at = lineEnd
	}
	a.writes += int64(written)
	interval := time.Duration(d.syncEvery.Load())
	if interval == 0 {
		interval = DefaultSyncInterval
	}
	if interval < 0 {
		// A sync per append: the lines are on disk when Append returns.
		if err := a.sync(); err != nil {
			for _, r := range batch {
				if r.err == nil {
					r.err = err
				}
			}
		}
		return nil
	}
	now := time.Now()
	if now.Sub(time.Unix(0, a.lastSync.Load())) < interval || !a.syncing.CompareAndSwap(false, true) {
		return nil
	}
	// The periodic sync: this goroutine runs it once its line is written,
	// with the lock released, so the other writers go on meanwhile.
	clear(batch)
	locked = false
	return a.syncUnlocking(now)
}

// syncUnlocking fsyncs the lines written so far with a.mu released, so
// that the other writers go on meanwhile: the caller holds a.mu and has
// set a.syncing, and a.mu is released on return.
func (a *appender) syncUnlocking(now time.Time) error {
	w := a.writes
	a.syncs.Add(1)
	a.mu.Unlock()
	defer a.syncs.Done()
	defer a.syncing.Store(false)
	if err := a.f.Sync(); err != nil {
		return &Error{"sync", a.path, err}
	}
	a.lastSync.Store(now.UnixNano())
	for {
		s := a.synced.Load()
		if s >= w || a.synced.CompareAndSwap(s, w) {
			break
		}
	}
	return nil
}

// SyncBehind starts writing every file's lines so far to disk in the
// background, and returns at once: appends go on meanwhile, and a later
// Sync has only what was written since to wait for. Sync and Close wait
// for it first, and return its error: a failed fsync is reported there,
// never lost.
func (d *Dir) SyncBehind() {
	d.mu.Lock()
	files := make([]*appender, 0, len(d.files))
	for _, a := range d.files {
		files = append(files, a)
	}
	d.behind.Add(1)
	d.mu.Unlock()
	go func() {
		defer d.behind.Done()
		for _, a := range files {
			a.mu.Lock()
			if a.closed || a.synced.Load() >= a.writes || !a.syncing.CompareAndSwap(false, true) {
				// Closed (and synced), clean, or being synced already.
				a.mu.Unlock()
				continue
			}
			if err := a.syncUnlocking(time.Now()); err != nil {
				d.mu.Lock()
				d.behindErr = append(d.behindErr, err)
				d.mu.Unlock()
			}
		}
	}()
}

// waitBehind waits for the syncs SyncBehind started and returns their
// errors, once.
func (d *Dir) waitBehind() error {
	d.behind.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	err := errors.Join(d.behindErr...)
	d.behindErr = nil
	return err
}

// sync writes the file's pending lines to disk; the caller holds a.mu.
func (a *appender) sync() error {
	a.syncs.Wait() // a periodic sync still running
	if a.synced.Load() >= a.writes {
		return nil
	}
	now := time.Now()
	if err := a.f.Sync(); err != nil {
		return &Error{"sync", a.path, err}
	}
	a.lastSync.Store(now.UnixNano())
	a.synced.Store(a.writes)
	return nil
}

// Line is one complete line of a journal.
type Line struct {
	Line   int   // 1-based
	Offset int64 // byte offset of the line
	Data   []byte
}

// Scan calls fn for every complete line of the named file from byte from,
// in order, numbering them from 1, and returns the offset after the last
// complete line and how many lines it read. A missing file has no lines. A
// last line without its newline (being written, or cut by a crash) is not
// passed. Data is valid only during the call; empty lines (left by a repair)
// are counted but not passed. An error from fn stops the scan.
func (d *Dir) Scan(name string, from int64, fn func(Line) error) (end int64, lines int, err error) {
	path := d.Path(name)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return from, 0, nil
	}
	if err != nil {
		return from, 0, &Error{"scan", path, err}
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return from, 0, &Error{"scan", path, err}
	}
	r := bufio.NewReaderSize(f, 256<<10)
	off := from
	var big []byte
	for n := 1; ; n++ {
		data, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			big = append(big[:0], data...)
			for errors.Is(err, bufio.ErrBufferFull) {
				data, err = r.ReadSlice('\n')
				big = append(big, data...)
			}
			data = big
		}
		if errors.Is(err, io.EOF) {
			return off, n - 1, nil
		}
		if err != nil {
			return off, n - 1, &Error{"scan", path, err}
		}
		if len(data) > 1 {
			if err := fn(Line{Line: n, Offset: off, Data: data[:len(data)-1]}); err != nil {
				return off, n - 1, err
			}
		}
		off += int64(len(data))
	}
}

func (d *Dir) reader(name string) (*os.File, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f, ok := d.readers[name]; ok {
		return f, nil
	}
	f, err := os.Open(d.Path(name))
	if err != nil {
		return nil, &Error{"read", d.Path(name), err}
	}
	d.readers[name] = f
	return f, nil
}

// ReadLine returns the complete line that starts at offset in the named
// file, without its newline.
func (d *Dir) ReadLine(name string, offset int64) ([]byte, error) {
	line, err := d.ReadLineInto(name, offset, make([]byte, 2048))
	return line[:len(line):len(line)], err
}

// ReadLineInto is ReadLine reading into buf's capacity: the line returned
// is in buf when it fits (its capacity is buf's, for reuse), in a larger
// buffer otherwise.
func (d *Dir) ReadLineInto(name string, offset int64, buf []byte) ([]byte, error) {
	f, err := d.reader(name)
	if err != nil {
		return nil, err
	}
	if cap(buf) < 512 {
		buf = make([]byte, 2048)
	}
	buf = buf[:cap(buf)]
	n, err := f.ReadAt(buf, offset)
	if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
		return buf[:i], nil // the common case: one read, no copy
	}
	out := append([]byte(nil), buf[:n]...)
	offset += int64(n)
	for err == nil {
		n, err = f.ReadAt(buf, offset)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return append(out, buf[:i]...), nil
		}
		out = append(out, buf[:n]...)
		offset += int64(n)
	}
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("no complete line at byte %d", offset)
	}
	return nil, &Error{"read", d.Path(name), err}
}

// Sync writes every file's pending lines to disk.
func (d *Dir) Sync() error {
	behind := d.waitBehind()
	d.mu.Lock()
	files := make([]*appender, 0, len(d.files))
	for _, a := range d.files {
		files = append(files, a)
	}
	d.mu.Unlock()
	errs := []error{behind}
	for _, a := range files {
		a.mu.Lock()
		errs = append(errs, a.sync())
		a.mu.Unlock()
	}
	return errors.Join(errs...)
}

// CloseFile syncs and closes the named file if it is open for appending.
func (d *Dir) CloseFile(name string) error {
	d.mu.Lock()
	a, ok := d.files[name]
	if ok {
		d.forget(name, a)
	}
	d.mu.Unlock()
	if !ok {
		return nil
	}
	return a.close()
}

// close syncs and closes the file; appends waiting for it go to the file
// opened again.
func (a *appender) close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	err := a.sync()
	if cerr := a.f.Close(); err == nil && cerr != nil {
		err = &Error{"close", a.path, cerr}
	}
	return err
}

// Close syncs and closes the files; the Dir may be used again afterwards.
func (d *Dir) Close() error {
	behind := d.waitBehind()
	d.mu.Lock()
	files := make([]*appender, 0, len(d.files))
	for name, a := range d.files {
		files = append(files, a)
		d.forget(name, a)
	}
	for name, f := range d.readers {
		f.Close()
		delete(d.readers, name)
	}
	d.mu.Unlock()
	errs := []error{behind}
	for _, a := range files {
		errs = append(errs, a.close())
	}
	return errors.Join(errs...)
}

// SplitFragment splits a line that is not one JSON object into the fragment
// a crash left and the JSON object glued after it, by finding the last `{`
// from which the rest of the line is valid JSON. ok is false when there is
// no such record (the whole line is a fragment).
func SplitFragment(line []byte, valid func([]byte) bool) (frag, rec []byte, ok bool) {
	for i := len(line) - 1; i > 0; i-- {
		if line[i] == '{' && valid(line[i:]) {
			return line[:i], line[i:], true
		}
	}
	return line, nil, false
}

// WriteFile replaces the named file atomically: it writes a temporary file,
// syncs it, renames it over the old one and syncs the folder.
func (d *Dir) WriteFile(name string, data []byte) error {
	path := d.Path(name)
	tmp, err := os.CreateTemp(d.path, "."+name+".tmp*")
	if err != nil {
		return &Error{"write", path, err}
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return &Error{"write", path, err}
	}
	if df, err := os.Open(d.path); err == nil {
		df.Sync() // best effort: some file systems cannot sync a folder
		df.Close()
	}
	return nil
}

func filepathDir(p string) string { return filepath.Dir(p) }
