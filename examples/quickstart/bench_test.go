package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/sync/errgroup"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

// BenchmarkQuickstartVersusPlain runs the whole quickstart (every stage, the
// run directory, the judges, routing, the card and report) and a plain
// errgroup loop of go-openai calls, in alternating rounds, against one fake
// server at 20 ms latency and concurrency 64. Each plain round sends the
// same requests (model, messages, n, sampling) the quickstart round before
// it sent, so both sides move the same bytes. It reports both rates,
// their ratio and the CPU time per request of each (the in-process fake
// server included on both sides), and, of the quickstart's round, the time
// until its first request reaches the server and the time after its last
// one is answered (the calibrated plan, the labeling pass, the card and
// report), the time from its first request to its last answer, and the
// plain loop's time.
func BenchmarkQuickstartVersusPlain(b *testing.B) {
	const conc, prompts = 64, 300
	const latency = 20 * time.Millisecond
	srv := openaitest.NewServer(openaitest.Config{Latency: latency, Reply: fakeReplies("judge")})
	defer srv.Close()
	tmp := b.TempDir()
	file := filepath.Join(tmp, "prompts.jsonl")
	writeBenchPrompts(b, file, prompts)
	env := func(k string) string {
		if k == "OPENAI_BASE_URL" {
			return srv.URL
		}
		if k == "OPENAI_API_KEY" {
			return "bench"
		}
		return ""
	}
	cfg := openai.DefaultConfig("bench")
	cfg.BaseURL = srv.URL
	cfg.HTTPClient = response.NewHTTPClient(conc)
	client := openai.NewClientWithConfig(cfg)

	var qsReq, plReq, qsBytes, plBytes int
	var qsTime, plTime, qsCPU, plCPU, qsStart, qsStream, qsTail time.Duration
	b.ResetTimer()
	for i := range b.N {
		before, cpu, start := srv.Requests(), cpuTime(), time.Now()
		args := []string{"-prompts", file, "-run", filepath.Join(tmp, fmt.Sprint("run", i)), "-out", filepath.Join(tmp, fmt.Sprint("out", i), "pairs.jsonl"),
			"-concurrency", fmt.Sprint(conc), "-progress", "0"}
		if err := run(context.Background(), args, env, io.Discard); err != nil {
			b.Fatal(err)
		}
		end := time.Now()
		n := srv.Requests() - before
		qsTime, qsCPU, qsReq = qsTime+end.Sub(start), qsCPU+cpuTime()-cpu, qsReq+n
		// Where the round's time goes beside the requests: until the first
		// one arrives, and after the last one is answered.
		sent := srv.Log()[before:]
		first, last := sent[0].Time, sent[0].Time
		for _, r := range sent {
			first, last = minTime(first, r.Time), maxTime(last, r.Time)
		}
		qsStart, qsStream, qsTail = qsStart+first.Sub(start), qsStream+last.Add(latency).Sub(first), qsTail+end.Sub(last.Add(latency))

		// The plain loop sends the very requests the quickstart sent.
		reqs := plainRequests(srv.Log()[before:])
		cpu, start = cpuTime(), time.Now()
		g, ctx := errgroup.WithContext(context.Background())
		g.SetLimit(conc)
		for _, req := range reqs {
			g.Go(func() error {
				_, err := client.CreateChatCompletion(ctx, req)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		plTime, plCPU, plReq = plTime+time.Since(start), plCPU+cpuTime()-cpu, plReq+n
		log := srv.Log()
		qsBytes, plBytes = qsBytes+bodyBytes(log[before:before+n]), plBytes+bodyBytes(log[before+n:])
	}
	b.StopTimer()
	qsRate, plRate := float64(qsReq)/qsTime.Seconds(), float64(plReq)/plTime.Seconds()
	qsUs, plUs := float64(qsCPU.Microseconds())/float64(qsReq), float64(plCPU.Microseconds())/float64(plReq)
	b.ReportMetric(float64(qsReq)/float64(b.N), "req/round")
	b.ReportMetric(qsRate, "quickstart-req/s")
	b.ReportMetric(plRate, "plain-req/s")
	b.ReportMetric(qsRate/plRate, "ratio")
	b.ReportMetric(qsUs, "quickstart-cpu-us/req")
	b.ReportMetric(plUs, "plain-cpu-us/req")
	b.ReportMetric(qsUs/plUs, "cpu-ratio")
	b.ReportMetric(float64(qsStart.Microseconds())/1000/float64(b.N), "quickstart-first-request-ms")
	b.ReportMetric(float64(qsStream.Microseconds())/1000/float64(b.N), "quickstart-requests-ms")
	b.ReportMetric(float64(qsTail.Microseconds())/1000/float64(b.N), "quickstart-after-last-ms")
	b.ReportMetric(float64(plTime.Microseconds())/1000/float64(b.N), "plain-ms")
	// Fairness: the plain loop's request bodies over the quickstart's (1 when
	// both sides send the same bytes).
	b.ReportMetric(float64(plBytes)/float64(qsBytes), "body-bytes-ratio")
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// writeBenchPrompts writes n prompts different enough that dedup keeps them.
func writeBenchPrompts(b *testing.B, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for i := range n {
		h := prefdata.Hash("bench prompt", i)
		words := make([]string, 12)
		for k := range words {
			words[k] = h[4*k : 4*k+4]
		}
		if err := enc.Encode(map[string]string{"id": fmt.Sprintf("b-%d", i), "prompt": fmt.Sprintf("Question %d: explain %s.", i, strings.Join(words, " "))}); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime returns the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func bodyBytes(log []openaitest.Request) int {
	n := 0
	for _, r := range log {
		n += len(r.Body)
	}
	return n
}

// plainRequests turns the requests the fake server logged into go-openai
// requests.
func plainRequests(log []openaitest.Request) []openai.ChatCompletionRequest {
	out := make([]openai.ChatCompletionRequest, len(log))
	for i, r := range log {
		msgs := make([]openai.ChatCompletionMessage, len(r.Messages))
		for k, m := range r.Messages {
			msgs[k] = openai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
		}
		out[i] = openai.ChatCompletionRequest{Model: r.Model, Messages: msgs, N: r.N, MaxCompletionTokens: r.MaxTokens, Seed: r.Seed}
		if r.Temperature != nil {
			out[i].Temperature = float32(*r.Temperature)
		}
		if r.TopP != nil {
			out[i].TopP = float32(*r.TopP)
		}
		out[i].Stop, out[i].LogProbs, out[i].TopLogProbs = r.Stop, r.Logprobs, r.TopLogprobs
		// The judges ask for structured output: the plain loop sends the
		// same schema, so both sides move the same bytes.
		if f := r.ResponseFormat; f != nil {
			out[i].ResponseFormat = &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatType(f.Type)}
			if s := f.JSONSchema; s != nil {
				out[i].ResponseFormat.JSONSchema = &openai.ChatCompletionResponseFormatJSONSchema{Name: s.Name, Description: s.Description, Schema: s.Schema, Strict: s.Strict}
			}
		}
	}
	return out
}
