package prefdata_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

const judgeModel = "judge"

// judgeReplies makes the fake server's judge grade every answer by a hash
// of what it was shown; other models get the default text.
func judgeReplies(req openaitest.Request, choice int) openaitest.Reply {
	if req.Model != judgeModel || len(req.Messages) == 0 {
		return openaitest.DefaultReply(req, choice)
	}
	return openaitest.Reply{Content: fmt.Sprintf("Judged.\nRating: [[%d]]", 1+lastHash(req)%10)}
}

func lastHash(req openaitest.Request) int {
	h := sha256.Sum256([]byte(req.Messages[len(req.Messages)-1].Content))
	return int(h[0])
}

// judgedPipeline is a run against the fake server at url: one model's
// samples, graded one after the other by a journaled judge that does not
// retry.
func judgedPipeline(t testing.TB, url string, n, samples int, dir *prefdata.RunDir, sink prefdata.Sink) *prefdata.Pipeline {
	gen, err := response.New(response.Config{BaseURL: url, APIKey: "test", Model: "a", Samples: samples, Sampling: prefdata.Sampling{Seed: prefdata.Int(1)}})
	require.NoError(t, err)
	judge, err := response.New(response.Config{BaseURL: url, APIKey: "test", Model: judgeModel, Retry: response.Retry{Attempts: 1}})
	require.NoError(t, err)
	return &prefdata.Pipeline{
		Source:     prefdatatest.CountingSource(n),
		Generators: []prefdata.Generator{gen},
		Filters:    []prefdata.Filter{filter.Scores(&filter.RubricJudge{Generator: prefdata.JournalGenerator(judge), Style: filter.StyleSingle, Concurrency: 1})},
		Labeler:    prefdatatest.Labeler{},
		Sink:       sink,
		Dir:        dir,
		Limits:     prefdata.Limits{Generate: judgedGenerate, Filter: judgedFilter},
	}
}

func judgeRequests(srv *openaitest.Server, from int) (ok, failed int) {
	for _, r := range srv.Log()[from:] {
		if r.Model != judgeModel {
			continue
		}
		if r.Fault == openaitest.FaultNone {
			ok++
		} else {
			failed++
		}
	}
	return ok, failed
}

// A judge call that failed (429, no retries left) is not a decision: the
// next run, on a healthy server, asks it again and pays for nothing else.
func TestTransientJudgeFailureIsRetriedNextRun(t *testing.T) {
	const n = 40
	failing := true
	srv := openaitest.NewServer(openaitest.Config{Reply: judgeReplies, Fault: func(req openaitest.Request) openaitest.Fault {
		if failing && req.Model == judgeModel && lastHash(req)%3 == 0 {
			return openaitest.Fault429
		}
		return openaitest.FaultNone
	}})
	defer srv.Close()

	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	_, err = judgedPipeline(t, srv.URL, n, 2, dir, &prefdatatest.Sink{}).Run(context.Background())
	require.NoError(t, err)
	answered1, failed1 := judgeRequests(srv, 0)
	require.Positive(t, failed1, "some judge calls failed")
	require.Positive(t, answered1)

	failing = false
	before := srv.Requests()
	sink := &prefdatatest.Sink{}
	st, err := judgedPipeline(t, srv.URL, n, 2, dir, sink).Run(context.Background())
	require.NoError(t, err)
	answered2, failed2 := judgeRequests(srv, before)
	assert.Zero(t, failed2)
	assert.Equal(t, failed1, answered2, "the second run asks exactly the calls that failed")
	assert.Equal(t, answered2, srv.Requests()-before, "and nothing else")
	assert.Positive(t, st.Cached.Calls, "the calls answered for unfinished prompts are read back")

	// The result equals a run that never met a failure.
	clean := openaitest.NewServer(openaitest.Config{Reply: judgeReplies})
	defer clean.Close()
	cleanDir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer cleanDir.Close()
	want := &prefdatatest.Sink{}
	_, err = judgedPipeline(t, clean.URL, n, 2, cleanDir, want).Run(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, want.Pairs())
	assert.Equal(t, pairIDs(want.Pairs()), pairIDs(sink.Pairs()))
}

// A journal that cannot be written stops the run with its name; it is not
// an item failure, and what was journaled before stays.
func TestStorageFailureStopsTheRun(t *testing.T) {
	for _, file := range []string{prefdata.FileScores, prefdata.FileCalls, prefdata.FilePairs} {
		t.Run(file, func(t *testing.T) {
			srv := openaitest.NewServer(openaitest.Config{Reply: judgeReplies})
			defer srv.Close()
			root := t.TempDir()
			dir, err := prefdata.OpenRunDir(root)
			require.NoError(t, err)
			defer dir.Close()
			p := judgedPipeline(t, srv.URL, 30, 2, dir, &prefdatatest.Sink{})
			p.Budget = prefdata.ErrorBudget{MaxFailures: 1000}
			// Once the first generation is journaled, before any candidate
			// reaches stage 3, a directory takes the journal's place: every
			// open of it fails.
			var once sync.Once
			p.Hooks.ItemDone = func(e prefdata.Event) {
				if e.Stage == prefdata.StageGenerate {
					once.Do(func() { require.NoError(t, os.Mkdir(filepath.Join(root, file), 0o755)) })
				}
			}
			st, err := p.Run(context.Background())
			require.Error(t, err)
			var se *prefdata.StorageError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, filepath.Join(root, file), se.Path)
			assert.Contains(t, err.Error(), file)
			assert.Zero(t, st.Failures(), "a storage failure is not an item failure")
			b, rerr := os.ReadFile(filepath.Join(root, prefdata.FileResponses))
			require.NoError(t, rerr)
			assert.NotEmpty(t, b, "the generations journaled before are kept")
			assert.Less(t, srv.Requests(), 30*3, "the run stopped early")
		})
	}
}

