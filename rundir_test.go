package prefdata_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

const stressFile = "stress.jsonl"

type stressLine struct {
	W int    `json:"w"`
	I int    `json:"i"`
	P string `json:"p"`
}

// stressAppend appends n lines as writer w, opening a new RunDir every few
// lines (each open is where the old code truncated the file), and returns
// how many appends were acknowledged.
func stressAppend(dir string, w, n int) (int, error) {
	acked := 0
	pad := strings.Repeat("x", 40+w*7)
	var d *prefdata.RunDir
	for i := range n {
		if i%25 == 0 {
			if d != nil {
				d.Close()
			}
			var err error
			if d, err = prefdata.OpenRunDir(dir); err != nil {
				return acked, err
			}
		}
		if err := d.Append(stressFile, stressLine{W: w, I: i, P: pad}); err != nil {
			return acked, err
		}
		acked++
	}
	return acked, d.Close()
}

// TestRunDirAppendChild is the child process of the stress test.
func TestRunDirAppendChild(t *testing.T) {
	dir, w := os.Getenv("PREFDATA_STRESS_DIR"), os.Getenv("PREFDATA_STRESS_W")
	if dir == "" {
		t.Skip("the child of TestRunDirTwoProcessAppendsLoseNothing")
	}
	id, _ := strconv.Atoi(w)
	n, _ := strconv.Atoi(os.Getenv("PREFDATA_STRESS_N"))
	acked, err := stressAppend(dir, id, n)
	fmt.Printf("ACKED %d\n", acked)
	if err != nil {
		t.Fatal(err)
	}
}

// Two processes (and this one) append to one file, each opening it again
// and again: every acknowledged line is there, whole, exactly once.
func TestRunDirTwoProcessAppendsLoseNothing(t *testing.T) {
	dir := t.TempDir()
	const n = 6000
	var wg sync.WaitGroup
	acked := make([]int, 3)
	errs := make([]error, 3)
	for w := 1; w <= 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestRunDirAppendChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "PREFDATA_STRESS_DIR="+dir, "PREFDATA_STRESS_W="+strconv.Itoa(w), "PREFDATA_STRESS_N="+strconv.Itoa(n))
			out, err := cmd.CombinedOutput()
			errs[w] = err
			for _, line := range strings.Split(string(out), "\n") {
				if v, ok := strings.CutPrefix(line, "ACKED "); ok {
					acked[w], _ = strconv.Atoi(v)
				}
			}
			if err != nil {
				errs[w] = fmt.Errorf("%w: %s", err, out)
			}
		}()
	}
	acked[0], errs[0] = stressAppend(dir, 0, n)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	d, err := prefdata.OpenRunDir(dir)
	require.NoError(t, err)
	seen := map[[2]int]int{}
	require.NoError(t, d.Scan(stressFile, func(r prefdata.Record) error {
		var l stressLine
		if err := json.Unmarshal(r.Data, &l); err != nil {
			return fmt.Errorf("line %d: %w: %q", r.Line, err, r.Data)
		}
		seen[[2]int{l.W, l.I}]++
		return nil
	}))
	for w, a := range acked {
		assert.Equal(t, n, a, "writer %d acknowledged every append", w)
		lost := 0
		for i := range a {
			if seen[[2]int{w, i}] != 1 {
				lost++
			}
		}
		assert.Zero(t, lost, "writer %d: acknowledged lines lost or doubled", w)
	}
	assert.Empty(t, d.Fragments())
}

// fullDisk is a journal file on a disk that fills up: once budget bytes are
// written, a write writes what fits and fails with ENOSPC.
type fullDisk struct {
	*os.File
	mu     *sync.Mutex
	budget *int
}

func (f fullDisk) Write(b []byte) (int, error) {
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

// A short write (a full disk) is an error naming the file that failed; the
// fragment it left is ended before the next record, reported, and skipped by
// readers; no acknowledged record is lost or glued to it.
func TestRunDirShortWriteIsRepaired(t *testing.T) {
	root := t.TempDir()
	d, err := prefdata.OpenRunDir(root)
	require.NoError(t, err)
	var mu sync.Mutex
	budget := 1 << 20
	d.OpenFile = func(path string) (prefdata.JournalFile, error) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
		return fullDisk{f, &mu, &budget}, err
	}
	require.NoError(t, d.Append(prefdata.FileFailures, map[string]int{"n": 0}))
	require.NoError(t, d.Append(prefdata.FileScores, map[string]int{"n": 1}))
	mu.Lock()
	budget = 5 // the disk is full after 5 more bytes
	mu.Unlock()
	err = d.Append(prefdata.FileScores, map[string]int{"n": 2})
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.ENOSPC)
	var se *prefdata.StorageError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, d.Path(prefdata.FileScores), se.Path, "the error names the file whose write failed")
	assert.Contains(t, err.Error(), prefdata.FileScores)

	// Space is freed; the next record starts on a line of its own.
	mu.Lock()
	budget = 1 << 20
	mu.Unlock()
	require.NoError(t, d.Append(prefdata.FileScores, map[string]int{"n": 3}))
	require.NoError(t, d.Close())
	b, err := os.ReadFile(d.Path(prefdata.FileScores))
	require.NoError(t, err)
	assert.Equal(t, "{\"n\":1}\n{\"n\":\n{\"n\":3}\n", string(b))
	require.Len(t, d.Fragments(), 1)
	assert.Equal(t, prefdata.Fragment{Path: d.Path(prefdata.FileScores), Offset: 8, Size: 5}, d.Fragments()[0])

	var got []string
	require.NoError(t, d.Scan(prefdata.FileScores, func(r prefdata.Record) error {
		got = append(got, string(r.Data))
		return nil
	}))
	assert.Equal(t, []string{`{"n":1}`, `{"n":3}`}, got, "the fragment is skipped, every acknowledged record read")
}

