package response

import (
	"encoding/json"
	"math"
	"math/rand"
	"reflect"
	"testing"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/internal/jsonw"
)

// The hand-written request body is json.Marshal's, byte for byte, for
// requests with every field set or left out, and texts with everything
// JSON escapes.
func TestRequestBodyMatchesEncodingJSON(t *testing.T) {
	texts := []string{"", "Hello.", "line\nbreak\ttab \"quoted\" back\\slash", "<b>&</b> \u2028 caf\xc3\xa9 \xff", "日本語の質問です。"}
	schemas := []json.RawMessage{nil, json.RawMessage(`{"type":"object","properties":{"winner":{"type":"string","enum":["A","B"]}},"required":["winner"]}`), json.RawMessage(` { "type" : "object" , "description": "<x>" } `)}
	r := rand.New(rand.NewSource(7))
	pick := func(n int) int { return r.Intn(n) }
	intp := func() *int {
		if pick(2) == 0 {
			return nil
		}
		v := pick(3) * 100
		return &v
	}
	floatp := func() *float64 {
		if pick(2) == 0 {
			return nil
		}
		return prefdata.Float([]float64{0, 0.7, 1, 1e-7, 2.5e21}[pick(5)])
	}
	for i := range 3000 {
		req := chatRequest{Model: []string{"m", "gpt-4o-mini", "org/model:q4"}[pick(3)], MaxTokens: intp(), MaxCompletionTokens: intp(),
			Temperature: floatp(), TopP: floatp(), N: pick(3), Seed: intp(), Logprobs: pick(2) == 0, TopLogprobs: intp(),
			ReasoningEffort: []string{"", "low", "high"}[pick(3)]}
		if pick(4) == 0 {
			req.Messages = nil
		} else {
			req.Messages = []chatMessage{}
			for range pick(4) {
				req.Messages = append(req.Messages, chatMessage{Role: []string{"system", "user", "assistant"}[pick(3)], Content: texts[pick(len(texts))]})
			}
		}
		switch pick(3) {
		case 1:
			req.Stop = []string{}
		case 2:
			req.Stop = []string{"\n\n", texts[pick(len(texts))]}
		}
		if pick(2) == 0 {
			req.ResponseFormat = &responseFormat{Type: "json_object"}
			if pick(2) == 0 {
				req.ResponseFormat = &responseFormat{Type: "json_schema", JSONSchema: &prefdata.JSONSchema{Name: "verdict", Description: texts[pick(len(texts))], Schema: schemas[pick(len(schemas))], Strict: pick(2) == 0}}
			}
		}
		for range pick(3) {
			req.Tools = append(req.Tools, chatTool{Type: "function", Function: prefdata.Tool{Name: "f", Description: texts[pick(len(texts))], Parameters: schemas[pick(len(schemas))], Strict: pick(2) == 0}})
		}
		switch pick(3) {
		case 1:
			req.ToolChoice = "required"
		case 2:
			var tc namedToolChoice
			tc.Type, tc.Function.Name = "function", "f"
			req.ToolChoice = tc
		}
		want, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := req.body()
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if string(got) != string(want) {
			t.Fatalf("request %d:\nbody %s\njson %s", i, got, want)
		}
	}
}

// What json.Marshal refuses, body refuses: a temperature that is not a
// number, a schema that is not JSON.
func TestRequestBodyRefusesWhatJSONCannotHold(t *testing.T) {
	for name, req := range map[string]chatRequest{
		"NaN temperature": {Model: "m", Temperature: prefdata.Float(math.NaN())},
		"infinite top_p":  {Model: "m", TopP: prefdata.Float(math.Inf(1))},
		"bad schema":      {Model: "m", ResponseFormat: &responseFormat{Type: "json_schema", JSONSchema: &prefdata.JSONSchema{Name: "x", Schema: json.RawMessage(`{"a":`)}}},
		"empty schema":    {Model: "m", ResponseFormat: &responseFormat{Type: "json_schema", JSONSchema: &prefdata.JSONSchema{Name: "x", Schema: json.RawMessage{}}}},
	} {
		if _, err := json.Marshal(req); err == nil {
			t.Fatalf("%s: json.Marshal took it", name)
		}
		if b, err := req.body(); err == nil {
			t.Fatalf("%s: body = %s, want an error", name, b)
		}
	}
}

