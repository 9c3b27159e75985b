package prompt_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prompt"
)

// synthCorpus makes short synthetic prompts on the fly (nothing is held in
// memory): prompt k of the unique stream is 10 to 18 words drawn from a
// 5000-word vocabulary by an RNG seeded with k. One prompt in ten is a
// planted near-duplicate of an earlier unique prompt, with one word
// substituted, deleted or inserted, and its case and punctuation changed
// half of the time.
type synthCorpus struct {
	vocab []string
}

func newSynthCorpus() *synthCorpus {
	rng := rand.New(rand.NewPCG(1, 2))
	const letters = "abcdefghijklmnopqrstuvwxyz"
	c := &synthCorpus{}
	for range 5000 {
		n := 3 + rng.IntN(7)
		b := make([]byte, n)
		for i := range b {
			b[i] = letters[rng.IntN(len(letters))]
		}
		c.vocab = append(c.vocab, string(b))
	}
	return c
}

func (c *synthCorpus) unique(k int) []string {
	rng := rand.New(rand.NewPCG(uint64(k), 99))
	w := make([]string, 10+rng.IntN(9))
	for i := range w {
		w[i] = c.vocab[rng.IntN(len(c.vocab))]
	}
	return w
}

// item returns prompt i of the stream and, for a planted duplicate, the
// index of the unique prompt it copies (-1 otherwise).
func (c *synthCorpus) item(i int) (string, int) {
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	if i < 10 || rng.IntN(10) != 0 {
		return strings.Join(c.unique(i), " ") + "?", -1
	}
	k := rng.IntN(i) // an earlier prompt; it may itself be a planted copy
	for {
		if _, orig := c.item(k); orig < 0 {
			break
		}
		k = rng.IntN(k + 1)
	}
	w := c.unique(k)
	j := rng.IntN(len(w))
	switch rng.IntN(3) {
	case 0:
		w[j] = c.vocab[rng.IntN(len(c.vocab))]
	case 1:
		w = append(w[:j], w[j+1:]...)
	default:
		w = append(w[:j], append([]string{c.vocab[rng.IntN(len(c.vocab))]}, w[j:]...)...)
	}
	s := strings.Join(w, " ") + "?"
	if rng.IntN(2) == 0 {
		s = strings.ToUpper(s[:1]) + s[1:] + "!"
	}
	return s, k
}

// peakHeap samples the heap until stop is called and returns the peak in
// bytes above the heap in use at the start (garbage not yet collected
// included), and what is still in use after a collection.
func peakHeap() (stop func() (peak, retained uint64)) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		wg.Wait()
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return peak - base, ms.HeapInuse - base
	}
}

// BenchmarkDedup runs exact and near dedup, as a pipeline would, over 100k
// and 1M synthetic prompts with planted near-duplicates, and reports
// prompts/s, ns/prompt, the peak heap, the recall of the planted duplicates
// and the share of unique prompts wrongly dropped. Run it with
//
//	go test -run '^$' -bench Dedup -benchtime 1x ./prompt/
func BenchmarkDedup(b *testing.B) {
	corpus := newSynthCorpus()
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for range b.N {
				ctx := context.Background()
				stop := peakHeap()
				exact, near := prompt.NewExactDedup(), prompt.MustNearDedup(prompt.NearDedupConfig{Seed: 1})
				filters := []prefdata.PromptFilter{exact, near}
				planted, caught, uniques, wrong := 0, 0, 0, 0
				plantedHi, caughtHi := 0, 0 // planted copies whose true Jaccard is >= 0.7
				var elapsed time.Duration   // in the filters only, not making prompts
				for i := range n {
					text, orig := corpus.item(i)
					p := prefdata.Prompt{ID: fmt.Sprint("s", i), Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: text}}}
					dropped := false
					start := time.Now()
					for _, f := range filters {
						if _, err := f.FilterPrompt(ctx, p); err != nil {
							dropped = true
							break
						}
					}
					elapsed += time.Since(start)
					if orig >= 0 {
						planted++
						if dropped {
							caught++
						}
						if jaccard5(text, strings.Join(corpus.unique(orig), " ")+"?") >= 0.7 {
							plantedHi++
							if dropped {
								caughtHi++
							}
						}
					} else {
						uniques++
						if dropped {
							wrong++
						}
					}
				}
				peak, retained := stop()
				runtime.KeepAlive(filters)
				b.ReportMetric(float64(n)/elapsed.Seconds(), "prompts/s")
				b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/prompt")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(retained)/(1<<20), "retained-MB")
				b.ReportMetric(float64(caught)/float64(planted), "recall")
				b.ReportMetric(float64(caughtHi)/float64(plantedHi), "recall-J>=0.7")
				b.ReportMetric(float64(plantedHi)/float64(planted), "planted-J>=0.7")
				b.ReportMetric(float64(wrong)/float64(uniques), "false-drop-rate")
			}
		})
	}
}

// jaccard5 is the exact Jaccard similarity of the character 5-gram sets of
// the normalized texts: the quantity NearDedup estimates.
func jaccard5(a, b string) float64 {
	set := func(s string) map[string]bool {
		r := []rune(prompt.Normalize(s))
		out := map[string]bool{}
		for i := 0; i+5 <= len(r); i++ {
			out[string(r[i:i+5])] = true
		}
		if len(out) == 0 {
			out[string(r)] = true
		}
		return out
	}
	x, y := set(a), set(b)
	inter := 0
	for k := range x {
		if y[k] {
			inter++
		}
	}
	return float64(inter) / float64(len(x)+len(y)-inter)
}
