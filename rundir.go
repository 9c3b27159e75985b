package prefdata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prefdata/prefdata/internal/journal"
)

// The files of a run directory. Each is JSONL, one record a line, appended
// to and never rewritten, except the manifest.
const (
	FileManifest  = "manifest.json"
	FilePrompts   = "prompts.jsonl"   // stage 1: every prompt read, kept or dropped and why ([PromptRecord])
	FileStage1    = "stage1.jsonl"    // stage 1: cached outputs of fingerprinted prompt filters ([CacheRecord] of [Stage1Result])
	FileResponses = "responses.jsonl" // stage 2: one line per (generator, prompt) with its responses ([CacheRecord])
	FileScores    = "scores.jsonl"    // stage 3: cached outputs of fingerprinted filters ([CacheRecord])
	FileLabels    = "labels.jsonl"    // cached outputs of fingerprinted labelers ([CacheRecord])
	FileCalls     = "calls.jsonl"     // one line per paid call, written when its answer arrives ([CacheRecord])
	FilePairs     = "pairs.jsonl"     // one line per finished prompt with all its pairs ([PairsRecord])
	FileQueue     = "queue.jsonl"     // pairs waiting for people (stage 4), one [QueueRecord] a line
	FileFailures  = "failures.jsonl"  // one [Failure] a line
	FileLock      = journal.LockFile  // the run lock: who holds it
)

// ManifestVersion is the manifest's version this package writes. A
// directory whose manifest has a higher version is refused. Version 3 marks a
// directory whose pairs and queue lines may refer to responses by ID, so a
// prefdata that would read those references as empty responses refuses it
// instead; a version 2 directory is read as it is and written as version 3
// from its next run on.
const ManifestVersion = 3

// DefaultSyncInterval is how often, at most, a run directory's files are
// synced to disk when [RunDir.SyncInterval] is zero. Every record is written
// to the operating system before it counts as done, so a killed process loses
// nothing; a machine crash loses at most this much.
const DefaultSyncInterval = journal.DefaultSyncInterval

// StorageError is a failure of the run directory itself (a full disk, an
// unwritable file), as opposed to one item's: Op, the file's Path and the
// cause. Every error of a RunDir's file operations is one; match it with
// errors.As.
type StorageError = journal.Error

// LockedError is returned by [RunDir.Lock] when another run holds the
// directory: it names the holder (pid, host, start time).
type LockedError = journal.LockedError

// ErrLocked is matched by errors.Is when a run directory is locked by
// another run.
var ErrLocked = journal.ErrLocked

// Fragment is a half-written line (a crash, a full disk) that was ended with
// a newline so the next record starts on its own line.
type Fragment = journal.Fragment

// JournalFile is what a run directory needs of an open journal file; see
// [RunDir.OpenFile].
type JournalFile interface {
	io.Writer
	io.ReaderAt
	io.Seeker
	Stat() (os.FileInfo, error)
	Sync() error
	Close() error
}

// RunDir is a run directory: the embedded store of a run. It is a folder of
// append-only JSONL files, a manifest, a lock and on-disk indexes (index/).
// Records are appended with [RunDir.Append] or [RunDir.Put] and read back
// with [RunDir.Scan], [RunDir.Get] and the typed readers of package runstore.
//
// A RunDir is safe for concurrent use. Records are appended with O_APPEND,
// each in one write, so several RunDirs (or processes) appending to the same
// file do not overwrite each other's lines, and no file is ever truncated. A
// half-written last line (a crash, a full disk) is ended with a newline
// before the next record and reported ([RunDir.Fragments]). Only one run at
// a time may use a directory ([RunDir.Lock]); other packages keep their own
// files in it (the labeling server's labels, say) through the same methods
// without the lock.
type RunDir struct {
	dir string
	// SyncInterval bounds the time between fsyncs of a file that is being
	// appended to; zero means DefaultSyncInterval, negative means sync after
	// every record.
	SyncInterval time.Duration
	// OpenFile, if set before the first append, opens the journals for
	// appending instead of the operating system (tests inject a disk that
	// fills up). The file must behave like one opened with O_APPEND.
	OpenFile func(path string) (JournalFile, error)

	j *journal.Dir

	once sync.Once
	mu   sync.Mutex
	// opened holds the open indexes (name → *journal.Index), read without
	// mu; changed under it.
	opened sync.Map
	lock   *journal.Lock
	// taps are the Tap callbacks by file name (nil: none); replaced whole
	// under mu.
	taps atomic.Pointer[map[string][]*tap]
	// behind is the index syncs syncBehind started, which Sync and Close
	// wait for; behindErr is their error (under mu).
	behind    sync.WaitGroup
	behindErr error
	// syncDue is a sync deferred by deferSync (under mu).
	syncDue bool
}

