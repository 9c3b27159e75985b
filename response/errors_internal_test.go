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

func TestStatusErrorNamesAField(t *testing.T) {
	for _, c := range []struct {
		se    StatusError
		field string
		want  bool
	}{
		{StatusError{StatusCode: 400, Param: "max_tokens", Code: "unsupported_parameter", Message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."}, "max_tokens", true},
		{StatusError{StatusCode: 400, Param: "max_tokens", Message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."}, "max_completion_tokens", false},
		{StatusError{StatusCode: 400, Message: "registry.ollama.ai/library/tiny-a:latest does not support tools"}, "tools", true},
		{StatusError{StatusCode: 400, Message: "registry.ollama.ai/library/tiny-a:latest does not support tools"}, "tool_choice", false},
		{StatusError{StatusCode: 400, Message: "1 validation error: max_completion_tokens: Extra inputs are not permitted"}, "max_completion_tokens", true},
		{StatusError{StatusCode: 400, Message: "1 validation error: max_completion_tokens: Extra inputs are not permitted"}, "max_tokens", false},
		// A limit too large for the context is not a refusal of the field.
		{StatusError{StatusCode: 400, Message: "'max_tokens' is too large: 9000. This model's maximum context length is 8192 tokens and your request has 20 input tokens (9000 > 8192 - 20)."}, "max_tokens", false},
		{StatusError{StatusCode: 400, Message: "max_tokens must be at least 1, got 0."}, "max_tokens", false},
		{StatusError{StatusCode: 500, Param: "tools"}, "tools", false},
	} {
		if got := c.se.names(c.field); got != c.want {
			t.Errorf("%q names %s = %v, want %v", c.se.Message, c.field, got, c.want)
		}
	}
}

func TestToolArgumentsAsStringOrObject(t *testing.T) {
	for raw, want := range map[string]string{`"{\"a\":1}"`: `{"a":1}`, `{"a":1}`: `{"a":1}`, `null`: ``, `""`: ``} {
		if got := toolArguments([]byte(raw)); got != want {
			t.Errorf("toolArguments(%s) = %q, want %q", raw, got, want)
		}
	}
}
