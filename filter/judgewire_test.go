package filter_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

// Through the real client and the fake server: the default pairwise judge
// sends response_format with the verdict's JSON schema and reads the JSON
// reply.
func TestPairwiseJudgeStructuredOnTheWire(t *testing.T) {
	var schemas atomic.Int32
	g, srv := judgeServer(t, prefdata.Sampling{}, func(req openaitest.Request, _ int) openaitest.Reply {
		if req.ResponseFormat != nil && req.ResponseFormat.Type == "json_schema" && req.ResponseFormat.JSONSchema != nil && req.ResponseFormat.JSONSchema.Name == "verdict" {
			schemas.Add(1)
		}
		u := req.Messages[1].Content
		if between(u, "[Answer A]\n", "\n[End of answer A]") == "right" {
			return openaitest.Reply{Content: `{"explanation": "A is right.", "verdict": "A"}`}
		}
		return openaitest.Reply{Content: `{"explanation": "B is right.", "verdict": "B"}`}
	})
	out, err := (&filter.PairwiseJudge{Generator: g}).Filter(context.Background(), candidate("q", resp("r", "right"), resp("w", "wrong")))
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Requests())
	assert.Equal(t, int32(2), schemas.Load(), "each order asked with the schema")
	require.Len(t, out.Comparisons, 1)
	assert.Equal(t, 1.0, out.Comparisons[0].Preference)
	assert.True(t, out.Comparisons[0].Consistent)
}

// A server that answers 400 naming response_format (as some
// OpenAI-compatible servers do) gets the judge's plain-text prompt instead.
func TestPairwiseJudgeServerRefusesSchema(t *testing.T) {
	fake := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, _ int) openaitest.Reply {
		if strings.Contains(req.Messages[1].Content, "[Answer A]\nright") {
			return openaitest.Reply{Content: "A is right. [[A]]"}
		}
		return openaitest.Reply{Content: "B is right. [[B]]"}
	}})
	t.Cleanup(fake.Close)
	target, err := url.Parse(fake.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var refused, passed atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte(`"response_format"`)) {
			refused.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error": {"message": "response_format is not supported by this model", "type": "invalid_request_error", "param": "response_format", "code": null}}`)
			return
		}
		passed.Add(1)
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	g, err := response.New(response.Config{BaseURL: front.URL, Model: "judge", Retry: response.Retry{Attempts: 2, Base: 1}})
	require.NoError(t, err)
	j := &filter.PairwiseJudge{Generator: g, Concurrency: 1}
	out, err := j.Filter(context.Background(), candidate("q", resp("r", "right"), resp("w", "wrong")))
	require.NoError(t, err)
	assert.Equal(t, int32(1), refused.Load(), "refused once, then the judge stops asking for the schema")
	assert.Equal(t, int32(2), passed.Load())
	assert.Equal(t, 1.0, out.Comparisons[0].Preference)
	assert.True(t, out.Comparisons[0].Consistent)
}