// A record another writer glued to a fragment (it did not know of it) is
// recovered by Scan, and the fragment reported.
func TestRunDirScanRecoversGluedRecord(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "x.jsonl"), []byte("{\"n\":1}\n{\"key\":\"torn\",\"value\":[{\"id\":{\"n\":2}\n{\"n\":3}\n"), 0o644))
	d, err := prefdata.OpenRunDir(root)
	require.NoError(t, err)
	var got []string
	require.NoError(t, d.Scan("x.jsonl", func(r prefdata.Record) error {
		line, err := d.ReadLine("x.jsonl", r.Offset)
		require.NoError(t, err)
		assert.Equal(t, string(r.Data), string(line), "the offset is the record's")
		got = append(got, string(r.Data))
		return nil
	}))
	assert.Equal(t, []string{`{"n":1}`, `{"n":2}`, `{"n":3}`}, got)
	require.Len(t, d.Fragments(), 1)
	assert.Equal(t, 2, d.Fragments()[0].Line)
}

// ScanDecoded passes the lines its decoder takes as decoded, and checks the
// others as Scan does: a fragment is still skipped and reported, the record
// glued to it recovered.
func TestRunDirScanDecoded(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "x.jsonl"), []byte("{\"n\":1}\n{\"key\":\"torn\",\"value\":[{\"id\":{\"n\":2}\n{\"n\":3}\nnot json\n"), 0o644))
	d, err := prefdata.OpenRunDir(root)
	require.NoError(t, err)
	type seen struct {
		Data    string
		Decoded bool
	}
	var got []seen
	var tried []string
	require.NoError(t, d.ScanDecoded("x.jsonl", func(line []byte) bool {
		tried = append(tried, string(line))
		return string(line) == `{"n":1}` || string(line) == `{"n":3}`
	}, func(r prefdata.Record, decoded bool) error {
		got = append(got, seen{string(r.Data), decoded})
		return nil
	}))
	assert.Equal(t, []seen{{`{"n":1}`, true}, {`{"n":2}`, false}, {`{"n":3}`, true}, {"not json", false}}, got)
	assert.Equal(t, []string{`{"n":1}`, `{"key":"torn","value":[{"id":{"n":2}`, `{"n":3}`, "not json"}, tried)
	require.Len(t, d.Fragments(), 1)
	assert.Equal(t, 2, d.Fragments()[0].Line)
}

// A second run of a directory in use is refused with an error naming the
// holder; the labeling server's appends need no lock.
func TestRunDirLockRefusesSecondRun(t *testing.T) {
	root := t.TempDir()
	first, err := prefdata.OpenRunDir(root)
	require.NoError(t, err)
	require.NoError(t, first.Lock())
	second, err := prefdata.OpenRunDir(root)
	require.NoError(t, err)

	_, err = (&prefdata.Pipeline{
		Source:     prefdata.Prompts(testPrompts(3)...),
		Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m", Samples: 2}},
		Labeler:    prefdatatest.Labeler{}, Dir: second,
	}).Run(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, prefdata.ErrLocked)
	var le *prefdata.LockedError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, os.Getpid(), le.Holder.PID)
	assert.Contains(t, err.Error(), fmt.Sprintf("pid %d", os.Getpid()))
	assert.Contains(t, err.Error(), root)
	_, statErr := os.Stat(second.Path(prefdata.FilePairs))
	assert.ErrorIs(t, statErr, os.ErrNotExist, "the refused run did nothing")

	// Other writers still append to their own files.
	require.NoError(t, second.Append("human_labels.jsonl", map[string]string{"id": "l1"}))

	// Released, the directory runs.
	require.NoError(t, first.Unlock())
	_, err = (&prefdata.Pipeline{
		Source:     prefdata.Prompts(testPrompts(3)...),
		Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m", Samples: 2}},
		Labeler:    prefdatatest.Labeler{}, Dir: second,
	}).Run(context.Background())
	require.NoError(t, err)
	require.NoError(t, first.Lock(), "the run released its lock when it ended")
	require.NoError(t, first.Close())
	require.NoError(t, second.Close())
}

