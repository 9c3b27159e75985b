package response_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
	"github.com/prefdata/prefdata/runstore"
)

// sleeps records the waits a generator asked for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func TestFaults(t *testing.T) {
	cases := []struct {
		fault   openaitest.Fault
		retried bool
		msg     string // in the error of a fault that is not retried
	}{
		{openaitest.Fault429, true, ""},
		{openaitest.Fault500, true, ""},
		{openaitest.Fault502, true, ""},
		{openaitest.Fault503, true, ""},
		{openaitest.Fault504, true, ""},
		{openaitest.FaultReset, true, ""},
		{openaitest.FaultHang, true, ""},
		{openaitest.FaultMalformed, true, ""},
		{openaitest.FaultEmptyChoices, true, ""},
		{openaitest.Fault400, false, "HTTP 400: Invalid request: the fake server was told to refuse this one."},
		{openaitest.Fault401, false, "HTTP 401 (invalid_api_key): Incorrect API key provided."},
		{openaitest.Fault403, false, "HTTP 403"},
		{openaitest.Fault404, false, "HTTP 404 (model_not_found)"},
		{openaitest.FaultContextLength, false, "maximum context length is 8192 tokens"},
	}
	for _, c := range cases {
		t.Run(c.fault.String(), func(t *testing.T) {
			require.Equal(t, c.retried, c.fault.Retryable())
			srv := openaitest.NewServer(openaitest.Config{Faults: []openaitest.Fault{c.fault}})
			defer srv.Close()
			var sl sleeps
			timeout := time.Minute
			if c.fault == openaitest.FaultHang {
				timeout = time.Second // how long the client waits for the hung request
			}
			g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Sleep: sl.sleep,
				Retry: response.Retry{Timeout: timeout, Base: time.Second, Max: 8 * time.Second}})
			rs, err := g.Generate(context.Background(), prompt("hello"))
			if c.retried {
				require.NoError(t, err)
				require.Len(t, rs, 1)
				assert.Equal(t, 2, srv.Requests(), "one failure, one retry")
				assert.Equal(t, 2, rs[0].Usage.Requests, "both attempts are counted")
				w := sl.waits()
				require.Len(t, w, 1)
				if c.fault == openaitest.Fault429 {
					assert.Equal(t, time.Second, w[0], "Retry-After honoured")
				} else {
					assert.GreaterOrEqual(t, w[0], 500*time.Millisecond, "jittered backoff in [base/2, base]")
					assert.LessOrEqual(t, w[0], time.Second)
				}
				return
			}
			require.Error(t, err)
			assert.Empty(t, rs)
			assert.Equal(t, 1, srv.Requests(), "no retry")
			assert.Empty(t, sl.waits())
			assert.Contains(t, err.Error(), c.msg)
			assert.Contains(t, err.Error(), srv.URL, "the error names the endpoint")
			if c.fault == openaitest.FaultContextLength {
				assert.ErrorIs(t, err, response.ErrContextLength)
			}
			var se *response.StatusError
			require.ErrorAs(t, err, &se)
		})
	}
}

func TestFinishReasonLength(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Faults: []openaitest.Fault{openaitest.FaultLength}})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m"})
	rs, err := g.Generate(context.Background(), prompt("hello"))
	require.NoError(t, err, "a cut answer is an answer, marked as such")
	assert.Equal(t, "length", rs[0].FinishReason)
	assert.Equal(t, 1, srv.Requests())
}

func TestRetryAfterWaitAndBackoffGrowth(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{
		RetryAfter: 2500 * time.Millisecond,
		Faults:     []openaitest.Fault{openaitest.Fault429, openaitest.Fault503, openaitest.Fault503, openaitest.Fault503},
	})
	defer srv.Close()
	var sl sleeps
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Sleep: sl.sleep, Rand: func() float64 { return 1 },
		Retry: response.Retry{Base: time.Second, Max: 3 * time.Second}})
	_, err := g.Generate(context.Background(), prompt("hello"))
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{2500 * time.Millisecond, 2 * time.Second, 3 * time.Second, 3 * time.Second}, sl.waits(),
		"Retry-After (retry-after-ms) first, then doubling backoff capped at Max")
	assert.Equal(t, 5, srv.Requests())
}