// tap is one Tap: fn, until stopped.
type tap struct {
	fn      func(off int64, line []byte)
	stopped atomic.Bool
}

// Tap calls fn with every line this RunDir appends to the named file from
// now on (a record, without its newline) and the offset it starts at, once
// it is written; not the lines other RunDirs or processes append. fn runs
// on the appending goroutine, so it must be quick; calls may be concurrent
// and out of offset order, and line is valid only during the call. After
// stop returns, only calls already under way may still end. A reader that
// follows a journal while a run writes it (the summary a dataset card is
// made from) takes the lines from memory instead of reading them back.
func (d *RunDir) Tap(name string, fn func(off int64, line []byte)) (stop func()) {
	t := &tap{fn: fn}
	d.mu.Lock()
	m := map[string][]*tap{}
	if old := d.taps.Load(); old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[name] = append(append([]*tap(nil), m[name]...), t)
	d.taps.Store(&m)
	d.mu.Unlock()
	return func() {
		t.stopped.Store(true)
		d.mu.Lock()
		defer d.mu.Unlock()
		old := d.taps.Load()
		m := map[string][]*tap{}
		for k, v := range *old {
			for _, x := range v {
				if x != t {
					m[k] = append(m[k], x)
				}
			}
		}
		if len(m) == 0 {
			d.taps.Store(nil)
			return
		}
		d.taps.Store(&m)
	}
}

// tapped hands a line appended to name at off to its taps.
func (d *RunDir) tapped(name string, off int64, line []byte) {
	m := d.taps.Load()
	if m == nil {
		return
	}
	for _, t := range (*m)[name] {
		if !t.stopped.Load() {
			t.fn(off, line)
		}
	}
}

// OpenRunDir opens the run directory at dir, creating it if needed. It reads
// nothing and truncates nothing.
func OpenRunDir(dir string) (*RunDir, error) {
	j, err := journal.New(dir)
	if err != nil {
		return nil, err
	}
	return &RunDir{dir: dir, j: j}, nil
}

// Dir returns the folder's path.
func (d *RunDir) Dir() string { return d.dir }

// Path returns the path of the named file inside the run directory.
func (d *RunDir) Path(name string) string { return d.j.Path(name) }

func (d *RunDir) setup() {
	d.once.Do(func() {
		if d.OpenFile != nil {
			open := d.OpenFile
			d.j.Open = func(p string) (journal.File, error) { return open(p) }
		}
	})
	d.j.SetSyncInterval(d.SyncInterval)
}

// Fragments returns the half-written lines this RunDir found: at the end of
// a file, ended before appending, and inside files, skipped by Scan.
func (d *RunDir) Fragments() []Fragment { return d.j.Fragments() }

// Append writes v as one JSON line at the end of the named file. When Append
// returns nil the whole record is in the operating system's hands; it is
// synced to disk within the directory's sync interval. A failed write
// returns a *[StorageError] naming the file.
func (d *RunDir) Append(name string, v any) error {
	_, _, err := d.appendAt(name, v)
	return err
}

func (d *RunDir) appendAt(name string, v any) (off, end int64, err error) {
	line, err := marshal(v)
	if err != nil {
		return 0, 0, &StorageError{Op: "encode record for", Path: d.Path(name), Err: err}
	}
	defer putBuf(line)
	d.setup()
	off, err = d.j.Append(name, line)
	if err != nil {
		return 0, 0, err
	}
	d.tapped(name, off, line)
	end = off + int64(len(line)) + 1
	x := d.openedIndex(name)
	if x != nil {
		// An indexed journal indexes every line appended through this
		// RunDir, whoever appends it.
		if k, ok := keyOf(name)(line); ok {
			if err := x.Put(k, off, end); err != nil {
				return 0, 0, err
			}
		} else {
			x.Cover(off, end)
		}
	}
	return off, end, nil
}

