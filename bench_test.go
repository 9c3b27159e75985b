package prefdata_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

// peakHeap samples the live heap every millisecond until stop is called and
// returns the highest value seen, in bytes.
func peakHeap() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// BenchmarkPipelineStream streams prompts through every stage with a
// zero-latency generator; peak-heap-MB must not grow with the number of
// prompts.
func BenchmarkPipelineStream(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("prompts=%d", n), func(b *testing.B) {
			gen := prefdata.GeneratorFunc(func(_ context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
				return []prefdata.Response{
					{ID: p.ID + "-0", PromptID: p.ID, Model: "m", Text: "short"},
					{ID: p.ID + "-1", PromptID: p.ID, Model: "m", Sample: 1, Text: "a longer answer"},
				}, nil
			})
			var pairs atomic.Int64
			sink := prefdata.SinkFunc(func(context.Context, prefdata.Pair) error { pairs.Add(1); return nil })
			var peak uint64
			runtime.GC()
			b.ResetTimer()
			for range b.N {
				stop := peakHeap()
				_, err := (&prefdata.Pipeline{
					Source:     prefdatatest.CountingSource(n),
					Generators: []prefdata.Generator{gen},
					Filters:    []prefdata.Filter{lengthScores()},
					Labeler:    prefdatatest.Labeler{},
					Sink:       sink,
				}).Run(context.Background())
				peak = max(peak, stop())
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if got := pairs.Load(); got != int64(n*b.N) {
				b.Fatalf("%d pairs, want %d", got, n*b.N)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "prompts/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}
