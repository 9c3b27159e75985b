package label

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/prefdata/prefdata"
)

// diskFile is a labels file on a disk that fills up: past the budget a
// write writes what fits and fails with ENOSPC.
type diskFile struct {
	*os.File
	mu     *sync.Mutex
	budget *int
}

func (f diskFile) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *f.budget >= len(b) {
		*f.budget -= len(b)
		return f.File.Write(b)
	}
	n, _ := f.File.Write(b[:*f.budget])
	*f.budget = 0
	return n, syscall.ENOSPC
}

// A label acknowledged after a disk-full is not lost: the failed write's
// fragment is ended before the next label, which reads back whole; the
// fragment is listed as a bad line.
func TestStoreLabelAfterDiskFullIsKept(t *testing.T) {
	root := t.TempDir()
	dir, err := prefdata.OpenRunDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	budget := 1 << 20
	dir.OpenFile = func(path string) (prefdata.JournalFile, error) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
		return diskFile{f, &mu, &budget}, err
	}
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	add := func(id string) error {
		return s.Add(Label{ID: id, PairID: "p-" + id, Annotator: "ann", Verdict: VerdictTie, Source: SourceApp})
	}
	if err := add("one"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	budget = 20
	mu.Unlock()
	err = add("two")
	if err == nil || !strings.Contains(err.Error(), FileHumanLabels) || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("got %v, want a disk-full error naming %s", err, FileHumanLabels)
	}
	if _, ok := s.Get("two"); ok {
		t.Error("a label whose write failed counts")
	}
	mu.Lock()
	budget = 1 << 20
	mu.Unlock()
	if err := add("three"); err != nil {
		t.Fatal(err) // acknowledged: it must be read back
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	fresh, err := OpenStore(mustDir(t, root))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range fresh.Labels() {
		ids = append(ids, l.ID)
	}
	if fmt.Sprint(ids) != "[one three]" {
		t.Errorf("labels read back %v, want [one three]", ids)
	}
	if bad := fresh.BadLines(); len(bad) != 1 || !strings.Contains(bad[0], FileHumanLabels+":2:") {
		t.Errorf("bad lines %q, want the fragment at line 2", bad)
	}
}

func mustDir(t *testing.T, root string) *prefdata.RunDir {
	t.Helper()
	d, err := prefdata.OpenRunDir(root)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
