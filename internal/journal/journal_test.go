package journal

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// blockingSync is a file whose first Sync waits until released.
type blockingSync struct {
	*os.File
	started, release chan struct{}
	calls            *atomic.Int32
}

func (f blockingSync) Sync() error {
	if f.calls.Add(1) == 1 {
		close(f.started)
		<-f.release
	}
	return f.File.Sync()
}

// blockingSyncDir is a Dir whose files are blockingSync ones sharing
// started, release and the count of their syncs.
func blockingSyncDir(t *testing.T) (d *Dir, started, release chan struct{}, calls *atomic.Int32) {
	d, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	started, release, calls = make(chan struct{}), make(chan struct{}), new(atomic.Int32)
	d.Open = func(path string) (File, error) {
		f, err := openAppend(path)
		if err != nil {
			return nil, err
		}
		return blockingSync{File: f.(*os.File), started: started, release: release, calls: calls}, nil
	}
	return d, started, release, calls
}

// appendWithoutWaiting appends line to a.jsonl and fails with msg if the
// append does not return while a blocked fsync holds (release, which it
// closes on failure, lets that fsync go on).
func appendWithoutWaiting(t *testing.T, d *Dir, line string, release chan struct{}, msg string) {
	t.Helper()
	appended := make(chan error, 1)
	go func() {
		_, err := d.Append("a.jsonl", []byte(line))
		appended <- err
	}()
	select {
	case err := <-appended:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second): // a deadlock guard, not a timing
		close(release)
		t.Fatal(msg)
	}
}

// The periodic fsync runs outside the file's lock: while one appender waits
// on the disk, the others go on appending; Sync waits for that fsync and
// covers the lines written during it.
func TestAppendDoesNotWaitOnPeriodicSync(t *testing.T) {
	d, started, release, calls := blockingSyncDir(t)
	d.SetSyncInterval(time.Nanosecond) // every append finds a sync due
	first := make(chan error, 1)
	go func() {
		_, err := d.Append("a.jsonl", []byte(`{"n":1}`))
		first <- err
	}()
	<-started // the first append is in its fsync
	appendWithoutWaiting(t, d, `{"n":2}`, release, "an append waited on another append's fsync")
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	before := calls.Load()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	if calls.Load() == before {
		t.Error("Sync did not sync the line written during the periodic fsync")
	}
	b, err := os.ReadFile(d.Path("a.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "{\"n\":1}\n{\"n\":2}\n" {
		t.Errorf("file = %q", b)
	}
}

// SyncBehind returns at once and syncs with the file's lock released:
// appends go on while its fsync waits on the disk, and Sync waits for it and
// covers the lines written meanwhile.
func TestSyncBehindLetsAppendsGoOn(t *testing.T) {
	d, started, release, calls := blockingSyncDir(t)
	if _, err := d.Append("a.jsonl", []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 0 {
		t.Fatal("an append synced with the default interval")
	}
	d.SyncBehind() // returns with its fsync blocked
	<-started
	appendWithoutWaiting(t, d, `{"n":2}`, release, "an append waited on SyncBehind's fsync")
	synced := make(chan error, 1)
	go func() { synced <- d.Sync() }()
	close(release)
	if err := <-synced; err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d fsyncs, want 2: SyncBehind's, then Sync's for the line appended during it", n)
	}
}

// failingSync is a file whose Sync fails.
type failingSync struct{ *os.File }

func (failingSync) Sync() error { return syscall.EIO }

// An fsync SyncBehind started that failed is returned by the next Sync, with
// the file's path, once: a failed sync is never lost.
func TestSyncBehindErrorReturnedBySync(t *testing.T) {
	d, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Open = func(path string) (File, error) {
		f, err := openAppend(path)
		if err != nil {
			return nil, err
		}
		return failingSync{f.(*os.File)}, nil
	}
	if _, err := d.Append("a.jsonl", []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	d.SyncBehind()
	err = d.Sync()
	if !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), d.Path("a.jsonl")) {
		t.Fatalf("Sync after a failed SyncBehind = %v, want EIO naming %s", err, d.Path("a.jsonl"))
	}
	if n := strings.Count(err.Error(), "input/output error"); n != 2 {
		// SyncBehind's failure, and Sync's own retry of the same lines.
		t.Errorf("Sync reported %d failures, want 2 (the one behind, its own): %v", n, err)
	}
}

// gatedFile is a journal file whose first Write waits until released, and
// whose later writes, once cut is set, write only that many bytes (a disk
// that fills up).
type gatedFile struct {
	*os.File
	writes  *atomic.Int32
	started chan struct{}
	release chan struct{}
	cut     *atomic.Int32
}

func (f gatedFile) Write(b []byte) (int, error) {
	if f.writes.Add(1) == 1 {
		close(f.started)
		<-f.release
		return f.File.Write(b)
	}
	if c := int(f.cut.Swap(0)); c > 0 && c < len(b) {
		n, _ := f.File.Write(b[:c])
		return n, syscall.ENOSPC
	}
	return f.File.Write(b)
}

// waitQueued waits until n appends wait for the file name (a deadlock
// guard, not a timing: the appends are already on their way).
func waitQueued(t *testing.T, d *Dir, name string, n int) {
	t.Helper()
	a, err := d.appender(name)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		a.qmu.Lock()
		q := len(a.queue)
		a.qmu.Unlock()
		if q >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d appends queued, want %d", q, n)
		}
	}
}

