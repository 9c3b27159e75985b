package response_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

// fakeClock is a clock whose sleep moves it forward instead of waiting.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// sleep advances the clock to the sleeper's wake time, if it is later.
func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// maxInWindow returns the most events, weighted, in any window of length
// per starting at an event.
func maxInWindow(times []time.Time, weights []int, per time.Duration) int {
	best := 0
	for _, t := range times {
		n := 0
		for j, u := range times {
			if !u.Before(t) && u.Before(t.Add(per)) {
				n += weights[j]
			}
		}
		best = max(best, n)
	}
	return best
}

func ones(n int) []int {
	w := make([]int, n)
	for i := range w {
		w[i] = 1
	}
	return w
}

func TestRateLimitRequestsPerMinuteAtServer(t *testing.T) {
	clk := newFakeClock()
	srv := openaitest.NewServer(openaitest.Config{Now: clk.now})
	defer srv.Close()
	lim := response.NewLimiterClock(response.Limit{Requests: 60}, clk.now, clk.sleep)
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Limiter: lim, Now: clk.now, Sleep: clk.sleep})
	start := clk.now()
	for i := range 150 {
		_, err := g.Generate(context.Background(), prompt(fmt.Sprint("p", i)))
		require.NoError(t, err)
	}
	var times []time.Time
	for _, r := range srv.Log() {
		times = append(times, r.Time)
	}
	require.Len(t, times, 150)
	assert.Equal(t, 60, maxInWindow(times, ones(150), time.Minute), "never more than 60 in any minute, as seen by the server")
	assert.Equal(t, 2*time.Minute, times[149].Sub(start), "150 requests at 60/min: bursts at 0, 1 and 2 minutes")
}

func TestRateLimitTokensPerMinuteCorrectedByUsage(t *testing.T) {
	clk := newFakeClock()
	srv := openaitest.NewServer(openaitest.Config{Now: clk.now, Reply: func(openaitest.Request, int) openaitest.Reply {
		return openaitest.Reply{Content: "ok", PromptTokens: 50, CompletionTokens: 50}
	}})
	defer srv.Close()
	lim := response.NewLimiterClock(response.Limit{Tokens: 1000}, clk.now, clk.sleep)
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Limiter: lim, Sampling: prefdata.Sampling{MaxTokens: 200}, Now: clk.now, Sleep: clk.sleep})
	for i := range 40 {
		_, err := g.Generate(context.Background(), prompt(fmt.Sprint("p", i)))
		require.NoError(t, err)
	}
	var times []time.Time
	for _, r := range srv.Log() {
		times = append(times, r.Time)
	}
	w := make([]int, len(times))
	for i := range w {
		w[i] = 100 // the usage each request reported
	}
	maxTokens := maxInWindow(times, w, time.Minute)
	assert.LessOrEqual(t, maxTokens, 1000, "tokens per minute at the server")
	assert.Greater(t, maxTokens, 4*100, "estimates (~210 each, 4 a minute) were corrected by the real usage")
}

// stepClock is a fake clock for concurrent tests: a sleeper blocks until
// the clock reaches its wake time, and the clock moves on, to the earliest
// wake time, only when every worker is asleep. So the time a worker reads
// between sleeps is the time its last wait ended.
type stepClock struct {
	mu       sync.Mutex
	t        time.Time
	workers  int
	sleepers []*sleeper
}

type sleeper struct {
	at time.Time
	ch chan struct{}
}

func newStepClock(workers int) *stepClock {
	return &stepClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), workers: workers}
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	s := &sleeper{at: c.t.Add(d), ch: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	c.advance()
	c.mu.Unlock()
	select {
	case <-s.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err() // only used with contexts that are never cancelled
	}
}

// done tells the clock a worker has finished.
func (c *stepClock) done() {
	c.mu.Lock()
	c.workers--
	c.advance()
	c.mu.Unlock()
}

func (c *stepClock) advance() {
	if len(c.sleepers) == 0 || len(c.sleepers) < c.workers {
		return
	}
	next := c.sleepers[0].at
	for _, s := range c.sleepers {
		if s.at.Before(next) {
			next = s.at
		}
	}
	if next.After(c.t) {
		c.t = next
	}
	kept := c.sleepers[:0]
	for _, s := range c.sleepers {
		if s.at.After(c.t) {
			kept = append(kept, s)
			continue
		}
		close(s.ch)
	}
	c.sleepers = kept
}

func TestRateLimitConcurrentAtServer(t *testing.T) {
	const workers, n, rpm = 8, 100, 30
	clk := newStepClock(workers)
	srv := openaitest.NewServer(openaitest.Config{Now: clk.now})
	defer srv.Close()
	lim := response.NewLimiterClock(response.Limit{Requests: rpm}, clk.now, clk.sleep)
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "m", Limiter: lim, Now: clk.now, Sleep: clk.sleep})
	prompts := make(chan prefdata.Prompt, n)
	for i := range n {
		prompts <- prompt(fmt.Sprint("p", i))
	}
	close(prompts)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer clk.done()
			for p := range prompts {
				_, err := g.Generate(context.Background(), p)
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	var times []time.Time
	for _, r := range srv.Log() {
		times = append(times, r.Time)
	}
	require.Len(t, times, n)
	assert.Equal(t, rpm, maxInWindow(times, ones(n), time.Minute), "at most %d requests in any minute at the server", rpm)
}

func TestLimiterWaitHonoursContext(t *testing.T) {
	lim := response.NewLimiter(response.Limit{Requests: 1, Per: time.Hour})
	_, err := lim.Wait(context.Background(), 0)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = lim.Wait(ctx, 0)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestLimiterLongRunCompacts(t *testing.T) {
	clk := newFakeClock()
	lim := response.NewLimiterClock(response.Limit{Requests: 100, Tokens: 5000}, clk.now, clk.sleep)
	var times []time.Time
	var w []int
	for i := range 2000 {
		tokens := 10 + i%90
		r, err := lim.Wait(context.Background(), tokens)
		require.NoError(t, err)
		times = append(times, clk.now())
		r.Correct(tokens / 2)
		w = append(w, tokens/2)
	}
	assert.LessOrEqual(t, maxInWindow(times, ones(len(times)), time.Minute), 100)
	assert.LessOrEqual(t, maxInWindow(times, w, time.Minute), 5000)
	assert.Equal(t, 100, maxInWindow(times, ones(len(times)), time.Minute), "the request limit binds")
}
