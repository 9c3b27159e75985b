package response

import (
	"net/http"
	"testing"
	"time"
)

// TestRetryAfterHeader reads each form of the wait a server asks for; the
// fake server sends retry-after-ms and Retry-After together, so this is
// where Retry-After alone (proxies, vLLM behind one) is checked.
func TestRetryAfterHeader(t *testing.T) {
	future := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	cases := []struct {
		name     string
		hdr      http.Header
		min, max time.Duration
	}{
		{"none", http.Header{}, 0, 0},
		{"nil", nil, 0, 0},
		{"seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second, 7 * time.Second},
		{"fractional seconds", http.Header{"Retry-After": {"1.5"}}, 1500 * time.Millisecond, 1500 * time.Millisecond},
		{"milliseconds first", http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"1"}}, 250 * time.Millisecond, 250 * time.Millisecond},
		{"HTTP date", http.Header{"Retry-After": {future}}, 80 * time.Second, 90 * time.Second},
		{"date in the past", http.Header{"Retry-After": {"Mon, 02 Jan 2006 15:04:05 GMT"}}, 0, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0, 0},
		{"negative", http.Header{"Retry-After": {"-3"}}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := retryAfter(c.hdr)
			if got < c.min || got > c.max {
				t.Errorf("retryAfter = %s, want in [%s, %s]", got, c.min, c.max)
			}
		})
	}
}