func gatedDir(t *testing.T) (*Dir, gatedFile) {
	d, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	g := gatedFile{writes: new(atomic.Int32), started: make(chan struct{}), release: make(chan struct{}), cut: new(atomic.Int32)}
	d.Open = func(path string) (File, error) {
		f, err := openAppend(path)
		if err != nil {
			return nil, err
		}
		g.File = f.(*os.File)
		return g, nil
	}
	return d, g
}

type appended struct {
	line string
	off  int64
	err  error
}

// Appends that arrive while the file is being written are written together,
// in one write, each returning its own line's offset once it is written.
func TestAppendGroupCommit(t *testing.T) {
	d, g := gatedDir(t)
	const n = 20
	res := make(chan appended, n+1)
	app := func(line string) {
		off, err := d.Append("a.jsonl", []byte(line))
		res <- appended{line, off, err}
	}
	go app(`{"first":true}`)
	<-g.started
	for i := range n {
		go app(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("x", i)))
	}
	waitQueued(t, d, "a.jsonl", n)
	close(g.release)
	for range n + 1 {
		r := <-res
		if r.err != nil {
			t.Fatal(r.err)
		}
		line, err := d.ReadLine("a.jsonl", r.off)
		if err != nil || string(line) != r.line {
			t.Errorf("line at %d = %q, %v; want %q", r.off, line, err, r.line)
		}
	}
	if w := g.writes.Load(); w != 2 {
		t.Errorf("%d writes for %d lines, want 2 (the first line, then the rest at once)", w, n+1)
	}
	_, lines, err := d.Scan("a.jsonl", 0, func(Line) error { return nil })
	if err != nil || lines != n+1 {
		t.Errorf("%d lines (%v), want %d", lines, err, n+1)
	}
}