// A journaled generator keeps the identity the judge's fingerprint rests
// on, and calls straight through outside a pipeline.
func TestJournalGeneratorKeepsIdentity(t *testing.T) {
	g := &prefdatatest.Generator{Model: "m"}
	j := prefdata.JournalGenerator(g)
	assert.Equal(t, g.Fingerprint(), j.(prefdata.Fingerprinter).Fingerprint())
	assert.Equal(t, "m", j.(prefdata.Namer).Name())
	assert.Equal(t, j, prefdata.JournalGenerator(j), "wrapping twice is wrapping once")
	rs, err := j.Generate(context.Background(), prefdatatest.NewPrompt("hi"))
	require.NoError(t, err)
	assert.Len(t, rs, 1)
	plain := prefdata.GeneratorFunc(func(context.Context, prefdata.Prompt) ([]prefdata.Response, error) { return nil, errors.New("x") })
	_, isFP := prefdata.JournalGenerator(plain).(prefdata.Fingerprinter)
	assert.False(t, isFP, "a generator without a fingerprint is returned as is")
}

// The killed run: each prompt's ten answers are judged one after the
// other, so an unfinished candidate has answered judge calls behind it.
const judgedPrompts, judgedSamples = 150, 10

// At most judgedGenerate generations and judgedFilter candidates (each
// with one judge call at a time) are in flight: the most requests a run can
// have open at once.
const judgedGenerate, judgedFilter = 4, 4

// judgedChild is the child process of TestKillRepaysAtMostWhatWasInFlight:
// a judged run against the parent's fake server.
func judgedChild(url, dirPath, outPath string) error {
	dir, err := prefdata.OpenRunDir(dirPath)
	if err != nil {
		return err
	}
	out, err := os.Create(outPath)
	if err != nil {
		return err
	}
	defer out.Close()
	var t childT
	_, err = judgedPipeline(&t, url, judgedPrompts, judgedSamples, dir, newJSONLSink(out)).Run(context.Background())
	return errors.Join(err, dir.Close())
}

// childT lets judgedPipeline's require calls run outside a test.
type childT struct{ testing.TB }

func (*childT) Helper()                   {}
func (*childT) Errorf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (*childT) FailNow()                  { os.Exit(2) }

// kill -9 in the middle of a judged run: the next run pays again for at
// most what was in flight at the server, as its own counters show.
func TestKillRepaysAtMostWhatWasInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	srv := openaitest.NewServer(openaitest.Config{Reply: judgeReplies, Latency: 5 * time.Millisecond})
	defer srv.Close()
	root := t.TempDir()
	runDir, outPath := filepath.Join(root, "run"), filepath.Join(root, "out.jsonl")
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "PREFDATA_JUDGED_CHILD="+srv.URL, "PREFDATA_DIR="+runDir, "PREFDATA_OUT="+outPath)
		cmd.Stderr = os.Stderr
		return cmd
	}
	lines := func(file string) int {
		b, _ := os.ReadFile(filepath.Join(runDir, file))
		return strings.Count(string(b), "\n")
	}

	first := child()
	require.NoError(t, first.Start())
	waitFor(t, "the run to be under way", func() bool { return srv.Requests() >= judgedPrompts })
	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	_ = first.Wait()
	require.Less(t, lines(prefdata.FilePairs), judgedPrompts, "killed before the end")
	peak := srv.MaxInFlight()

	require.NoError(t, child().Run())
	paid := srv.Requests()

	// An uninterrupted run of the same work, on a server of its own.
	clean := openaitest.NewServer(openaitest.Config{Reply: judgeReplies})
	defer clean.Close()
	cleanDir, err := prefdata.OpenRunDir(filepath.Join(root, "clean"))
	require.NoError(t, err)
	defer cleanDir.Close()
	want := &prefdatatest.Sink{}
	_, err = judgedPipeline(t, clean.URL, judgedPrompts, judgedSamples, cleanDir, want).Run(context.Background())
	require.NoError(t, err)

	// The server's counters: what the killed run had open never passed the
	// bound, and what the resumed run paid again stays within it. (The
	// server's own peak can fall below what the client had open on a
	// starved machine: an answer on its way back is no longer in flight
	// at the server but not yet journaled.)
	const open = judgedGenerate + judgedFilter
	t.Logf("requests: %d with a kill, %d without; peak in flight at the server %d, bound %d", paid, clean.Requests(), peak, open)
	require.LessOrEqual(t, peak, open)
	assert.LessOrEqual(t, paid-clean.Requests(), open, "paid again for more than could be in flight")
	assert.Equal(t, pairIDs(want.Pairs()), pairIDs(readJSONL[prefdata.Pair](t, outPath)))
}
