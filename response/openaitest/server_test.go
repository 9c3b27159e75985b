package openaitest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata/response/openaitest"
)

func post(t *testing.T, url, auth string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest("POST", url, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, resp.Header, out
}

func chat(model string, n int) map[string]any {
	return map[string]any{"model": model, "n": n, "messages": []map[string]string{{"role": "user", "content": "hello there"}}}
}

func TestChatShapeAndUsage(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	status, _, body := post(t, srv.URL+"/chat/completions", "", chat("m", 2))
	require.Equal(t, 200, status)
	choices := body["choices"].([]any)
	require.Len(t, choices, 2)
	c0 := choices[0].(map[string]any)
	assert.Equal(t, "stop", c0["finish_reason"])
	assert.Equal(t, "assistant", c0["message"].(map[string]any)["role"])
	u := body["usage"].(map[string]any)
	assert.Positive(t, u["prompt_tokens"])
	assert.Equal(t, u["prompt_tokens"].(float64)+u["completion_tokens"].(float64), u["total_tokens"])
	assert.NotEqual(t, c0["message"], choices[1].(map[string]any)["message"], "choices differ")
	// Deterministic: the same request gives the same text.
	_, _, again := post(t, srv.URL+"/chat/completions", "", chat("m", 2))
	assert.Equal(t, body["choices"], again["choices"])
}

func TestNModes(t *testing.T) {
	for mode, want := range map[openaitest.NMode]int{openaitest.NHonour: 3, openaitest.NIgnore: 1, openaitest.NRefuse: 0} {
		srv := openaitest.NewServer(openaitest.Config{N: mode})
		status, _, body := post(t, srv.URL+"/chat/completions", "", chat("m", 3))
		if want == 0 {
			assert.Equal(t, 400, status)
			assert.Contains(t, body["error"].(map[string]any)["message"], "Only one completion choice")
		} else {
			assert.Len(t, body["choices"], want)
		}
		srv.Close()
	}
}

func TestKeyModelsAndContext(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{APIKey: "k", Models: []string{"a"}, MaxContext: 50})
	defer srv.Close()
	status, _, _ := post(t, srv.URL+"/chat/completions", "wrong", chat("a", 1))
	assert.Equal(t, 401, status)
	status, _, body := post(t, srv.URL+"/chat/completions", "k", chat("b", 1))
	assert.Equal(t, 404, status)
	assert.Equal(t, "model_not_found", body["error"].(map[string]any)["code"])
	long := chat("a", 1)
	long["messages"] = []map[string]string{{"role": "user", "content": strings.Repeat("word ", 100)}}
	status, _, body = post(t, srv.URL+"/chat/completions", "k", long)
	assert.Equal(t, 400, status)
	assert.Equal(t, "context_length_exceeded", body["error"].(map[string]any)["code"])
	status, _, _ = post(t, srv.URL+"/chat/completions", "k", chat("a", 1))
	assert.Equal(t, 200, status)
}

func TestRetryAfterHeaders(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Faults: []openaitest.Fault{openaitest.Fault429}, RetryAfter: 1500e6})
	defer srv.Close()
	status, hdr, _ := post(t, srv.URL+"/chat/completions", "", chat("m", 1))
	assert.Equal(t, 429, status)
	assert.Equal(t, "2", hdr.Get("Retry-After"))
	assert.Equal(t, "1500", hdr.Get("retry-after-ms"))
	assert.Equal(t, openaitest.Fault429, srv.Log()[0].Fault)
}

func TestMaxTokensCutsWithLength(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	req := chat("m", 1)
	req["max_tokens"] = 2
	_, _, body := post(t, srv.URL+"/chat/completions", "", req)
	c := body["choices"].([]any)[0].(map[string]any)
	assert.Equal(t, "length", c["finish_reason"])
	assert.Equal(t, 2.0, body["usage"].(map[string]any)["completion_tokens"])
}

func TestStream(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	req := chat("m", 1)
	req["stream"] = true
	b, _ := json.Marshal(req)
	resp, err := http.Post(srv.URL+"/chat/completions", "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.True(t, strings.HasPrefix(string(raw), "data: {"))
	assert.True(t, strings.HasSuffix(string(raw), "data: [DONE]\n\n"))
}

func ExampleNewServer() {
	srv := openaitest.NewServer(openaitest.Config{
		Reply: func(req openaitest.Request, choice int) openaitest.Reply {
			return openaitest.Reply{Content: "hi from " + req.Model}
		},
		Faults: []openaitest.Fault{openaitest.Fault503}, // the first request fails
	})
	defer srv.Close()
	for range 2 {
		body := strings.NewReader(`{"model":"tiny","messages":[{"role":"user","content":"hello"}]}`)
		resp, err := http.Post(srv.URL+"/chat/completions", "application/json", body)
		if err != nil {
			fmt.Println(err)
			return
		}
		var out struct {
			Choices []struct {
				Message struct{ Content string }
			}
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, out.Choices)
	}
	fmt.Println("requests:", srv.Requests())
	// Output:
	// 503 []
	// 200 [{{hi from tiny}}]
	// requests: 2
}