// A short write in the middle of a batch: the lines it wrote whole are
// acknowledged, the others fail with the file's name; the fragment is ended
// before the next line and reported; no acknowledged line is lost.
func TestAppendShortWriteInBatch(t *testing.T) {
	d, g := gatedDir(t)
	const n = 6
	res := make(chan appended, n+1)
	app := func(line string) {
		off, err := d.Append("a.jsonl", []byte(line))
		res <- appended{line, off, err}
	}
	go app(`{"first":true}`)
	<-g.started
	for i := range n {
		go app(fmt.Sprintf(`{"n":%d}`, i)) // 7 bytes and a newline each
	}
	waitQueued(t, d, "a.jsonl", n)
	g.cut.Store(8*2 + 4) // two lines and part of a third
	close(g.release)
	var acked []appended
	failed := 0
	for range n + 1 {
		r := <-res
		if r.err == nil {
			acked = append(acked, r)
			continue
		}
		failed++
		var e *Error
		if !errors.As(r.err, &e) || e.Path != d.Path("a.jsonl") || !errors.Is(r.err, syscall.ENOSPC) {
			t.Errorf("error %v, want ENOSPC naming the file", r.err)
		}
	}
	if len(acked) != 3 || failed != n-2 {
		t.Fatalf("%d acknowledged, %d failed; want 3 and %d", len(acked), failed, n-2)
	}
	if _, err := d.Append("a.jsonl", []byte(`{"after":true}`)); err != nil {
		t.Fatal(err)
	}
	if f := d.Fragments(); len(f) != 1 || f[0].Size != 4 {
		t.Errorf("fragments %v, want one of 4 bytes", f)
	}
	var got []string
	if _, _, err := d.Scan("a.jsonl", 0, func(l Line) error { got = append(got, string(l.Data)); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, a := range acked {
		line, err := d.ReadLine("a.jsonl", a.off)
		if err != nil || string(line) != a.line {
			t.Errorf("acknowledged %q: at %d is %q (%v)", a.line, a.off, line, err)
		}
	}
	if len(got) != 5 || got[4] != `{"after":true}` {
		t.Errorf("lines %q: want the 3 acknowledged, the fragment, then the next line", got)
	}
}

// AppendLines writes its lines in one write and returns where each starts.
func TestAppendLines(t *testing.T) {
	d, g := gatedDir(t)
	close(g.release)
	if _, err := d.Append("a.jsonl", []byte(`{"n":0}`)); err != nil {
		t.Fatal(err)
	}
	lines := [][]byte{[]byte(`{"n":1}`), []byte(`{"n":22}`), []byte(`{"n":333}`)}
	offs, err := d.AppendLines("a.jsonl", lines)
	if err != nil {
		t.Fatal(err)
	}
	if w := g.writes.Load(); w != 2 {
		t.Errorf("%d writes, want 2", w)
	}
	for i, off := range offs {
		got, err := d.ReadLine("a.jsonl", off)
		if err != nil || string(got) != string(lines[i]) {
			t.Errorf("line %d at %d = %q (%v)", i, off, got, err)
		}
	}
}

// keyOfLine keys a test journal's lines by their whole text.
func keyOfLine(l []byte) (string, bool) { return string(l), true }

// newIndexed returns a Dir in a temporary folder and the index of its
// journal a.jsonl, keyed by keyOfLine; both are closed when the test ends.
func newIndexed(t *testing.T) (*Dir, *Index) {
	t.Helper()
	d, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	x, err := d.OpenIndex("a.jsonl", keyOfLine)
	if err != nil {
		t.Fatal(err)
	}
	return d, x
}

// Lines written in one write are indexed in any order (each goroutine
// indexes its own once its Append returns): the index still counts the
// journal as covered to its end, so the next open does not scan it again.
func TestIndexCoveredOverLinesIndexedOutOfOrder(t *testing.T) {
	d, x := newIndexed(t)
	lines := [][]byte{[]byte(`{"a":1}`), []byte(`{"b":22}`), []byte(`{"c":333}`), []byte(`{"d":4}`)}
	offs, err := d.AppendLines("a.jsonl", lines)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{2, 1, 3} {
		if err := x.Put(string(lines[i]), offs[i], offs[i]+int64(len(lines[i]))+1); err != nil {
			t.Fatal(err)
		}
	}
	x.Cover(offs[0], offs[0]+int64(len(lines[0]))+1) // a line without a key
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(d.Path("a.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	scanned := 0
	x, err = d.OpenIndex("a.jsonl", func(l []byte) (string, bool) { scanned++; return keyOfLine(l) })
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if scanned != 0 || x.covered != st.Size() {
		t.Errorf("reopened index scanned %d lines, covers %d of %d bytes; want 0 and all", scanned, x.covered, st.Size())
	}
	if off, ok := x.Get(`{"c":333}`); !ok || off != offs[2] {
		t.Errorf("Get = %d, %v; want %d", off, ok, offs[2])
	}
}

// A process killed before it synced its index leaves the slots it filled
// with a header that does not count them: reopened, the index counts its
// keys again, so Len is right and the table grows before it fills (a put
// into a full table would never find a free slot).
func TestIndexCountsKeysAfterCrash(t *testing.T) {
	d, x := newIndexed(t)
	const n = 2000 // past the first growths
	for i := range n {
		line := []byte(fmt.Sprintf(`{"n":%d}`, i))
		off, err := d.Append("a.jsonl", line)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.Put(string(line), off, off+int64(len(line))+1); err != nil {
			t.Fatal(err)
		}
	}
	// Killed here: the slots are in the file (a shared mapping), the
	// header is as the last growth left it. Another process opens it.
	y, err := d.OpenIndex("a.jsonl", keyOfLine)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if got := y.Len(); got != n {
		t.Errorf("reopened index has %d keys, want %d", got, n)
	}
	for i := n; i < 4*n; i++ {
		line := []byte(fmt.Sprintf(`{"n":%d}`, i))
		off, err := d.Append("a.jsonl", line)
		if err != nil {
			t.Fatal(err)
		}
		if err := y.Put(string(line), off, off+int64(len(line))+1); err != nil {
			t.Fatal(err)
		}
	}
	if got := y.Len(); got != 4*n {
		t.Errorf("index has %d keys, want %d", got, 4*n)
	}
	if used, slots := y.used, y.slots; used*10 > slots*7 {
		t.Errorf("%d keys in %d slots: fuller than the table allows", used, slots)
	}
}

// ReadLineInto reads a line into the buffer it is given, or past its end
// into a larger one: lines of every length around the buffer's size read
// back whole, as ReadLine reads them.
func TestReadLineInto(t *testing.T) {
	d, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var lines [][]byte
	for _, n := range []int{1, 100, 511, 512, 513, 1023, 1024, 1025, 2047, 2048, 2049, 5000} {
		lines = append(lines, []byte(strings.Repeat("x", n)))
	}
	offs, err := d.AppendLines("a.jsonl", lines)
	if err != nil {
		t.Fatal(err)
	}
	for i, off := range offs {
		for _, size := range []int{0, 600, 1024} {
			got, err := d.ReadLineInto("a.jsonl", off, make([]byte, 0, size))
			if err != nil || string(got) != string(lines[i]) {
				t.Fatalf("ReadLineInto(line of %d bytes, buffer of %d) = %d bytes, %v", len(lines[i]), size, len(got), err)
			}
		}
		got, err := d.ReadLine("a.jsonl", off)
		if err != nil || string(got) != string(lines[i]) || cap(got) != len(got) {
			t.Fatalf("ReadLine(line of %d bytes) = %d bytes (cap %d), %v", len(lines[i]), len(got), cap(got), err)
		}
	}
}

// Sync writes an index to disk only when it changed since it was last
// synced: a Put or a line covered makes it dirty, a Sync clean. What was
// synced is there when it is opened again.
func TestIndexSyncsOnlyWhenChanged(t *testing.T) {
	d, x := newIndexed(t)
	sync := func(want int) {
		t.Helper()
		if err := x.Sync(); err != nil {
			t.Fatal(err)
		}
		if x.syncs != want {
			t.Fatalf("%d msyncs, want %d", x.syncs, want)
		}
	}
	sync(1) // new: its header is not on disk yet
	sync(1)
	line := []byte(`{"a":1}`)
	off, err := d.Append("a.jsonl", line)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Put(string(line), off, off+int64(len(line))+1); err != nil {
		t.Fatal(err)
	}
	sync(2)
	sync(2)
	line2 := []byte(`{"b":2}`)
	off2, err := d.Append("a.jsonl", line2)
	if err != nil {
		t.Fatal(err)
	}
	x.Cover(off2, off2+int64(len(line2))+1)
	sync(3)
	if err := x.Close(); err != nil { // clean: no msync
		t.Fatal(err)
	}
	if x.syncs != 3 {
		t.Fatalf("Close of a clean index: %d msyncs, want 3", x.syncs)
	}
	scanned := 0
	y, err := d.OpenIndex("a.jsonl", func(l []byte) (string, bool) { scanned++; return keyOfLine(l) })
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if got, ok := y.Get(string(line)); !ok || got != off || scanned != 0 {
		t.Errorf("reopened: Get = %d, %v (want %d), %d lines scanned again (want 0)", got, ok, off, scanned)
	}
	if y.syncs != 0 || y.dirty {
		t.Errorf("an index opened up to date is dirty (%v) or synced (%d)", y.dirty, y.syncs)
	}
}
