package response_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

// refuseSeven makes the batch line of "prompt 7" fail with a 400.
func refuseSeven(req openaitest.Request) openaitest.Fault {
	if req.Messages[len(req.Messages)-1].Content == "prompt 7" {
		return openaitest.Fault400
	}
	return openaitest.FaultNone
}

func TestBatchStopAfterSubmitAndRestart(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Fault: refuseSeven, BatchPolls: 3})
	defer srv.Close()
	runDir := t.TempDir()
	const n = 10
	cfg := response.Config{BaseURL: srv.URL, Model: "gpt-x", Samples: 2, Sampling: prefdata.Sampling{Temperature: prefdata.Float(0), Seed: prefdata.Int(1)}}

	// First process: submit, start polling, and get stopped.
	dir, err := prefdata.OpenRunDir(runDir)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	polls := 0
	c1 := cfg
	c1.Sleep = func(ctx context.Context, d time.Duration) error {
		polls++
		cancel() // the process is killed while waiting between polls
		return ctx.Err()
	}
	b, err := response.NewBatch(c1, response.BatchConfig{Dir: dir, MaxRequests: 8})
	require.NoError(t, err)
	submitted, err := b.Submit(ctx, prefdatatest.CountingSource(n))
	require.NoError(t, err)
	assert.Equal(t, 2*n, submitted)
	assert.ErrorIs(t, b.Wait(ctx), context.Canceled)
	assert.Equal(t, 1, polls)
	require.Len(t, srv.Batches(), 3, "20 requests at 8 a file: 3 files, 3 batches")
	require.Len(t, srv.Uploads(), 3)
	require.NoError(t, dir.Close())

	// The request files are in the run directory, in the Batch API format.
	ents, err := os.ReadDir(runDir)
	require.NoError(t, err)
	lines := 0
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "batch_input_") {
			continue
		}
		data, err := os.ReadFile(dir.Path(e.Name()))
		require.NoError(t, err)
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var l struct {
				CustomID string         `json:"custom_id"`
				Method   string         `json:"method"`
				URL      string         `json:"url"`
				Body     map[string]any `json:"body"`
			}
			require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
			assert.Equal(t, "POST", l.Method)
			assert.Equal(t, "/v1/chat/completions", l.URL)
			assert.Equal(t, "gpt-x", l.Body["model"])
			assert.Contains(t, l.Body, "temperature", "temperature 0 is sent")
			lines++
		}
	}
	assert.Equal(t, 2*n, lines)

	// Second process: same run directory. Submit finds everything already
	// submitted; Wait resumes polling the recorded batches.
	dir, err = prefdata.OpenRunDir(runDir)
	require.NoError(t, err)
	defer dir.Close()
	c2 := cfg
	c2.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	b2, err := response.NewBatch(c2, response.BatchConfig{Dir: dir, MaxRequests: 8})
	require.NoError(t, err)
	submitted, err = b2.Submit(context.Background(), prefdatatest.CountingSource(n))
	require.NoError(t, err)
	assert.Zero(t, submitted, "nothing is submitted twice")
	require.NoError(t, b2.Wait(context.Background()))
	assert.Len(t, srv.Batches(), 3, "no second submission")
	assert.Len(t, srv.Uploads(), 3)
	ids, finished, err := b2.Batches()
	require.NoError(t, err)
	assert.Len(t, ids, 3)
	assert.Equal(t, 3, finished)
	assert.Zero(t, srv.Requests(), "no synchronous requests")

	// The pipeline answers from the results: every prompt mapped, prompt 7's
	// failed lines in the failures file with the server's message.
	p := &prefdata.Pipeline{Source: prefdatatest.CountingSource(n), Generators: []prefdata.Generator{b2}, Labeler: prefdatatest.Labeler{}, Dir: dir}
	st, err := p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2*(n-1), st.Responses)
	assert.Equal(t, 1, st.Generate.Failed)
	var fails []prefdata.Failure
	require.NoError(t, dir.Scan(prefdata.FileFailures, func(rec prefdata.Record) error {
		var f prefdata.Failure
		require.NoError(t, json.Unmarshal(rec.Data, &f))
		fails = append(fails, f)
		return nil
	}))
	require.Len(t, fails, 1)
	assert.Equal(t, prefdatatest.NewPrompt("prompt 7").ID+"/gpt-x", fails[0].Item)
	assert.Contains(t, fails[0].Error, "HTTP 400: Invalid request")

	// Responses carry the same IDs the synchronous generator would give.
	rs, err := b2.Generate(context.Background(), prefdatatest.NewPrompt("prompt 3"))
	require.NoError(t, err)
	require.Len(t, rs, 2)
	p3 := prefdatatest.NewPrompt("prompt 3")
	for i, r := range rs {
		assert.Equal(t, prefdata.ResponseID(p3.ID, "gpt-x", "", cfg.Sampling, i), r.ID)
		assert.NotEmpty(t, r.Text)
		assert.Positive(t, r.Usage.CompletionTokens)
	}
}

