package prefdata_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

// The crash test runs the pipeline in a child process (this test binary,
// re-executed), kills it mid-run, and runs it again.
func TestMain(m *testing.M) {
	if url := os.Getenv("PREFDATA_JUDGED_CHILD"); url != "" {
		if err := judgedChild(url, os.Getenv("PREFDATA_DIR"), os.Getenv("PREFDATA_OUT")); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv("PREFDATA_CRASH_CHILD") != "" {
		if err := crashChild(os.Getenv("PREFDATA_DIR"), os.Getenv("PREFDATA_OUT"), os.Getenv("PREFDATA_CALLS")); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const crashPrompts = 300

// loggedGenerator writes a line to a calls log before each generation, so
// the test can count requests across processes.
type loggedGenerator struct {
	*prefdatatest.Generator
	mu  sync.Mutex
	log *os.File
}

func (g *loggedGenerator) Generate(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
	if g.log != nil {
		g.mu.Lock()
		_, err := fmt.Fprintf(g.log, "%s %s\n", p.ID, g.Model)
		g.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return g.Generator.Generate(ctx, p)
}

func crashPipeline(dir *prefdata.RunDir, sink prefdata.Sink, log *os.File) *prefdata.Pipeline {
	gens := []prefdata.Generator{}
	for _, m := range []string{"a", "b"} {
		gens = append(gens, &loggedGenerator{Generator: &prefdatatest.Generator{Model: m, Samples: 2, Latency: 2 * time.Millisecond}, log: log})
	}
	return &prefdata.Pipeline{
		Source:     prefdatatest.CountingSource(crashPrompts),
		Generators: gens,
		Filters:    []prefdata.Filter{lengthScores()},
		Labeler:    prefdatatest.Labeler{},
		Sink:       sink,
		Dir:        dir,
		Limits:     prefdata.Limits{Generate: 4, Filter: 2},
	}
}

// jsonlSink writes pairs to a file, one JSON line each.
type jsonlSink struct {
	w   *bufio.Writer
	enc *json.Encoder
}

func newJSONLSink(f *os.File) *jsonlSink {
	w := bufio.NewWriter(f)
	return &jsonlSink{w: w, enc: json.NewEncoder(w)}
}

func (s *jsonlSink) WritePair(_ context.Context, p prefdata.Pair) error { return s.enc.Encode(p) }
func (s *jsonlSink) Flush() error                                       { return s.w.Flush() }

func crashChild(dirPath, outPath, callsPath string) error {
	dir, err := prefdata.OpenRunDir(dirPath)
	if err != nil {
		return err
	}
	out, err := os.Create(outPath)
	if err != nil {
		return err
	}
	defer out.Close()
	log, err := os.OpenFile(callsPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	_, err = crashPipeline(dir, newJSONLSink(out), log).Run(context.Background())
	return errors.Join(err, dir.Close())
}

func TestCrashAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	root := t.TempDir()
	runDir, outPath, callsPath := filepath.Join(root, "run"), filepath.Join(root, "out.jsonl"), filepath.Join(root, "calls.log")
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "PREFDATA_CRASH_CHILD=1", "PREFDATA_DIR="+runDir, "PREFDATA_OUT="+outPath, "PREFDATA_CALLS="+callsPath)
		cmd.Stderr = os.Stderr
		return cmd
	}
	countLines := func(path string) int {
		b, _ := os.ReadFile(path)
		return strings.Count(string(b), "\n")
	}

	// First run: killed once a fifth of the generations are journaled.
	first := child()
	require.NoError(t, first.Start())
	waitFor(t, "generations to be journaled", func() bool {
		return countLines(filepath.Join(runDir, prefdata.FileResponses)) >= crashPrompts*2/5
	})
	require.NoError(t, first.Process.Kill())
	_ = first.Wait()
	finishedPairs := countLines(filepath.Join(runDir, prefdata.FilePairs))
	require.Less(t, finishedPairs, crashPrompts, "the child was killed before it finished")

	// What had finished before the kill: these must never be asked again.
	finished := map[string]bool{}
	d, err := prefdata.OpenRunDir(runDir)
	require.NoError(t, err)
	require.NoError(t, d.Scan(prefdata.FileResponses, func(r prefdata.Record) error {
		var rec prefdata.CacheRecord
		if err := json.Unmarshal(r.Data, &rec); err != nil {
			return err
		}
		var rs []prefdata.Response
		if err := json.Unmarshal(rec.Value, &rs); err != nil {
			return err
		}
		finished[rs[0].PromptID+" "+rs[0].Model] = true
		return nil
	}))
	require.NotEmpty(t, finished)
	// Simulate a write torn by the crash in two journals.
	for _, f := range []string{prefdata.FileResponses, prefdata.FilePairs} {
		fh, err := os.OpenFile(filepath.Join(runDir, f), os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = fh.WriteString(`{"key":"torn","value":[{"id":`)
		require.NoError(t, err)
		require.NoError(t, fh.Close())
	}

	// Second run: to the end.
	resumed, err := prefdata.OpenRunDir(runDir)
	require.NoError(t, err)
	require.NoError(t, child().Run())

	calls := map[string]int{}
	b, err := os.ReadFile(callsPath)
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		calls[line]++
	}
	for key := range finished {
		assert.Equal(t, 1, calls[key], "generation %s finished before the crash and was requested again", key)
	}
	assert.Len(t, calls, crashPrompts*2, "every generation was asked")

	// The output has no duplicate and equals an uninterrupted run's.
	got := readJSONL[prefdata.Pair](t, outPath)
	ids := pairIDs(got)
	for i := 1; i < len(ids); i++ {
		require.NotEqual(t, ids[i-1], ids[i], "duplicate pair")
	}
	cleanDir, err := prefdata.OpenRunDir(filepath.Join(root, "clean"))
	require.NoError(t, err)
	sink := &prefdatatest.Sink{}
	_, err = crashPipeline(cleanDir, sink, nil).Run(context.Background())
	require.NoError(t, err)
	require.NoError(t, cleanDir.Close())
	assert.Equal(t, pairIDs(sink.Pairs()), ids)
	n := 0
	require.NoError(t, resumed.Scan(prefdata.FilePairs, func(prefdata.Record) error { n++; return nil }))
	assert.Equal(t, crashPrompts, n, "one finished record per prompt, the torn line skipped")
}