// A torn manifest is reported with what to do, not a bare JSON error; one
// from a newer version is refused.
func TestRunDirTornManifest(t *testing.T) {
	root := t.TempDir()
	d, err := prefdata.OpenRunDir(root)
	require.NoError(t, err)
	require.NoError(t, d.WriteManifest(prefdata.Manifest{RunKey: "k"}))
	m, ok, err := d.ReadManifest()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, prefdata.ManifestVersion, m.Version)
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left")

	require.NoError(t, os.WriteFile(d.Path(prefdata.FileManifest), []byte(`{"version":2,"run_k`), 0o644))
	_, _, err = d.ReadManifest()
	var me *prefdata.ManifestError
	require.ErrorAs(t, err, &me)
	assert.Contains(t, err.Error(), "mv "+d.Path(prefdata.FileManifest))

	require.NoError(t, os.WriteFile(d.Path(prefdata.FileManifest), []byte(`{"version":99}`), 0o644))
	_, _, err = d.ReadManifest()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "newer prefdata")
	assert.False(t, errors.As(err, &me))
}

// Put and Get find records by key across reopenings, with the index caught
// up from lines appended without it and rebuilt when damaged.
func TestRunDirPutGet(t *testing.T) {
	root := t.TempDir()
	d, err := prefdata.OpenRunDir(root)
	require.NoError(t, err)
	for i := range 3000 {
		require.NoError(t, d.Put(prefdata.FileCalls, prefdata.CacheRecord{Key: fmt.Sprintf("k%d", i), Value: json.RawMessage(strconv.Itoa(i))}))
	}
	require.NoError(t, d.Put(prefdata.FileCalls, prefdata.CacheRecord{Key: "k7", Value: json.RawMessage(`"again"`)}))
	require.NoError(t, d.Close())
	// Lines appended by a process that did not use the index.
	f, err := os.OpenFile(d.Path(prefdata.FileCalls), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"key":"late","value":1}` + "\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())

	check := func(d *prefdata.RunDir) {
		t.Helper()
		for _, c := range []struct{ key, want string }{{"k0", "0"}, {"k2999", "2999"}, {"k7", `"again"`}, {"late", "1"}} {
			rec, ok, err := d.Get(prefdata.FileCalls, c.key)
			require.NoError(t, err)
			require.True(t, ok, c.key)
			assert.Equal(t, c.want, string(rec.Value), c.key)
		}
		_, ok, err := d.Get(prefdata.FileCalls, "absent")
		require.NoError(t, err)
		assert.False(t, ok)
	}
	d2, err := prefdata.OpenRunDir(root)
	require.NoError(t, err)
	check(d2)
	require.NoError(t, d2.Close())
	// A damaged index is rebuilt from the journal.
	require.NoError(t, os.WriteFile(filepath.Join(root, "index", prefdata.FileCalls+".idx"), []byte("garbage"), 0o644))
	d3, err := prefdata.OpenRunDir(root)
	require.NoError(t, err)
	check(d3)
	require.NoError(t, d3.Close())
}

// Each response text is stored once: the filter's and the labeler's cache
// records refer to the responses by ID; the next run and the runstore
// readers get them whole.
func TestRunDirStoresEachTextOnce(t *testing.T) {
	root := t.TempDir()
	run := func() []prefdata.Pair {
		d, err := prefdata.OpenRunDir(root)
		require.NoError(t, err)
		defer d.Close()
		sink := &prefdatatest.Sink{}
		_, err = (&prefdata.Pipeline{
			Source:     prefdata.Prompts(testPrompts(5)...),
			Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m", Samples: 3}},
			Filters:    []prefdata.Filter{lengthScores()}, Labeler: prefdatatest.Labeler{}, Sink: sink, Dir: d,
		}).Run(context.Background())
		require.NoError(t, err)
		return sink.Pairs()
	}
	first := run()
	require.NotEmpty(t, first)
	text := first[0].Chosen.Text
	require.NotEmpty(t, text)
	for file, want := range map[string]int{prefdata.FileResponses: 1, prefdata.FileScores: 0, prefdata.FileLabels: 0} {
		b, err := os.ReadFile(filepath.Join(root, file))
		require.NoError(t, err)
		assert.Equal(t, want, strings.Count(string(b), strconv.Quote(text)), "copies of a response text in %s", file)
	}
	// The cache records are read back whole: the same pairs, from the
	// caches (rerun with the pairs journal moved away).
	require.NoError(t, os.Rename(filepath.Join(root, prefdata.FilePairs), filepath.Join(root, "old-pairs")))
	require.NoError(t, os.RemoveAll(filepath.Join(root, "index")))
	assert.Equal(t, first, run())
}
