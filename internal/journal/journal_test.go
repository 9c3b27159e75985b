package journal

import (
	"os"
	"sync/atomic"
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

// The periodic fsync runs outside the file's lock: while one appender waits
// on the disk, the others go on appending; Sync waits for that fsync and
// covers the lines written during it.
func TestAppendDoesNotWaitOnPeriodicSync(t *testing.T) {
	d, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	started, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	d.Open = func(path string) (File, error) {
		f, err := openAppend(path)
		if err != nil {
			return nil, err
		}
		return blockingSync{File: f.(*os.File), started: started, release: release, calls: &calls}, nil
	}
	d.SetSyncInterval(time.Nanosecond) // every append finds a sync due
	first := make(chan error, 1)
	go func() {
		_, err := d.Append("a.jsonl", []byte(`{"n":1}`))
		first <- err
	}()
	<-started // the first append is in its fsync
	second := make(chan error, 1)
	go func() {
		_, err := d.Append("a.jsonl", []byte(`{"n":2}`))
		second <- err
	}()
	select {
	case err := <-second:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second): // a deadlock guard, not a timing
		close(release)
		t.Fatal("an append waited on another append's fsync")
	}
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
