package response_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/sync/errgroup"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

// cpuTime returns the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runConcurrent calls do for i in [0, b.N) with at most conc calls at once
// and reports requests per second and CPU time per request (the fake
// server's share included: it runs in the same process).
func runConcurrent(b *testing.B, conc int, do func(ctx context.Context, i int) error) {
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(conc)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := range b.N {
		g.Go(func() error { return do(ctx, i) })
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/req")
}

var benchConcurrency = []int{64, 256, 1024}

func benchPrompts(n int) []prefdata.Prompt {
	ps := make([]prefdata.Prompt, n)
	for i := range ps {
		ps[i] = prompt(fmt.Sprintf("Explain item %d in one paragraph.", i))
	}
	return ps
}

// BenchmarkGenerator measures the generator against the fake server at 20 ms
// latency; compare with BenchmarkPlainLoop at the same concurrency.
func BenchmarkGenerator(b *testing.B) {
	for _, conc := range benchConcurrency {
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			srv := openaitest.NewServer(openaitest.Config{Latency: 20 * time.Millisecond})
			defer srv.Close()
			g, err := response.New(response.Config{BaseURL: srv.URL, Model: "m", Sampling: prefdata.Sampling{MaxTokens: 64}, MaxConns: conc})
			if err != nil {
				b.Fatal(err)
			}
			ps := benchPrompts(b.N)
			runConcurrent(b, conc, func(ctx context.Context, i int) error {
				_, err := g.Generate(ctx, ps[i])
				return err
			})
		})
	}
}

// BenchmarkPlainLoop is the baseline: go-openai calls in an errgroup loop,
// with the same HTTP transport settings.
func BenchmarkPlainLoop(b *testing.B) {
	for _, conc := range benchConcurrency {
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			srv := openaitest.NewServer(openaitest.Config{Latency: 20 * time.Millisecond})
			defer srv.Close()
			oc := openai.DefaultConfig("")
			oc.BaseURL = srv.URL
			oc.HTTPClient = response.NewHTTPClient(conc)
			c := openai.NewClientWithConfig(oc)
			ps := benchPrompts(b.N)
			runConcurrent(b, conc, func(ctx context.Context, i int) error {
				_, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
					Model:    "m",
					Messages: []openai.ChatCompletionMessage{{Role: "user", Content: ps[i].Messages[0].Content}},
					//lint:ignore SA1019 the plain loop sends what the generator sends.
					MaxTokens: 64,
				})
				return err
			})
		})
	}
}

// BenchmarkVersusPlain runs the generator and the plain loop in alternating
// rounds at each concurrency, so both meet the same load from the rest of
// the machine, and reports each one's requests/s and CPU per request and the
// generator's throughput as a percentage of the plain loop's.
func BenchmarkVersusPlain(b *testing.B) {
	for _, conc := range benchConcurrency {
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			srvG := openaitest.NewServer(openaitest.Config{Latency: 20 * time.Millisecond})
			defer srvG.Close()
			srvP := openaitest.NewServer(openaitest.Config{Latency: 20 * time.Millisecond})
			defer srvP.Close()
			g, err := response.New(response.Config{BaseURL: srvG.URL, Model: "m", Sampling: prefdata.Sampling{MaxTokens: 64}, MaxConns: conc})
			if err != nil {
				b.Fatal(err)
			}
			oc := openai.DefaultConfig("")
			oc.BaseURL = srvP.URL
			oc.HTTPClient = response.NewHTTPClient(conc)
			c := openai.NewClientWithConfig(oc)
			round := 4 * conc
			ps := benchPrompts(round)
			gen := func(ctx context.Context, i int) error {
				_, err := g.Generate(ctx, ps[i%round])
				return err
			}
			plain := func(ctx context.Context, i int) error {
				_, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
					Model:    "m",
					Messages: []openai.ChatCompletionMessage{{Role: "user", Content: ps[i%round].Messages[0].Content}},
					//lint:ignore SA1019 the plain loop sends what the generator sends.
					MaxTokens: 64,
				})
				return err
			}
			var wall, cpu [2]time.Duration
			var count [2]int
			rounds := max(1, b.N/round)
			// A warm-up round each opens the connections.
			for _, do := range []func(context.Context, int) error{gen, plain} {
				if _, _, err := timed(conc, conc, do); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for r := range rounds {
				for k, do := range []func(context.Context, int) error{gen, plain} {
					if r%2 == 1 {
						k = 1 - k // alternate who goes first
						do = []func(context.Context, int) error{gen, plain}[k]
					}
					w, c, err := timed(conc, round, do)
					if err != nil {
						b.Fatal(err)
					}
					wall[k] += w
					cpu[k] += c
					count[k] += round
				}
			}
			b.StopTimer()
			gr := float64(count[0]) / wall[0].Seconds()
			pr := float64(count[1]) / wall[1].Seconds()
			b.ReportMetric(gr, "gen-req/s")
			b.ReportMetric(pr, "plain-req/s")
			b.ReportMetric(100*gr/pr, "gen-%-of-plain")
			b.ReportMetric(float64(cpu[0].Microseconds())/float64(count[0]), "gen-cpu-µs/req")
			b.ReportMetric(float64(cpu[1].Microseconds())/float64(count[1]), "plain-cpu-µs/req")
		})
	}
}

// timed makes n calls of do with at most conc at once and returns the wall
// and CPU time they took.
func timed(conc, n int, do func(context.Context, int) error) (time.Duration, time.Duration, error) {
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(conc)
	start, cpu0 := time.Now(), cpuTime()
	for i := range n {
		g.Go(func() error { return do(ctx, i) })
	}
	err := g.Wait()
	return time.Since(start), cpuTime() - cpu0, err
}

// cannedTransport answers every request at once with the same completion,
// so a benchmark measures the client side alone.
type cannedTransport struct{ body []byte }

func (t cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, req.Body)
	req.Body.Close()
	return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(t.body)), Request: req}, nil
}

const cannedBody = `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"m answer 0: 1a2b 3c4d 5e6f 7081 92a3 b4c5 d6e7 f809"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":20,"total_tokens":32}}`

// BenchmarkClientOverhead measures the CPU a request costs on the client
// side, without a network: the generator against a bare go-openai call.
func BenchmarkClientOverhead(b *testing.B) {
	hc := &http.Client{Transport: cannedTransport{body: []byte(cannedBody)}}
	ps := benchPrompts(1024)
	b.Run("generator", func(b *testing.B) {
		g, err := response.New(response.Config{BaseURL: "http://127.0.0.1:1/v1", Model: "m", Sampling: prefdata.Sampling{MaxTokens: 64}, HTTPClient: hc})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := g.Generate(context.Background(), ps[i%len(ps)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		oc := openai.DefaultConfig("")
		oc.BaseURL = "http://127.0.0.1:1/v1"
		oc.HTTPClient = hc
		c := openai.NewClientWithConfig(oc)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := c.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
				Model:    "m",
				Messages: []openai.ChatCompletionMessage{{Role: "user", Content: ps[i%len(ps)].Messages[0].Content}},
				//lint:ignore SA1019 the plain loop sends what the generator sends.
				MaxTokens: 64,
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