// appendLines appends lines (JSON records, without newlines) to the named
// file in one write, like as many Appends; keys, if not nil, are their index
// keys (the file is then indexed), otherwise an indexed file's lines are
// indexed by their own.
func (d *RunDir) appendLines(name string, keys []string, lines [][]byte) error {
	var x *journal.Index
	if keys != nil {
		var err error
		if x, err = d.index(name); err != nil {
			return err
		}
	} else {
		x = d.openedIndex(name)
	}
	d.setup()
	offs, err := d.j.AppendLines(name, lines)
	for i, off := range offs {
		if off >= 0 {
			d.tapped(name, off, lines[i])
		}
	}
	if x != nil {
		// Every line written is indexed, even when a later one failed.
		for i, off := range offs {
			if off < 0 {
				continue
			}
			k, ok := "", false
			if keys != nil {
				k, ok = keys[i], true
			} else {
				k, ok = keyOf(name)(lines[i])
			}
			end := off + int64(len(lines[i])) + 1
			if !ok {
				x.Cover(off, end)
			} else if perr := x.Put(k, off, end); perr != nil && err == nil {
				err = perr
			}
		}
	}
	return err
}

// Record is one complete line of a run-directory file.
type Record struct {
	Line   int   // 1-based line number
	Offset int64 // byte offset of the line in the file
	Data   []byte
}

// Scan calls fn for every complete line of the named file, in order. A
// missing file has no lines. A half-written last line (no newline: being
// written, or cut by a crash) is skipped, and so are the empty lines a
// repair leaves. Data is only valid during the call. An error from fn stops
// the scan and is returned.
func (d *RunDir) Scan(name string, fn func(Record) error) error {
	_, _, err := d.ScanFrom(name, 0, 0, fn, nil)
	return err
}

// ScanFrom scans like Scan from byte offset from (the start of a line, a
// value ScanFrom returned), numbering lines from line+1, and returns the
// offset after the last complete line and the number of that line: a reader
// that follows a file others append to calls it again from there.
//
// onFragment, if not nil, is also called for each half-written line skipped.
func (d *RunDir) ScanFrom(name string, from int64, line int, fn func(Record) error, onFragment func(Fragment)) (end int64, lastLine int, err error) {
	return d.scanFrom(name, from, line, nil, func(r Record, _ bool) error { return fn(r) }, onFragment)
}

// ScanDecoded scans like Scan, for a reader with a decoder of its own that
// takes only valid JSON: each line is given to decode first, and one it
// takes (true) is passed to fn as it is, with decoded true, without the
// check Scan makes of every line for a fragment (a valid JSON line is not
// one); any other line is checked as Scan checks it and passed with
// decoded false, for the reader to decode otherwise.
func (d *RunDir) ScanDecoded(name string, decode func(line []byte) bool, fn func(r Record, decoded bool) error) error {
	_, _, err := d.scanFrom(name, 0, 0, decode, fn, nil)
	return err
}

func (d *RunDir) scanFrom(name string, from int64, line int, decode func([]byte) bool, fn func(Record, bool) error, onFragment func(Fragment)) (end int64, lastLine int, err error) {
	end, n, err := d.j.Scan(name, from, func(l journal.Line) error {
		l.Line += line
		if decode != nil && decode(l.Data) {
			return fn(Record{Line: l.Line, Offset: l.Offset, Data: l.Data}, true)
		}
		if l.Data[0] == '{' && !json.Valid(l.Data) {
			// A fragment a crash or a full disk left, ended by a later
			// writer: skipped and reported. A record glued to it by a
			// writer that did not know is recovered. Any other line that
			// is not JSON is passed on, for the reader to name.
			frag, rec, ok := SplitFragment(l.Data)
			if ok || truncated(l.Data) {
				f := journal.Fragment{Path: d.Path(name), Offset: l.Offset, Size: int64(len(frag)), Line: l.Line}
				d.j.Report(f)
				if onFragment != nil {
					onFragment(f)
				}
				if !ok {
					return nil
				}
				l.Offset, l.Data = l.Offset+int64(len(frag)), rec
			}
		}
		return fn(Record{Line: l.Line, Offset: l.Offset, Data: l.Data}, false)
	})
	return end, line + n, err
}

// CloseFile syncs and closes the named file if it is open for appending; the
// next Append opens it again.
func (d *RunDir) CloseFile(name string) error { return d.j.CloseFile(name) }

