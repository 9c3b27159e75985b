package openaitest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/response/openaitest"
)

// The spec (CreateChatCompletionResponse) requires message.refusal and
// choices[].logprobs, null when absent.
func TestChoiceHasTheFieldsTheSpecRequires(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	_, _, body := post(t, srv.URL+"/chat/completions", "", chat("m", 1))
	c := body["choices"].([]any)[0].(map[string]any)
	lp, ok := c["logprobs"]
	assert.True(t, ok, "choices[].logprobs is required")
	assert.Nil(t, lp, "null when not asked for")
	msg := c["message"].(map[string]any)
	ref, ok := msg["refusal"]
	assert.True(t, ok, "message.refusal is required")
	assert.Nil(t, ref)
	assert.IsType(t, "", msg["content"])
}

func TestLogprobsHaveBytesAndNoNestedAlternatives(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	req := chat("m", 1)
	req["logprobs"], req["top_logprobs"] = true, 2
	_, _, body := post(t, srv.URL+"/chat/completions", "", req)
	lp := body["choices"].([]any)[0].(map[string]any)["logprobs"].(map[string]any)
	r, ok := lp["refusal"]
	assert.True(t, ok, "logprobs.refusal is required")
	assert.Nil(t, r)
	content := lp["content"].([]any)
	require.NotEmpty(t, content)
	for _, e := range content {
		tok := e.(map[string]any)
		var want []any
		for _, b := range []byte(tok["token"].(string)) {
			want = append(want, float64(b))
		}
		assert.Equal(t, want, tok["bytes"], "bytes are the token's UTF-8")
		top := tok["top_logprobs"].([]any)
		require.Len(t, top, 2)
		for _, a := range top {
			alt := a.(map[string]any)
			assert.NotContains(t, alt, "top_logprobs", "an alternative has no alternatives")
			assert.Contains(t, alt, "bytes")
		}
	}
}

func TestScriptedReasoningToolCallsAndRefusal(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, i int) openaitest.Reply {
		switch i {
		case 0:
			return openaitest.Reply{Reasoning: "think think", Content: "ok", ReasoningTokens: 3}
		case 1:
			return openaitest.Reply{ToolCalls: []prefdata.ToolCall{{Name: "f", Arguments: `{"x":1}`}}}
		}
		return openaitest.Reply{Refusal: "No."}
	}})
	defer srv.Close()
	_, _, body := post(t, srv.URL+"/chat/completions", "", chat("m", 3))
	cs := body["choices"].([]any)
	m0 := cs[0].(map[string]any)["message"].(map[string]any)
	assert.Equal(t, "think think", m0["reasoning_content"])
	assert.Equal(t, "ok", m0["content"])
	m1 := cs[1].(map[string]any)
	assert.Equal(t, "tool_calls", m1["finish_reason"])
	assert.Nil(t, m1["message"].(map[string]any)["content"], "content is null beside tool calls")
	call := m1["message"].(map[string]any)["tool_calls"].([]any)[0].(map[string]any)
	assert.Equal(t, "function", call["type"])
	assert.Equal(t, map[string]any{"name": "f", "arguments": `{"x":1}`}, call["function"])
	assert.NotEmpty(t, call["id"])
	m2 := cs[2].(map[string]any)["message"].(map[string]any)
	assert.Equal(t, "No.", m2["refusal"])
	u := body["usage"].(map[string]any)
	assert.Equal(t, map[string]any{"reasoning_tokens": 3.0}, u["completion_tokens_details"])
}

func TestRequestKeepsWhatWasSent(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	req := chat("m", 1)
	req["temperature"] = 0
	req["max_completion_tokens"] = 7
	req["response_format"] = map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "v", "schema": map[string]any{"type": "object"}}}
	post(t, srv.URL+"/chat/completions", "", req)
	got := srv.Log()[0]
	assert.True(t, got.Sent("temperature"))
	assert.False(t, got.Sent("max_tokens"))
	assert.Equal(t, 7, got.MaxTokens, "the limit, from either field")
	assert.Equal(t, 7, got.MaxCompletionTokens)
	require.NotNil(t, got.ResponseFormat)
	assert.Equal(t, "v", got.ResponseFormat.JSONSchema.Name)
	assert.Contains(t, string(got.Body), `"temperature":0`)
}