func TestRetryGivesUp(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Fault: func(openaitest.Request) openaitest.Fault { return openaitest.Fault500 }})
	defer srv.Close()
	var sl sleeps
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Sleep: sl.sleep, Retry: response.Retry{Attempts: 3}})
	_, err := g.Generate(context.Background(), prompt("hello"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gave up after 3 attempts")
	assert.Contains(t, err.Error(), "The server had an error")
	assert.Equal(t, 3, srv.Requests())
	assert.Len(t, sl.waits(), 2)
}

func TestRetryAfterTooLongFails(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{RetryAfter: time.Hour, Faults: []openaitest.Fault{openaitest.Fault429}})
	defer srv.Close()
	var sl sleeps
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Sleep: sl.sleep, Retry: response.Retry{MaxRetryAfter: time.Minute}})
	_, err := g.Generate(context.Background(), prompt("hello"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "retry after 1h0m0s")
	assert.Empty(t, sl.waits())
}

func TestCancelStopsRetries(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Fault: func(openaitest.Request) openaitest.Fault { return openaitest.FaultHang }})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := g.Generate(ctx, prompt("hello")); done <- err }()
	for srv.Requests() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-done
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, srv.Requests())
}

func TestGeneratorContract(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Samples: 2, Sampling: prefdata.Sampling{Seed: prefdata.Int(1)}})
	require.NoError(t, prefdatatest.CheckGenerator(context.Background(), g, prompt("contract")))
}

// faultyPick injects a fault into every fifth request, rotating through the
// transient kinds (a retry lands on another request number), and refuses
// some prompts for good (~5%), so those never succeed.
func faultyPick(req openaitest.Request) openaitest.Fault {
	transient := []openaitest.Fault{openaitest.Fault429, openaitest.Fault500, openaitest.Fault502, openaitest.Fault503,
		openaitest.Fault504, openaitest.FaultReset, openaitest.FaultMalformed, openaitest.FaultEmptyChoices, openaitest.FaultHang}
	text := req.Messages[len(req.Messages)-1].Content
	ph := sha256.Sum256([]byte(text))
	if ph[0] < 13 {
		return []openaitest.Fault{openaitest.Fault400, openaitest.FaultContextLength}[ph[1]%2]
	}
	if req.Seq%5 == 2 {
		return transient[(req.Seq/5)%len(transient)]
	}
	return openaitest.FaultNone
}

func TestPipelineWithFaults(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Fault: faultyPick, RetryAfter: time.Millisecond})
	defer srv.Close()
	var sl sleeps
	mk := func(model string) *response.Generator {
		return newGen(t, response.Config{BaseURL: srv.URL, Model: model, Samples: 2, Sleep: sl.sleep,
			Retry: response.Retry{Attempts: 8, Timeout: time.Second}})
	}
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	const n = 150
	sink := &prefdatatest.Sink{}
	p := &prefdata.Pipeline{
		Source:     prefdatatest.CountingSource(n),
		Generators: []prefdata.Generator{mk("a"), mk("b")},
		Filters: []prefdata.Filter{prefdata.FilterFunc(func(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
			sc, err := prefdatatest.LengthScorer{}.Score(ctx, c.Prompt, c.Responses)
			c.Scores = append(append([]prefdata.Score(nil), c.Scores...), sc...)
			return c, err
		})},
		Labeler: prefdatatest.Labeler{},
		Sink:    sink,
		Dir:     dir,
		Limits:  prefdata.Limits{Generate: 32},
	}
	st, err := p.Run(context.Background())
	require.NoError(t, err)
	require.NoError(t, dir.Close())

	faults := 0
	for _, r := range srv.Log() {
		if r.Fault != openaitest.FaultNone {
			faults++
		}
	}
	t.Logf("%d requests, %d with faults; stats %+v", srv.Requests(), faults, st.Generate)
	assert.GreaterOrEqual(t, float64(faults)/float64(srv.Requests()), 0.2, "a fifth of requests met a fault, and more")

	// Every prompt is either answered by both models or has its failures
	// recorded with the server's message.
	rs, err := runstore.Open(dir)
	require.NoError(t, err)
	failed := map[string][]string{}
	require.NoError(t, rs.Failures(func(f prefdata.Failure) error {
		id := strings.SplitN(f.Item, "/", 2)[0]
		failed[id] = append(failed[id], f.Error)
		assert.Regexp(t, `HTTP 400|maximum context length`, f.Error)
		return nil
	}))
	answered := map[string]int{}
	require.NoError(t, rs.Responses(func(rec prefdata.CacheRecord, got []prefdata.Response) error {
		answered[rec.PromptID] += len(got)
		return nil
	}))
	assert.NotEmpty(t, failed)
	for i := range n {
		id := prefdatatest.NewPrompt(fmt.Sprintf("prompt %d", i)).ID
		if _, ok := failed[id]; ok {
			continue
		}
		assert.Equal(t, 4, answered[id], "prompt %d: 2 models x 2 samples", i)
	}
	assert.Equal(t, n-len(failed), st.Generate.Out/2)
}