func TestBatchAdoptsUnrecordedBatch(t *testing.T) {
	// A crash between creating a batch and recording it: the next Submit
	// finds the batch by its input file's hash and does not create another.
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	cfg := response.Config{BaseURL: srv.URL, Model: "m", Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	first, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	b, err := response.NewBatch(cfg, response.BatchConfig{Dir: first})
	require.NoError(t, err)
	_, err = b.Submit(context.Background(), prefdatatest.CountingSource(5))
	require.NoError(t, err)
	require.Len(t, srv.Batches(), 1)

	// Same requests, a run directory that never heard of the batch.
	second, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	b2, err := response.NewBatch(cfg, response.BatchConfig{Dir: second})
	require.NoError(t, err)
	n, err := b2.Submit(context.Background(), prefdatatest.CountingSource(5))
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	assert.Len(t, srv.Batches(), 1, "adopted, not created again")
	assert.Len(t, srv.Uploads(), 1)
	require.NoError(t, b2.Wait(context.Background()))
	rs, err := b2.Generate(context.Background(), prefdatatest.NewPrompt("prompt 2"))
	require.NoError(t, err)
	assert.Len(t, rs, 1)
}

func TestBatchSplitsBySize(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	b, err := response.NewBatch(response.Config{BaseURL: srv.URL, Model: "m"}, response.BatchConfig{Dir: dir, MaxBytes: 1000})
	require.NoError(t, err)
	n, err := b.Submit(context.Background(), prefdatatest.CountingSource(30))
	require.NoError(t, err)
	assert.Equal(t, 30, n)
	total := 0
	for _, f := range srv.Uploads() {
		assert.LessOrEqual(t, len(f.Content), 1000)
		total += bytes.Count(f.Content, []byte("\n"))
	}
	assert.Equal(t, 30, total)
	assert.Greater(t, len(srv.Uploads()), 1)
}

func TestBatchGenerateBeforeWait(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	b, err := response.NewBatch(response.Config{BaseURL: srv.URL, Model: "m"}, response.BatchConfig{Dir: dir})
	require.NoError(t, err)
	_, err = b.Generate(context.Background(), prefdatatest.NewPrompt("x"))
	assert.ErrorContains(t, err, "not submitted in batch mode")
	_, err = b.Generate(context.Background(), prefdata.Prompt{ID: "empty"})
	assert.ErrorContains(t, err, `prompt "empty" has no messages`, "Submit skips it; Generate says why")
	_, err = b.Submit(context.Background(), prefdata.Prompts(prefdatatest.NewPrompt("x")))
	require.NoError(t, err)
	_, err = b.Generate(context.Background(), prefdatatest.NewPrompt("x"))
	assert.ErrorContains(t, err, "is not finished")
	_, err = response.NewBatch(response.Config{BaseURL: srv.URL, Model: "m"}, response.BatchConfig{})
	assert.True(t, err != nil && !errors.Is(err, context.Canceled))
}

func TestBatchLostCreateAnswerIsNotResubmitted(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{LostBatchCreates: 1})
	defer srv.Close()
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	var sl sleeps
	b, err := response.NewBatch(response.Config{BaseURL: srv.URL, Model: "m", Sleep: sl.sleep}, response.BatchConfig{Dir: dir})
	require.NoError(t, err)
	n, err := b.Submit(context.Background(), prefdatatest.CountingSource(4))
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	assert.Len(t, srv.Batches(), 1, "the batch whose answer was lost is found, not created again")
	ids, _, err := b.Batches()
	require.NoError(t, err)
	assert.Equal(t, []string{srv.Batches()[0].ID}, ids)
	require.NoError(t, b.Wait(context.Background()))
	rs, err := b.Generate(context.Background(), prefdatatest.NewPrompt("prompt 1"))
	require.NoError(t, err)
	assert.Len(t, rs, 1)
}