func BenchmarkRequestBody(b *testing.B) {
	req := chatRequest{Model: "judge", Temperature: prefdata.Float(0), MaxTokens: prefdata.Int(256),
		Messages:       []chatMessage{{Role: "system", Content: "You are a careful judge of answers."}, {Role: "user", Content: "Compare the two answers below to the question, and say which is better.\n\n[Question]\nExplain how a hash table works, and when it is slow.\n\n[Answer A]\nA hash table maps keys to buckets with a hash function; lookups are constant time on average, slow when many keys collide.\n\n[Answer B]\nIt stores pairs in an array indexed by a hash of the key. Collisions are chained; a bad hash or a full table makes them slow.\n"}},
		ResponseFormat: &responseFormat{Type: "json_schema", JSONSchema: &prefdata.JSONSchema{Name: "verdict", Schema: json.RawMessage(`{"type":"object","properties":{"winner":{"type":"string","enum":["A","B","tie"]}},"required":["winner"],"additionalProperties":false}`), Strict: true}}}
	b.Run("hand", func(b *testing.B) {
		for range b.N {
			if _, err := req.body(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for range b.N {
			if _, err := json.Marshal(req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Chat completions as servers send them (OpenAI, vLLM with reasoning,
// Ollama, tool calls, logprobs), and bodies the hand decoder must leave to
// encoding/json.
var responseBodies = []string{
	`{"id":"chatcmpl-1","object":"chat.completion","created":1733000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! \u00e9\n\"quoted\"","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_1"}`,
	`{"id":"cmpl-2","object":"chat.completion","created":1,"model":"Qwen/QwQ","choices":[{"index":0,"message":{"role":"assistant","reasoning_content":"Let me think.","content":"B","tool_calls":[]},"logprobs":{"content":[{"token":"B","logprob":-0.0001,"bytes":[66],"top_logprobs":[{"token":"B","logprob":-0.0001,"bytes":[66]},{"token":"A","logprob":-9.25,"bytes":[65]}]}]},"finish_reason":"stop","stop_reason":null}],"usage":{"prompt_tokens":100,"total_tokens":130,"completion_tokens":30,"prompt_tokens_details":null},"prompt_logprobs":null}`,
	`{"id":"chatcmpl-3","object":"chat.completion","created":1,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"message":{"role":"assistant","content":"","reasoning":"hmm","tool_calls":[{"id":"call_1","index":0,"type":"function","function":{"name":"verdict","arguments":"{\"winner\":\"A\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}`,
	`{"id":"x","choices":[{"index":0,"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"stop"},{"index":1,"message":{"content":"two"},"finish_reason":"length"}],"usage":null}`,
	`{"choices":[{"message":{"tool_calls":[{"id":"c","function":{"name":"f","arguments":{"winner": "B"}}}]}}]}`,
	` { "id" : "ws" , "choices" : [ { "index" : 0 , "message" : { "content" : "a b" } } ] } `,
	`{"id":"e","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":0,"total_tokens":1,"completion_tokens_details":null}}`,
	`{"id":"n","choices":null}`, `null`, `{}`,
	// Left to encoding/json: another case, a repeated key, a type it refuses,
	// a surrogate escape, invalid UTF-8, trailing bytes, invalid JSON.
	`{"ID":"upper","choices":[]}`, `{"id":"a","id":"b"}`, `{"choices":[{"index":"0"}]}`, `{"choices":[{"index":1.5}]}`,
	`{"id":"\ud83d\ude00"}`, "{\"id\":\"\xff\"}", `{"id":"a"} x`, `null0`, `{"id":`, `[]`, `{"choices":[null]}`,
	`{"choices":[{"message":null,"logprobs":{"content":null}}]}`, `{"usage":{"completion_tokens_details":{"reasoning_tokens":7}}}`,
	`{"choices":[{"message":{"content":"x","Content":"y"}}]}`, `{"choices":[{"logprobs":{"content":[{"token":"a","logprob":1e400}]}}]}`,
}

// decodeResponse gives what json.Unmarshal gives, error or value, and the
// hand decoder takes the servers' bodies itself.
func TestResponseDecoderMatchesEncodingJSON(t *testing.T) {
	for i, body := range responseBodies {
		checkDecode(t, body)
		if i < 10 {
			var r chatResponse
			if d := (jsonw.Dec{B: []byte(body)}); !((d.Null() || (chatResponseDec{&d}).response(&r)) && d.End()) {
				t.Errorf("body %d: the hand decoder gave up on a server's answer: %s", i, body)
			}
		}
	}
}

func checkDecode(t *testing.T, body string) {
	t.Helper()
	var got, want chatResponse
	gotErr := decodeResponse([]byte(body), &got)
	wantErr := json.Unmarshal([]byte(body), &want)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%q: error %v, encoding/json %v", body, gotErr, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\ngot  %+v\nwant %+v", body, got, want)
	}
}

func FuzzResponseDecoder(f *testing.F) {
	for _, b := range responseBodies {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body string) { checkDecode(t, body) })
}

func BenchmarkResponseDecode(b *testing.B) {
	body := []byte(responseBodies[0])
	b.Run("hand", func(b *testing.B) {
		for range b.N {
			var r chatResponse
			if err := decodeResponse(body, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for range b.N {
			var r chatResponse
			if err := json.Unmarshal(body, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