// ReadLine returns the complete line that starts at offset in the named file,
// as found by [RunDir.Scan].
func (d *RunDir) ReadLine(name string, offset int64) ([]byte, error) {
	return d.j.ReadLine(name, offset)
}

// SplitFragment recovers a record glued to a fragment: a line that is not
// one JSON value is split at the last `{` after which the rest is one. ok is
// false when the line holds no such record.
func SplitFragment(line []byte) (fragment, record []byte, ok bool) {
	return journal.SplitFragment(line, json.Valid)
}

// truncated reports whether line is the start of a JSON value cut short.
func truncated(line []byte) bool {
	var v json.RawMessage
	err := json.NewDecoder(bytes.NewReader(line)).Decode(&v)
	return errors.Is(err, io.ErrUnexpectedEOF)
}

// Lock takes the run's exclusive lock (an flock on run.lock, released when
// the process ends however it ends) and records the holder's pid, host and
// start time in it. When another run holds it, Lock returns a
// *[LockedError] naming the holder. The Pipeline takes it for the length of
// a Run; the labeling server and imports append to their own files without
// it.
func (d *RunDir) Lock() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lock != nil {
		return nil
	}
	l, err := d.j.Lock(strings.Join(os.Args, " "))
	if err != nil {
		return err
	}
	d.lock = l
	return nil
}

// Unlock releases the lock taken by Lock.
func (d *RunDir) Unlock() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.lock.Unlock()
	d.lock = nil
	return err
}

// keyOf returns the index key of a line of the named journal.
func keyOf(name string) journal.KeyFunc {
	switch name {
	case FilePrompts:
		return func(line []byte) (string, bool) {
			if k, ok := fastKey(line); ok {
				return k, true
			}
			var r PromptRecord
			if json.Unmarshal(line, &r) != nil {
				return "", false
			}
			if r.Key != "" {
				return r.Key, true
			}
			return PromptKey(r.Prompt), true
		}
	case FileQueue:
		return func(line []byte) (string, bool) {
			var p struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(line, &p) != nil || p.ID == "" {
				return "", false
			}
			return p.ID, true
		}
	}
	return func(line []byte) (string, bool) {
		if k, ok := fastKey(line); ok {
			return k, true
		}
		var r struct {
			Key string `json:"key"`
		}
		if json.Unmarshal(line, &r) != nil || r.Key == "" {
			return "", false
		}
		return r.Key, true
	}
}

// fastKey reads the "key" field of a record this package wrote (it comes
// first, after "v"), without decoding the line.
func fastKey(line []byte) (string, bool) {
	head := line[:min(len(line), 24)]
	i := bytes.Index(head, []byte(`"key":"`))
	if i < 0 {
		return "", false
	}
	rest := line[i+7:]
	j := bytes.IndexByte(rest[:min(len(rest), 256)], '"')
	if j <= 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return "", false
	}
	return string(rest[:j]), true
}