func TestBatchExpiredLinesAreSentAgain(t *testing.T) {
	expire := true
	p2 := prefdatatest.NewPrompt("prompt 2").ID
	srv := openaitest.NewServer(openaitest.Config{BatchExpire: func(cid string) bool { return expire && strings.HasPrefix(cid, p2) }})
	defer srv.Close()
	runDir := t.TempDir()
	cfg := response.Config{BaseURL: srv.URL, Model: "m", Samples: 2, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	dir, err := prefdata.OpenRunDir(runDir)
	require.NoError(t, err)
	b, err := response.NewBatch(cfg, response.BatchConfig{Dir: dir})
	require.NoError(t, err)
	require.NoError(t, b.Run(context.Background(), prefdatatest.CountingSource(4)))
	assert.Equal(t, "expired", srv.Batches()[0].Status)
	_, err = b.Generate(context.Background(), prefdatatest.NewPrompt("prompt 2"))
	assert.ErrorContains(t, err, "batch_expired: This request could not be executed")
	assert.ErrorContains(t, err, "Submit sends it again")
	rs, err := b.Generate(context.Background(), prefdatatest.NewPrompt("prompt 1"))
	require.NoError(t, err, "the lines the expired batch did finish are kept")
	assert.Len(t, rs, 2)
	require.NoError(t, dir.Close())

	// Next process: only the two lost lines go again.
	expire = false
	dir, err = prefdata.OpenRunDir(runDir)
	require.NoError(t, err)
	defer dir.Close()
	b, err = response.NewBatch(cfg, response.BatchConfig{Dir: dir})
	require.NoError(t, err)
	n, err := b.Submit(context.Background(), prefdatatest.CountingSource(4))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	_, err = b.Generate(context.Background(), prefdatatest.NewPrompt("prompt 2"))
	assert.ErrorContains(t, err, "is not finished")
	require.NoError(t, b.Wait(context.Background()))
	assert.Len(t, srv.Batches(), 2)
	rs, err = b.Generate(context.Background(), prefdatatest.NewPrompt("prompt 2"))
	require.NoError(t, err)
	assert.Len(t, rs, 2)
	n, err = b.Submit(context.Background(), prefdatatest.CountingSource(4))
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestBatchResentFileWithLostCreateIsNotPaidTwice(t *testing.T) {
	// A batch expires as a whole, so the same lines go again in a file
	// identical to the first (same hash), and the answer to that second
	// creation is lost. Looking the batch up by hash must find the new
	// batch, not the expired one, or a third batch pays for the lines again.
	var expire atomic.Bool
	expire.Store(true)
	srv := openaitest.NewServer(openaitest.Config{LostBatchCreates: 2, BatchExpire: func(string) bool { return expire.Load() }})
	defer srv.Close()
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	var sl sleeps
	b, err := response.NewBatch(response.Config{BaseURL: srv.URL, Model: "m", Sleep: sl.sleep}, response.BatchConfig{Dir: dir})
	require.NoError(t, err)
	require.NoError(t, b.Run(context.Background(), prefdatatest.CountingSource(3)))
	require.Len(t, srv.Batches(), 1)
	assert.Equal(t, "expired", srv.Batches()[0].Status)

	expire.Store(false)
	n, err := b.Submit(context.Background(), prefdatatest.CountingSource(3))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	require.Len(t, srv.Batches(), 2, "one new batch for the expired lines, found again after its answer was lost")
	require.NoError(t, b.Wait(context.Background()))
	ids, finished, err := b.Batches()
	require.NoError(t, err)
	assert.Equal(t, []string{srv.Batches()[0].ID, srv.Batches()[1].ID}, ids)
	assert.Equal(t, 2, finished)
	rs, err := b.Generate(context.Background(), prefdatatest.NewPrompt("prompt 1"))
	require.NoError(t, err)
	assert.Len(t, rs, 1)
}

func TestBatchWaitGoesOnPastABatchItCannotPoll(t *testing.T) {
	// A batch the server no longer knows (deleted, another project's key)
	// fails its own lines' polling, not the other batches'.
	srv := openaitest.NewServer(openaitest.Config{BatchPolls: 2})
	defer srv.Close()
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	cfg := response.Config{BaseURL: srv.URL, Model: "m", Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	b, err := response.NewBatch(cfg, response.BatchConfig{Dir: dir, MaxRequests: 2})
	require.NoError(t, err)
	_, err = b.Submit(context.Background(), prefdatatest.CountingSource(4))
	require.NoError(t, err)
	require.Len(t, srv.Batches(), 2)

	// Record a third batch that the server never had, as another process
	// of the same run would have.
	var tag string
	require.NoError(t, dir.Scan(response.FileBatches, func(rec prefdata.Record) error {
		var r struct{ Generator string }
		require.NoError(t, json.Unmarshal(rec.Data, &r))
		tag = r.Generator
		return nil
	}))
	gone := prefdatatest.NewPrompt("prompt 9").ID + "#0"
	require.NoError(t, dir.Append(response.FileBatches, map[string]any{"generator": tag, "kind": "submitted", "batch_id": "batch_gone", "custom_ids": []string{gone}}))
	b, err = response.NewBatch(cfg, response.BatchConfig{Dir: dir, MaxRequests: 2})
	require.NoError(t, err)

	err = b.Wait(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "batch_gone")
	assert.Contains(t, err.Error(), "HTTP 404")
	ids, finished, err := b.Batches()
	require.NoError(t, err)
	assert.Len(t, ids, 3)
	assert.Equal(t, 2, finished, "the two live batches are done")
	for i := range 4 {
		rs, err := b.Generate(context.Background(), prefdatatest.NewPrompt(fmt.Sprint("prompt ", i)))
		require.NoError(t, err, "prompt %d", i)
		assert.Len(t, rs, 1)
	}
}

func TestBatchSubmitDoesNotHangOnAListThatNeverAnswers(t *testing.T) {
	// Listing batches (to find one a crash left unrecorded) is optional:
	// a server whose list hangs costs one Retry.Timeout, not the run.
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	target, err := url.Parse(strings.TrimSuffix(srv.URL, "/v1"))
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	release := make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/batches" {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	defer close(release)
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	cfg := response.Config{BaseURL: front.URL + "/v1", Model: "m", HTTPClient: &http.Client{}, Retry: response.Retry{Timeout: 100 * time.Millisecond}}
	b, err := response.NewBatch(cfg, response.BatchConfig{Dir: dir})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // only so a hang fails the test
	defer cancel()
	n, err := b.Submit(ctx, prefdatatest.CountingSource(3))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Len(t, srv.Batches(), 1)
}
