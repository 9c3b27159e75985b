package dataset

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
)

// benchPairs are pairs of realistic size: a two-turn prompt and answers of
// about 1.5 KB each, with scores and provenance.
func benchPairs(n int) []prefdata.Pair {
	long := strings.Repeat("The answer explains the steps one by one, with an example. ", 25)
	out := make([]prefdata.Pair, n)
	for i := range out {
		msgs := []prefdata.Message{msg("system", "Be helpful."), msg("user", fmt.Sprintf("Question %d: how do I sort a list?", i))}
		pid := prefdata.ContentID(msgs)
		c := prefdata.Response{ID: fmt.Sprintf("r-%d-c", i), PromptID: pid, Model: "model-a", Text: long}
		r := prefdata.Response{ID: fmt.Sprintf("r-%d-r", i), PromptID: pid, Model: "model-b", Text: long[:len(long)/2]}
		out[i] = prefdata.Pair{
			ID: prefdata.PairID(pid, c.ID, r.ID), Prompt: prefdata.Prompt{ID: pid, Messages: msgs, Source: "bench"},
			Chosen: c, Rejected: r, ScoreChosen: 4.5, ScoreRejected: 2.25, Margin: 2.25,
			Scores:     []prefdata.Score{{ResponseID: c.ID, Scorer: "rm:x", Value: 4.5}, {ResponseID: r.ID, Scorer: "rm:x", Value: 2.25}},
			Provenance: prefdata.Provenance{Stage: prefdata.StageFilter, Labeler: "best-worst", Judge: "judge:j"},
		}
	}
	return out
}

// BenchmarkWriter measures streaming pairs out in each format, with the
// provenance columns; bytes/s is of the output.
func BenchmarkWriter(b *testing.B) {
	pairs := benchPairs(256)
	for _, f := range Formats() {
		b.Run(string(f), func(b *testing.B) {
			var cw countWriter
			w, err := NewWriter(&cw, f, Options{Provenance: true})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := w.WritePair(ctx, pairs[i%len(pairs)]); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(cw.n / int64(b.N))
		})
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkReader measures reading rows back into pairs.
func BenchmarkReader(b *testing.B) {
	pairs := benchPairs(256)
	for _, f := range Formats() {
		b.Run(string(f), func(b *testing.B) {
			var buf bytes.Buffer
			w, _ := NewWriter(&buf, f, Options{Provenance: true})
			for _, p := range pairs {
				w.WritePair(context.Background(), p)
			}
			w.Flush()
			data := buf.Bytes()
			b.SetBytes(int64(len(data) / len(pairs)))
			b.ReportAllocs()
			b.ResetTimer()
			var r *Reader
			for i := 0; i < b.N; i++ {
				if i%len(pairs) == 0 {
					r, _ = NewReader(bytes.NewReader(data), "bench", f)
				}
				if _, err := r.Read(); err != nil && err != io.EOF {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSummarizeAndReport builds a run directory of 2,000 prompts with a
// real pipeline, then measures Summarize and WriteReport over it.
func BenchmarkSummarizeAndReport(b *testing.B) {
	d, err := prefdata.OpenRunDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	prompts := make([]prefdata.Prompt, 2000)
	cats := []string{"math", "coding", "writing", "chat"}
	for i := range prompts {
		prompts[i] = prefdata.Prompt{Messages: []prefdata.Message{msg("user", fmt.Sprintf("prompt %d", i))}, Source: "bench", Category: cats[i%len(cats)]}
	}
	p := &prefdata.Pipeline{
		Source:     prefdata.Prompts(prompts...),
		Generators: []prefdata.Generator{sampleGenerator("gen-a", "model-a", 1), sampleGenerator("gen-b", "model-b", 4)},
		Filters:    sampleFilters(), Labeler: sampleLabeler(), Dir: d,
	}
	if _, err := p.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Run("Summarize", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := Summarize(d); err != nil {
				b.Fatal(err)
			}
		}
	})
	s, err := Summarize(d)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("WriteReport", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := WriteReport(io.Discard, s, ReportOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
