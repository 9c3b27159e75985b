package label

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prefdata/prefdata"
)

// BenchmarkSubmit50 measures label submissions over loopback HTTP with 50
// annotators working at once: each fetches its next item (/api/next) and
// posts a label (/label), which the server appends to the run directory
// before it answers. It reports submissions per second and the p50/p99
// latency of the POST and of the whole next+POST cycle.
//
// "sync=1s" is the run directory's default (fsync at most once a second
// per file); "sync=each" fsyncs every label before answering.
//
//	go test -run '^$' -bench Submit50 -benchtime 3000x ./label
func BenchmarkSubmit50(b *testing.B) {
	b.Run("sync=1s", func(b *testing.B) { benchSubmit(b, 0) })
	b.Run("sync=each", func(b *testing.B) { benchSubmit(b, -1) })
}

func benchSubmit(b *testing.B, syncInterval time.Duration) {
	const annotators = 50
	dir, err := prefdata.OpenRunDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	dir.SyncInterval = syncInterval
	long := strings.Repeat("A response of typical length, with a few sentences in it. ", 20)
	for i := range b.N {
		if err := dir.Append(prefdata.FileQueue, queuePair(i, long+"A", long+"B")); err != nil {
			b.Fatal(err)
		}
	}
	var as []Annotator
	for i := range annotators {
		as = append(as, Annotator{Name: fmt.Sprintf("a%02d", i), Token: fmt.Sprintf("token-%02d", i)})
	}
	srv, err := NewServer(Config{Dir: dir, Annotators: as})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: annotators, MaxConnsPerHost: annotators}}

	var (
		mu          sync.Mutex
		post, cycle []time.Duration
		done        atomic.Int64
		wg          sync.WaitGroup
		errs        = make(chan error, annotators)
	)
	b.ResetTimer()
	start := time.Now()
	for _, a := range as {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var myPost, myCycle []time.Duration
			defer func() {
				mu.Lock()
				post, cycle = append(post, myPost...), append(cycle, myCycle...)
				mu.Unlock()
			}()
			for {
				t0 := time.Now()
				req, _ := http.NewRequest("GET", ts.URL+"/api/next", nil)
				req.Header.Set("Authorization", "Bearer "+a.Token)
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				if resp.StatusCode == http.StatusNoContent {
					resp.Body.Close()
					return
				}
				var n NextItem
				err = json.NewDecoder(resp.Body).Decode(&n)
				resp.Body.Close()
				if err != nil {
					errs <- err
					return
				}
				form := url.Values{"csrf": {n.CSRF}, "item": {n.Item}, "choice": {"a"}, "strength": {"2"}}
				req, _ = http.NewRequest("POST", ts.URL+"/label", strings.NewReader(form.Encode()))
				req.Header.Set("Authorization", "Bearer "+a.Token)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Accept", "application/json")
				t1 := time.Now()
				resp, err = client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				t2 := time.Now()
				if resp.StatusCode != http.StatusNoContent {
					errs <- fmt.Errorf("%s: POST /label: %s", a.Name, resp.Status)
					return
				}
				myPost, myCycle = append(myPost, t2.Sub(t1)), append(myCycle, t2.Sub(t0))
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	if got := int(done.Load()); got != b.N {
		b.Fatalf("%d labels submitted for %d items", got, b.N)
	}
	if n := len(srv.Store().Labels()); n != b.N {
		b.Fatalf("%d labels stored for %d items", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "labels/s")
	b.ReportMetric(ms(percentile(post, 0.50)), "p50-post-ms")
	b.ReportMetric(ms(percentile(post, 0.99)), "p99-post-ms")
	b.ReportMetric(ms(percentile(cycle, 0.50)), "p50-cycle-ms")
	b.ReportMetric(ms(percentile(cycle, 0.99)), "p99-cycle-ms")
}

func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
