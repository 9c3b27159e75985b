package prefdata_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

func serverGenerator(t testing.TB, url, model string, conns int) *response.Generator {
	g, err := response.New(response.Config{BaseURL: url, APIKey: "test", Model: model, HTTPClient: response.NewHTTPClient(conns)})
	require.NoError(t, err)
	return g
}

// The fake server, not the pipeline, counts what is in flight.
func TestPipelineBoundsRequestsAtTheServer(t *testing.T) {
	for _, limit := range []int{1, 4, 16} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			srv := openaitest.NewServer(openaitest.Config{Latency: 3 * time.Millisecond})
			defer srv.Close()
			p := &prefdata.Pipeline{
				Source:     prefdatatest.CountingSource(120),
				Generators: []prefdata.Generator{serverGenerator(t, srv.URL, "a", limit), serverGenerator(t, srv.URL, "b", limit)},
				Labeler:    prefdatatest.Labeler{},
				Sink:       &prefdatatest.Sink{},
				Limits:     prefdata.Limits{Generate: limit},
			}
			st, err := p.Run(context.Background())
			require.NoError(t, err)
			assert.Equal(t, 240, srv.Requests())
			assert.Equal(t, 240, st.Generate.Out)
			assert.LessOrEqual(t, srv.MaxInFlight(), limit)
			if limit > 1 {
				assert.Greater(t, srv.MaxInFlight(), 1, "requests overlap")
			}
		})
	}
}

// benchLatency is the fake server's latency in the throughput benchmark.
const benchLatency = 20 * time.Millisecond

// BenchmarkThroughput compares the pipeline (stage 1 to sink, with the
// response package's generator) with a plain errgroup loop of go-openai calls
// at the same concurrency against the same fake server.
func BenchmarkThroughput(b *testing.B) {
	const requests = 2000
	for _, conc := range []int{64} {
		srv := openaitest.NewServer(openaitest.Config{Latency: benchLatency})
		b.Run(fmt.Sprintf("plain-loop/c=%d", conc), func(b *testing.B) {
			cfg := openai.DefaultConfig("test")
			cfg.BaseURL = srv.URL
			cfg.HTTPClient = response.NewHTTPClient(conc)
			client := openai.NewClientWithConfig(cfg)
			cpu := cpuTime()
			b.ResetTimer()
			for range b.N {
				g, ctx := errgroup.WithContext(context.Background())
				g.SetLimit(conc)
				for i := range requests {
					g.Go(func() error {
						_, err := client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
							Model:    "m",
							Messages: []openai.ChatCompletionMessage{{Role: "user", Content: fmt.Sprintf("prompt %d", i)}},
						})
						return err
					})
				}
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			report(b, requests, cpuTime()-cpu)
		})
		b.Run(fmt.Sprintf("pipeline/c=%d", conc), func(b *testing.B) {
			gen := serverGenerator(b, srv.URL, "m", conc)
			var pairs atomic.Int64
			cpu := cpuTime()
			b.ResetTimer()
			for range b.N {
				_, err := (&prefdata.Pipeline{
					Source:     prefdatatest.CountingSource(requests),
					Generators: []prefdata.Generator{gen},
					Labeler: prefdata.LabelerFunc(func(_ context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) {
						pairs.Add(1)
						return nil, nil
					}),
					Sink:   prefdata.SinkFunc(func(context.Context, prefdata.Pair) error { return nil }),
					Limits: prefdata.Limits{Generate: conc},
				}).Run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if pairs.Load() != int64(requests*b.N) {
				b.Fatalf("labeled %d candidates, want %d", pairs.Load(), requests*b.N)
			}
			report(b, requests, cpuTime()-cpu)
		})
		srv.Close()
	}
}

func report(b *testing.B, requests int, cpu time.Duration) {
	n := float64(requests * b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-us/req")
}

// cpuTime returns the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
