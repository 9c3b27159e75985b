package prompt

import (
	"math"
	"testing"
)

// optimalBandsPow is OptimalBands as first written: each point of each
// integral by math.Pow. The fast version must choose the same split.
func optimalBandsPow(threshold float64, numPerm int) (bands, rows int) {
	const wFP, wFN, steps = 0.2, 0.8, 200
	prob := func(s float64, b, r int) float64 { return 1 - math.Pow(1-math.Pow(s, float64(r)), float64(b)) }
	integrate := func(f func(float64) float64, lo, hi float64) float64 {
		h, sum := (hi-lo)/steps, 0.0
		for i := 0; i < steps; i++ {
			sum += f(lo + (float64(i)+0.5)*h)
		}
		return sum * h
	}
	best := math.Inf(1)
	for b := 1; b <= numPerm; b++ {
		for r := 1; b*r <= numPerm; r++ {
			fp := integrate(func(s float64) float64 { return prob(s, b, r) }, 0, threshold)
			fn := integrate(func(s float64) float64 { return 1 - prob(s, b, r) }, threshold, 1)
			if e := wFP*fp + wFN*fn; e < best {
				best, bands, rows = e, b, r
			}
		}
	}
	return bands, rows
}

func TestOptimalBandsMatchesPow(t *testing.T) {
	for _, numPerm := range []int{1, 2, 7, 16, 64, 128, 200} {
		for _, th := range []float64{0.1, 0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95} {
			wb, wr := optimalBandsPow(th, numPerm)
			if b, r := OptimalBands(th, numPerm); b != wb || r != wr {
				t.Errorf("OptimalBands(%g, %d) = %d×%d, want %d×%d", th, numPerm, b, r, wb, wr)
			}
		}
	}
}

func BenchmarkOptimalBands(b *testing.B) {
	for range b.N {
		OptimalBands(0.7, 128)
	}
}
