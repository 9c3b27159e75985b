package filter

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

// forEach calls every index once, at most limit at once and, with more
// items than that, limit at once; it starts none after ctx is done.
func TestForEach(t *testing.T) {
	for _, tc := range []struct{ n, limit, want int }{{0, 4, 0}, {1, 4, 1}, {3, 4, 3}, {12, 4, 4}, {12, 1, 1}, {7, 0, 4}} {
		var mu sync.Mutex
		seen := make([]int, tc.n)
		var in, peak atomic.Int32
		// Each call waits until the peak is reached or every item has
		// started, so the test sees the most that run at once.
		started := make(chan struct{}, tc.n)
		release := make(chan struct{})
		var once sync.Once
		forEach(context.Background(), tc.n, tc.limit, func(i int) {
			k := in.Add(1)
			for {
				p := peak.Load()
				if k <= p || peak.CompareAndSwap(p, k) {
					break
				}
			}
			mu.Lock()
			seen[i]++
			mu.Unlock()
			started <- struct{}{}
			if int(k) == tc.want || len(started) == tc.n {
				once.Do(func() { close(release) })
			}
			<-release
			in.Add(-1)
		})
		for i, c := range seen {
			if c != 1 {
				t.Errorf("n %d limit %d: item %d called %d times", tc.n, tc.limit, i, c)
			}
		}
		if int(peak.Load()) != tc.want {
			t.Errorf("n %d limit %d: %d at once, want %d", tc.n, tc.limit, peak.Load(), tc.want)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	forEach(ctx, 10, 1, func(i int) {
		if calls.Add(1) == 3 {
			cancel()
		}
	})
	if calls.Load() != 3 {
		t.Errorf("%d calls after ctx was done at the third, want 3", calls.Load())
	}
}