func TestNonRetryableErrorIsNotBudget(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Faults: []openaitest.Fault{openaitest.Fault401}})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m"})
	_, err := g.Generate(context.Background(), prompt("x"))
	assert.False(t, errors.Is(err, response.ErrBudget))
}

func TestContextLengthErrorsOfEachServer(t *testing.T) {
	cases := []struct {
		name string
		err  response.StatusError
		want bool
	}{
		{"OpenAI", response.StatusError{StatusCode: 400, Code: "context_length_exceeded", Type: "invalid_request_error",
			Message: "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens."}, true},
		{"vLLM", response.StatusError{StatusCode: 400, Type: "BadRequestError",
			Message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion)."}, true},
		{"llama.cpp", response.StatusError{StatusCode: 400, Code: "400", Type: "exceed_context_size_error",
			Message: "request (9412 tokens) exceeds the available context size (8192 tokens), try increasing it"}, true},
		{"other 400", response.StatusError{StatusCode: 400, Type: "invalid_request_error", Message: "'messages' must contain at least one message"}, false},
		{"500 naming the context", response.StatusError{StatusCode: 500, Message: "context length exceeded while batching"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := c.err
			assert.Equal(t, c.want, errors.Is(&e, response.ErrContextLength))
			assert.False(t, e.Retryable() && c.want, "a context-length error is never retried")
		})
	}
}

func TestQuotaExhaustedIsNotRetried(t *testing.T) {
	// OpenAI answers 429 insufficient_quota when the account is out of
	// credit: waiting does not help, so the item fails at once.
	var requests atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`)
	}))
	defer ts.Close()
	var sl sleeps
	g := newGen(t, response.Config{BaseURL: ts.URL + "/v1", Model: "m", Sleep: sl.sleep})
	_, err := g.Generate(context.Background(), prompt("hello"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTTP 429 (insufficient_quota): You exceeded your current quota")
	assert.Equal(t, int32(1), requests.Load(), "no retry")
	assert.Empty(t, sl.waits())
}

func TestBodyThatStallsIsRetried(t *testing.T) {
	// The answer's headers come at once, then the body stops half way: the
	// default client's timeout ends the attempt and the retry succeeds.
	var calls atomic.Int32
	release := make(chan struct{})
	defer close(release)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, `{"id":"c","object":"chat.completion","choices":[{"index":0,`)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		io.WriteString(w, `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)
	}))
	defer ts.Close()
	var sl sleeps
	g := newGen(t, response.Config{BaseURL: ts.URL + "/v1", Model: "m", Sleep: sl.sleep, Retry: response.Retry{Timeout: 200 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // only so a hang fails the test
	defer cancel()
	rs, err := g.Generate(ctx, prompt("hello"))
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Equal(t, "ok", rs[0].Text)
	assert.Equal(t, int32(2), calls.Load())
	assert.Len(t, sl.waits(), 1, "one backoff before the retry")
}
