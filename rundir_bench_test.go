package prefdata_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

// benchGen answers every prompt at once with two short responses; its
// fingerprint makes its output cached in the run directory.
type benchGen struct{}

func (benchGen) Name() string        { return "bench" }
func (benchGen) Fingerprint() string { return "bench/v1" }
func (benchGen) Generate(_ context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
	return []prefdata.Response{
		{ID: p.ID + "-0", PromptID: p.ID, Model: "m", Text: "short"},
		{ID: p.ID + "-1", PromptID: p.ID, Model: "m", Sample: 1, Text: "a longer answer"},
	}, nil
}

// BenchmarkRunDir runs n prompts through a Pipeline with a run directory,
// then resumes the finished run (every prompt replayed from the journal):
// prompts/s and peak heap of each, the journal's bytes per prompt against
// the bytes of the response texts, and the resume's time.
//
//	go test -run '^$' -bench BenchmarkRunDir -benchtime 1x .
func BenchmarkRunDir(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("prompts=%d", n), func(b *testing.B) {
			for range b.N {
				root := b.TempDir()
				run := func() (time.Duration, uint64, time.Duration) {
					d, err := prefdata.OpenRunDir(root)
					if err != nil {
						b.Fatal(err)
					}
					var pairs atomic.Int64
					sink := prefdata.SinkFunc(func(context.Context, prefdata.Pair) error { pairs.Add(1); return nil })
					runtime.GC()
					stop := peakHeap()
					start, cpu0 := time.Now(), cpuTime()
					_, err = (&prefdata.Pipeline{
						Source:     prefdatatest.CountingSource(n),
						Generators: []prefdata.Generator{benchGen{}},
						Filters:    []prefdata.Filter{lengthScores()},
						Labeler:    prefdatatest.Labeler{},
						Sink:       sink,
						Dir:        d,
					}).Run(context.Background())
					el, cpu, peak := time.Since(start), cpuTime()-cpu0, stop()
					if err != nil {
						b.Fatal(err)
					}
					if err := d.Close(); err != nil {
						b.Fatal(err)
					}
					if got := pairs.Load(); got != int64(n) {
						b.Fatalf("%d pairs, want %d", got, n)
					}
					return el, peak, cpu
				}
				first, firstPeak, firstCPU := run()
				resume, resumePeak, _ := run()
				var journal int64
				filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
					if err == nil && !fi.IsDir() && filepath.Ext(p) == ".jsonl" {
						journal += fi.Size()
					}
					return nil
				})
				b.ReportMetric(float64(n)/first.Seconds(), "prompts/s")
				// CPU time is less at the mercy of a shared machine's load
				// than prompts/s: 2 cores give at most 2e6/x prompts/s.
				b.ReportMetric(float64(firstCPU.Microseconds())/float64(n), "cpu-us/prompt")
				b.ReportMetric(float64(firstPeak)/(1<<20), "peak-heap-MB")
				b.ReportMetric(resume.Seconds(), "resume-s")
				b.ReportMetric(float64(resumePeak)/(1<<20), "resume-peak-heap-MB")
				b.ReportMetric(float64(journal)/float64(n), "journal-B/prompt")
				b.ReportMetric(float64(len("short")+len("a longer answer")), "text-B/prompt")
			}
		})
	}
}

// benchScorer scores each response by its length; its fingerprint makes
// its output cached in the run directory.
type benchScorer struct{}

func (benchScorer) Name() string        { return "bench-score" }
func (benchScorer) Fingerprint() string { return "bench-score/v1" }
func (benchScorer) Filter(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
	for _, r := range c.Responses {
		c.Scores = append(c.Scores, prefdata.Score{ResponseID: r.ID, Scorer: "bench-score", Value: float64(len(r.Text))})
	}
	return c, nil
}

// benchLabeler prefers the longer of the two responses; runs with
// labelers of other names are other runs.
type benchLabeler string

func (l benchLabeler) Name() string { return string(l) }
func (benchLabeler) Label(_ context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) {
	return []prefdata.Pair{{Prompt: c.Prompt, Chosen: c.Responses[1], Rejected: c.Responses[0]}}, nil
}

// BenchmarkRelabel runs n prompts through a generator and a scorer with a
// run directory, then runs them again with another labeler (a new run:
// every prompt is labeled again, its generation and scores read back from
// the journals, as when people's labels recalibrate the router): the
// second run's prompts/s.
//
//	go test -run '^$' -bench BenchmarkRelabel -benchtime 3x .
func BenchmarkRelabel(b *testing.B) {
	const n = 20_000
	prompts := make([]prefdata.Prompt, n)
	for i := range prompts {
		prompts[i] = prefdata.Prompt{ID: fmt.Sprint("p", i), Messages: []prefdata.Message{{Role: "user", Content: fmt.Sprint("question number ", i)}}}
	}
	var total time.Duration
	for range b.N {
		d, err := prefdata.OpenRunDir(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		run := func(l prefdata.Labeler) (time.Duration, prefdata.Stats) {
			p := &prefdata.Pipeline{Source: prefdata.Prompts(prompts...), Generators: []prefdata.Generator{benchGen{}},
				Filters: []prefdata.Filter{benchScorer{}}, Labeler: l,
				Sink: prefdata.SinkFunc(func(context.Context, prefdata.Pair) error { return nil }), Dir: d}
			start := time.Now()
			st, err := p.Run(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			return time.Since(start), st
		}
		run(benchLabeler("first"))
		el, st := run(benchLabeler("second"))
		if st.Cached.Filters != n || st.PairsAI != n {
			b.Fatalf("second run: %d filter outputs read back, %d pairs; want %d each", st.Cached.Filters, st.PairsAI, n)
		}
		total += el
		d.Close()
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "relabel-prompts/s")
}
