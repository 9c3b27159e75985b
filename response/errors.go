package response

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/prefdata/prefdata"
)

// ErrBudget is matched by errors.Is when a request was not sent because its
// cost would have passed the run's [Budget]. It wraps [prefdata.ErrStopRun],
// so a Pipeline stops the whole run cleanly rather than failing item after
// item; the items not done stay undone and a later run (with a larger
// budget) does them.
var ErrBudget = fmt.Errorf("response: cost budget reached: %w", prefdata.ErrStopRun)

// ErrContextLength is matched by errors.Is when the server refused a request
// because the prompt and max_tokens do not fit the model's context window.
var ErrContextLength = errors.New("response: context length exceeded")

// ErrEmptyChoices is matched by errors.Is when a server answered with no
// choices.
var ErrEmptyChoices = errors.New("response: server returned no choices")

// ErrFewerChoices is matched by errors.Is when a server returned fewer
// choices than n asked for and the generator was told not to fall back
// ([NUse]).
var ErrFewerChoices = errors.New("response: server returned fewer choices than asked")

// StatusError is an HTTP error answer of the API.
type StatusError struct {
	StatusCode int
	// Code, Type and Param are the error's "code", "type" and "param"
	// fields, when the body was an OpenAI-style error (Param names the
	// request field at fault).
	Code, Type, Param string
	// Message is the server's message (or the start of its body).
	Message string
	// RetryAfter is the wait the server asked for (Retry-After or
	// retry-after-ms), 0 when none.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Is matches ErrContextLength for a context-length refusal.
func (e *StatusError) Is(target error) bool {
	return target == ErrContextLength && e.contextLength()
}

func (e *StatusError) contextLength() bool {
	if e.StatusCode != http.StatusBadRequest {
		return false
	}
	// OpenAI's code; llama.cpp's server says exceed_context_size_error in
	// type and "context size" in the message; vLLM and SGLang say
	// "maximum context length" in the message only.
	if e.Code == "context_length_exceeded" || e.Type == "exceed_context_size_error" {
		return true
	}
	m := strings.ToLower(e.Message)
	for _, s := range []string{"context length", "context_length", "context window", "context size"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// Retryable reports whether the request may succeed if sent again. A 429
// for an exhausted quota (OpenAI's insufficient_quota: no credit left) is
// not: waiting does not bring credit back.
func (e *StatusError) Retryable() bool {
	if e.Code == "insufficient_quota" {
		return false
	}
	switch e.StatusCode {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	}
	return e.StatusCode >= 500
}

// attemptError is what one attempt's failure is classified as.
type attemptError struct {
	err        error
	retry      bool          // may succeed if sent again
	retryAfter time.Duration // the server's ask, 0 when none
	replica    bool          // the replica looks unwell
	switched   bool          // the completion limit's field was switched: send again at once
}

// classify turns the error of one attempt into an attemptError. ctx is the
// caller's context (not the attempt's): its end is never retried.
func classify(ctx context.Context, err error, hdr http.Header) attemptError {
	if ctx.Err() != nil {
		return attemptError{err: ctx.Err()}
	}
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	var se *StatusError
	switch {
	case errors.As(err, &se):
		return statusAttempt(se, hdr)
	case errors.As(err, &apiErr) && apiErr.HTTPStatusCode > 0:
		se := &StatusError{StatusCode: apiErr.HTTPStatusCode, Type: apiErr.Type, Message: apiErr.Message}
		se.Code = codeString(apiErr.Code)
		return statusAttempt(se, hdr)
	case errors.As(err, &reqErr) && reqErr.HTTPStatusCode > 0:
		se := &StatusError{StatusCode: reqErr.HTTPStatusCode, Message: bodySnippet(reqErr.Body)}
		if se.Message == "" && reqErr.Err != nil {
			se.Message = reqErr.Err.Error()
		}
		return statusAttempt(se, hdr)
	case errors.Is(err, context.DeadlineExceeded):
		return attemptError{err: fmt.Errorf("request timed out: %w", err), retry: true, replica: true}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return attemptError{err: err, retry: true, replica: true}
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return attemptError{err: err, retry: true, replica: true}
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syn) || errors.As(err, &typ) {
		return attemptError{err: fmt.Errorf("malformed response: %w", err), retry: true, replica: true}
	}
	if errors.Is(err, ErrEmptyChoices) {
		return attemptError{err: err, retry: true}
	}
	return attemptError{err: err}
}

// unsupportedRE matches a message that says a request field is not
// supported (OpenAI's unsupported_parameter, vLLM's and TGI's validation of
// unknown fields).
var unsupportedRE = regexp.MustCompile(`(?i)unsupported|not supported|does not support|unknown|unrecogni[sz]ed|not permitted|extra (fields|inputs)|not allowed`)

// names reports whether the 400 answer se says the field name is not
// supported.
func (e *StatusError) names(name string) bool {
	if e.StatusCode != http.StatusBadRequest || e.contextLength() {
		return false
	}
	if e.Param != "" {
		// The server says which field: its message may name others
		// ("Use 'max_completion_tokens' instead").
		return e.Param == name
	}
	if !strings.Contains(e.Message, name) || !(e.Code == "unsupported_parameter" || unsupportedRE.MatchString(e.Message)) {
		return false
	}
	// "max_tokens" must not match inside another name.
	for i := 0; ; {
		j := strings.Index(e.Message[i:], name)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isNameByte(e.Message[j-1])
		end := j + len(name)
		after := end == len(e.Message) || !isNameByte(e.Message[end])
		if before && after {
			return true
		}
		i = end
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// refused looks at a 400 answer to req, sent to ep with the completion
// limit in field: a refusal of that field switches the endpoint to the
// other one (in MaxTokensAuto mode) and marks a to be sent again at once;
// a refusal of an option the request set makes a's error match
// prefdata.ErrUnsupportedOption.
func (g *Generator) refused(ep *endpoint, req *chatRequest, field string, a *attemptError) {
	var se *StatusError
	if !errors.As(a.err, &se) || se.StatusCode != http.StatusBadRequest {
		return
	}
	if req.limit > 0 && g.cfg.MaxTokensField == MaxTokensAuto && se.names(field) {
		if field == fieldMaxTokens {
			ep.limitField.CompareAndSwap(limitMaxTokens, limitMaxCompletionTokens)
		} else {
			ep.limitField.CompareAndSwap(limitMaxCompletionTokens, limitMaxTokens)
		}
		a.switched = true
		return
	}
	var sent []string
	if req.ResponseFormat != nil {
		sent = append(sent, "response_format")
	}
	if len(req.Tools) > 0 {
		sent = append(sent, "tools", "tool_choice")
	}
	if req.Logprobs {
		sent = append(sent, "top_logprobs", "logprobs")
	}
	if req.ReasoningEffort != "" {
		sent = append(sent, "reasoning_effort")
	}
	for _, f := range sent {
		if se.names(f) {
			a.err = fmt.Errorf("%w: %s: %w", prefdata.ErrUnsupportedOption, f, a.err)
			a.retry = false
			return
		}
	}
}

func statusAttempt(se *StatusError, hdr http.Header) attemptError {
	se.RetryAfter = retryAfter(hdr)
	a := attemptError{err: se, retry: se.Retryable(), retryAfter: se.RetryAfter}
	a.replica = se.StatusCode >= 500 || se.StatusCode == http.StatusTooManyRequests
	return a
}

// retryAfter reads retry-after-ms (OpenAI, Azure) or Retry-After (seconds
// or an HTTP date).
func retryAfter(h http.Header) time.Duration {
	if h == nil {
		return 0
	}
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func codeString(c any) string {
	switch v := c.(type) {
	case string:
		return v
	case float64:
		if v != 0 {
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	case int:
		if v != 0 {
			return strconv.Itoa(v)
		}
	}
	return ""
}

func bodySnippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