func TestUnsupportedParameters(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{MaxTokensParam: "max_completion_tokens", Unsupported: []string{"tools"}})
	defer srv.Close()
	req := chat("m", 1)
	req["max_tokens"] = 5
	status, _, body := post(t, srv.URL+"/chat/completions", "", req)
	assert.Equal(t, 400, status)
	e := body["error"].(map[string]any)
	assert.Equal(t, "max_tokens", e["param"])
	assert.Equal(t, "unsupported_parameter", e["code"])
	req = chat("m", 1)
	req["tools"] = []any{}
	status, _, body = post(t, srv.URL+"/chat/completions", "", req)
	assert.Equal(t, 400, status)
	assert.Equal(t, "tools", body["error"].(map[string]any)["param"])
}

// Every line of a batch's output gets its own completion ID.
func TestBatchOutputIDsAreDistinct(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	var in bytes.Buffer
	for i := range 3 {
		line, _ := json.Marshal(map[string]any{"custom_id": fmt.Sprint("c", i), "method": "POST", "url": "/v1/chat/completions", "body": chat("m", 1)})
		in.Write(append(line, '\n'))
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	_ = mw.WriteField("purpose", "batch")
	fw, _ := mw.CreateFormFile("file", "in.jsonl")
	fw.Write(in.Bytes())
	mw.Close()
	resp, err := http.Post(srv.URL+"/files", mw.FormDataContentType(), &form)
	require.NoError(t, err)
	var file map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&file))
	resp.Body.Close()
	status, _, batch := post(t, srv.URL+"/batches", "", map[string]any{"input_file_id": file["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h"})
	require.Equal(t, 200, status)
	_, _, done := get(t, srv.URL+"/batches/"+batch["id"].(string))
	_, raw, _ := get(t, srv.URL+"/files/"+done["output_file_id"].(string)+"/content")
	ids := map[string]bool{}
	for _, l := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		var rec struct {
			Response struct {
				Body struct {
					ID string `json:"id"`
				} `json:"body"`
			} `json:"response"`
		}
		require.NoError(t, json.Unmarshal(l, &rec))
		assert.NotEqual(t, "chatcmpl--1", rec.Response.Body.ID)
		ids[rec.Response.Body.ID] = true
	}
	assert.Len(t, ids, 3)
}

func get(t *testing.T, url string) (int, []byte, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, raw, out
}

// A fake judge that answers a function-call verdict when tools are offered
// and a JSON one under a schema; the request's body shows what was asked.
func ExampleConfig_structuredJudge() {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, _ int) openaitest.Reply {
		switch {
		case len(req.Tools) > 0:
			return openaitest.Reply{ToolCalls: []prefdata.ToolCall{{Name: req.Tools[0].Function.Name, Arguments: `{"winner":"B"}`}}}
		case req.ResponseFormat != nil:
			return openaitest.Reply{Content: `{"winner":"B"}`}
		}
		return openaitest.Reply{Reasoning: "B is right.", Content: "[[B]]"}
	}})
	defer srv.Close()
	for _, body := range []string{
		`{"model":"j","messages":[{"role":"user","content":"A or B?"}],"tools":[{"type":"function","function":{"name":"verdict"}}],"tool_choice":"required"}`,
		`{"model":"j","messages":[{"role":"user","content":"A or B?"}],"response_format":{"type":"json_schema","json_schema":{"name":"v","schema":{"type":"object"}}}}`,
		`{"model":"j","messages":[{"role":"user","content":"A or B?"}],"temperature":0}`,
	} {
		resp, err := http.Post(srv.URL+"/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			fmt.Println(err)
			return
		}
		var out struct {
			Choices []struct {
				Message      map[string]any `json:"message"`
				FinishReason string         `json:"finish_reason"`
			}
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		m := out.Choices[0].Message
		fmt.Println(out.Choices[0].FinishReason, m["content"], m["reasoning_content"], m["tool_calls"] != nil)
	}
	fmt.Println("temperature sent:", srv.Log()[2].Sent("temperature"), *srv.Log()[2].Temperature)
	// Output:
	// tool_calls <nil> <nil> true
	// stop {"winner":"B"} <nil> false
	// stop [[B]] B is right. false
	// temperature sent: true 0
}