// index returns the on-disk index of the named journal, opening (and
// catching up) it on first use.
func (d *RunDir) index(name string) (*journal.Index, error) {
	if x := d.openedIndex(name); x != nil {
		return x, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if x := d.openedIndex(name); x != nil {
		return x, nil
	}
	x, err := d.j.OpenIndex(name, keyOf(name))
	if err != nil {
		return nil, err
	}
	d.opened.Store(name, x)
	return x, nil
}

// openedIndex returns the index of the named journal if it is open, nil
// otherwise, without taking d.mu (every lookup and append asks).
func (d *RunDir) openedIndex(name string) *journal.Index {
	if x, ok := d.opened.Load(name); ok {
		return x.(*journal.Index)
	}
	return nil
}

// Index opens the on-disk index of the named journal now (it is otherwise
// opened on first use): a directory written without one is indexed by
// scanning the journal once.
func (d *RunDir) Index(name string) error {
	_, err := d.index(name)
	return err
}

// Put appends rec to the named journal and indexes it under rec.Key, so
// that [RunDir.Get] finds it, in this run and the next. It returns once the
// whole line is in the operating system's hands. V is set to RecordVersion.
// rec.Value must be valid JSON (json.Marshal's output): it is written as it
// is.
func (d *RunDir) Put(name string, rec CacheRecord) error {
	_, err := d.put(name, rec)
	return err
}

// put is Put; it returns where the line starts.
func (d *RunDir) put(name string, rec CacheRecord) (int64, error) {
	rec.V = RecordVersion
	x, err := d.index(name)
	if err != nil {
		return 0, err
	}
	line := rec.appendJSON(getBuf())
	defer putBuf(line)
	d.setup()
	off, err := d.j.Append(name, line)
	if err != nil {
		return 0, err
	}
	d.tapped(name, off, line)
	return off, x.Put(rec.Key, off, off+int64(len(line))+1)
}

// PutLine appends v, a record whose index key is key, to the named journal
// and indexes it.
func (d *RunDir) PutLine(name, key string, v any) error {
	x, err := d.index(name)
	if err != nil {
		return err
	}
	line, err := marshal(v)
	if err != nil {
		return &StorageError{Op: "encode record for", Path: d.Path(name), Err: err}
	}
	defer putBuf(line)
	d.setup()
	off, err := d.j.Append(name, line)
	if err != nil {
		return err
	}
	d.tapped(name, off, line)
	return x.Put(key, off, off+int64(len(line))+1)
}

// Get returns the latest record of the named journal put under key.
//
// A line that does not decode (a fragment a crash left under the key) is
// not found: the work is done again.
func (d *RunDir) Get(name, key string) (CacheRecord, bool, error) {
	rec, _, ok, err := d.get(name, key)
	return rec, ok, err
}

// get is Get; it also returns where the record's line starts.
func (d *RunDir) get(name, key string) (CacheRecord, int64, bool, error) {
	line, off, ok, err := d.lookupAt(name, key, false, getBuf())
	if err != nil || !ok {
		return CacheRecord{}, 0, false, err
	}
	defer putBuf(line)
	var rec CacheRecord // declared here: a miss allocates nothing
	if json.Unmarshal(line, &rec) != nil || rec.Key != key {
		return CacheRecord{}, 0, false, nil
	}
	return rec, off, true, nil
}

// Has reports whether the named journal has a line with the key: the done
// key in FilePairs, [PromptKey] in FilePrompts, the pair ID in FileQueue,
// Key in the cache journals.
func (d *RunDir) Has(name, key string) (bool, error) {
	line, _, ok, err := d.lookupAt(name, key, true, getBuf())
	if ok {
		putBuf(line)
	}
	return ok, err
}

// Lookup returns the latest line of the named journal with the key.
func (d *RunDir) Lookup(name, key string) ([]byte, bool, error) {
	return d.lookup(name, key, true)
}

// lookup is Lookup; with validate false the caller decodes the line and
// treats a failure as a miss.
func (d *RunDir) lookup(name, key string, validate bool) ([]byte, bool, error) {
	line, _, ok, err := d.lookupAt(name, key, validate, nil)
	return line, ok, err
}

// lookupAt is lookup; it also returns where the line starts. The line is
// read into buf when it is not nil (a buffer of getBuf: when ok, the
// caller gives the line back with putBuf once it is done with it; when
// not, buf has been given back).
func (d *RunDir) lookupAt(name, key string, validate bool, buf []byte) (_ []byte, _ int64, ok bool, err error) {
	defer func() {
		if !ok && buf != nil {
			putBuf(buf)
		}
	}()
	x, err := d.index(name)
	if err != nil {
		return nil, 0, false, err
	}
	off, ok := x.Get(key)
	if !ok {
		return nil, 0, false, nil
	}
	var line []byte
	if buf != nil {
		line, err = d.j.ReadLineInto(name, off, buf)
	} else {
		line, err = d.j.ReadLine(name, off)
	}
	if err != nil {
		return nil, 0, false, err
	}
	if validate && !json.Valid(line) {
		return nil, 0, false, nil // a fragment: the work is done again
	}
	if k, ok := keyOf(name)(line); !ok || k != key {
		return nil, 0, false, nil // another key with the same hash
	}
	return line, off, true, nil
}

// Sync writes every file's pending records, and the indexes, to disk.
func (d *RunDir) Sync() error {
	errs := []error{d.waitBehind(), d.j.Sync()}
	d.mu.Lock()
	d.opened.Range(func(_, x any) bool {
		errs = append(errs, x.(*journal.Index).Sync())
		return true
	})
	d.mu.Unlock()
	return errors.Join(errs...)
}

// syncBehind starts writing what was appended so far to disk in the
// background (the journals, then the indexes) and returns at once; the next
// Sync or Close waits for it and returns its error, so it only shortens
// that Sync.
func (d *RunDir) syncBehind() {
	d.j.SyncBehind()
	d.behind.Add(1)
	go func() {
		defer d.behind.Done()
		var errs []error
		d.opened.Range(func(_, x any) bool {
			errs = append(errs, x.(*journal.Index).Sync())
			return true
		})
		if err := errors.Join(errs...); err != nil {
			d.mu.Lock()
			d.behindErr = errors.Join(d.behindErr, err)
			d.mu.Unlock()
		}
	}()
}

// deferSync leaves what was appended so far to be synced by the next
// startDeferredSync, Sync or Close.
func (d *RunDir) deferSync() {
	d.mu.Lock()
	d.syncDue = true
	d.mu.Unlock()
}

// startDeferredSync starts, in the background, the sync deferSync left.
func (d *RunDir) startDeferredSync() {
	d.mu.Lock()
	due := d.syncDue
	d.syncDue = false
	d.mu.Unlock()
	if due {
		d.syncBehind()
	}
}

// waitBehind waits for syncBehind's index syncs and returns their error,
// once; a deferred sync is then the caller's (Sync or Close) to do.
func (d *RunDir) waitBehind() error {
	d.behind.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.behindErr
	d.behindErr, d.syncDue = nil, false
	return err
}

// Close syncs and closes the directory's files and indexes and releases the
// lock. The RunDir may be used again afterwards: files are reopened on the
// next use.
func (d *RunDir) Close() error {
	errs := []error{d.waitBehind(), d.j.Close()}
	d.mu.Lock()
	d.opened.Range(func(name, x any) bool {
		errs = append(errs, x.(*journal.Index).Close())
		d.opened.Delete(name)
		return true
	})
	errs = append(errs, d.lock.Unlock())
	d.lock = nil
	d.mu.Unlock()
	return errors.Join(errs...)
}

// Manifest describes a run directory: written at the start and end of every
// run so a person (or the report) can see what ran.
type Manifest struct {
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Started is when the latest run began; the journals are cumulative
	// across runs, Stats are the latest run's.
	Started time.Time `json:"started"`
	// RunKey identifies the latest run's configuration: the pairs records
	// with this run key are the current ones.
	RunKey string `json:"run_key"`
	// RunID identifies the latest run.
	RunID      string   `json:"run_id,omitempty"`
	Generators []string `json:"generators,omitempty"`
	Filters    []string `json:"filters,omitempty"`
	Labeler    string   `json:"labeler,omitempty"`
	Stats      *Stats   `json:"stats,omitempty"`
}

// ManifestError is a manifest that cannot be read, with what to do.
type ManifestError struct {
	Path string
	Err  error
}

func (e *ManifestError) Error() string {
	return fmt.Sprintf("prefdata: %s is damaged (%v). It only describes the run, the journals beside it hold the work: move it away (mv %s %s.bad) and run again; the next run writes a new one and resumes", e.Path, e.Err, e.Path, e.Path)
}

func (e *ManifestError) Unwrap() error { return e.Err }

// ReadManifest reads the manifest; ok is false when there is none yet. A
// manifest that is not JSON gives a *[ManifestError] saying what to do; one
// written by a newer version of this package is refused.
func (d *RunDir) ReadManifest() (m Manifest, ok bool, err error) {
	path := d.Path(FileManifest)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Manifest{}, false, nil
	}
	if err != nil {
		return Manifest{}, false, &StorageError{Op: "read", Path: path, Err: err}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, false, &ManifestError{Path: path, Err: err}
	}
	if m.Version > ManifestVersion {
		return Manifest{}, false, fmt.Errorf("prefdata: %s has version %d, written by a newer prefdata than this one (which reads up to %d): upgrade prefdata to use this run directory", path, m.Version, ManifestVersion)
	}
	return m, true, nil
}

// WriteManifest replaces the manifest atomically: a temporary file is
// written, synced and renamed over it.
func (d *RunDir) WriteManifest(m Manifest) error {
	if m.Version < ManifestVersion {
		m.Version = ManifestVersion
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("prefdata: manifest: %w", err)
	}
	return d.j.WriteFile(FileManifest, append(b, '\n'))
}
