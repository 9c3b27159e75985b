package prefdata

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// checkOptionsEncoding compares the hand encoder's bytes for v with
// encoding/json's, refusals included.
func checkOptionsEncoding(t *testing.T, v any) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	e := enc{}
	known := e.value(v)
	if !known {
		t.Fatalf("%T has no hand encoder", v)
	}
	if (e.err != nil) != (wantErr != nil) || (e.err == nil && !bytes.Equal(e.b, want)) {
		t.Errorf("%#v:\n got %q (%v)\nwant %q (%v)", v, e.b, e.err, want, wantErr)
	}
}

// The generation options, schemas and tools are written as encoding/json
// writes them, refusals included, so Hash (the judge prompt IDs, the call
// journal's keys, the response IDs) is unchanged.
func TestOptionsEncoderMatchesEncodingJSON(t *testing.T) {
	schema := json.RawMessage(`{"type":"object","properties":{"verdict":{"type":"string","enum":["A","B","C"]}},"required":["verdict"],"additionalProperties":false}`)
	spaced := json.RawMessage("{ \"type\": \"object\",\n\t\"properties\": {\"v\": {\"enum\": [\"<tie>\", \"a&b\", \"x\u2028y\", \"q\\\"uote\"]}} }")
	r := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "verdict", "the <verdict> & more", "é\u2029", "\xff"}
	raws := []json.RawMessage{nil, {}, schema, spaced, json.RawMessage(`[1, 2 ,3]`), json.RawMessage(`{"a"`), json.RawMessage(`"\u003c"`), json.RawMessage(" 1 "), json.RawMessage(`{"a":"<"}`)}
	temps := []*float64{nil, Float(0), Float(0.7), Float(1e-7), Float(math.NaN()), Float(math.Inf(1))}
	values := []any{(*GenerateOptions)(nil), &GenerateOptions{}, (*JSONSchema)(nil), []Tool(nil), []Tool{}}
	for range 3000 {
		pick := func(ss []string) string { return ss[r.IntN(len(ss))] }
		s := &JSONSchema{Name: pick(strs), Description: pick(strs), Schema: raws[r.IntN(len(raws))], Strict: r.IntN(2) == 0}
		var tools []Tool
		for range r.IntN(3) {
			tools = append(tools, Tool{Name: pick(strs), Description: pick(strs), Parameters: raws[r.IntN(len(raws))], Strict: r.IntN(2) == 0})
		}
		o := &GenerateOptions{MaxTokens: r.IntN(3) * 100, Temperature: temps[r.IntN(len(temps))], ReasoningEffort: pick(strs), Logprobs: r.IntN(2) == 0,
			TopLogprobs: r.IntN(3), Tools: tools, ToolChoice: pick(strs)}
		if r.IntN(2) == 0 {
			o.JSONSchema = s
		}
		values = append(values, o, s, tools)
	}
	for _, v := range values {
		checkOptionsEncoding(t, v)
	}
	// Hash as it was, for refused values too.
	for _, v := range values {
		if got, want := Hash("k", v), oldHash("k", v); got != want {
			t.Errorf("Hash(%#v) = %s, was %s", v, got, want)
		}
	}
}

// A field added to one of these types fails here until options, jsonSchema
// or tools writes it too.
func TestOptionsEncoderKnowsEveryField(t *testing.T) {
	want := map[reflect.Type]string{
		reflect.TypeOf(GenerateOptions{}): `max_tokens,omitempty temperature,omitempty reasoning_effort,omitempty logprobs,omitempty top_logprobs,omitempty json_schema,omitempty tools,omitempty tool_choice,omitempty`,
		reflect.TypeOf(JSONSchema{}):      `name description,omitempty schema strict,omitempty`,
		reflect.TypeOf(Tool{}):            `name description,omitempty parameters,omitempty strict,omitempty`,
	}
	for typ, tags := range want {
		var got []string
		for i := range typ.NumField() {
			got = append(got, typ.Field(i).Tag.Get("json"))
		}
		if strings.Join(got, " ") != tags {
			t.Errorf("%v has fields %q; the hand encoder writes %q: update it", typ, got, tags)
		}
	}
}

func BenchmarkHashJudgeOptions(b *testing.B) {
	schema, _ := json.Marshal(map[string]any{"type": "object", "properties": map[string]any{"verdict": map[string]any{"type": "string", "enum": []string{"A", "B", "C"}}}})
	opts := &GenerateOptions{JSONSchema: &JSONSchema{Name: "verdict", Schema: schema, Strict: true}}
	msgs := []Message{{Role: RoleSystem, Content: "You are a strict, impartial judge."}, {Role: RoleUser, Content: strings.Repeat("Answer A is better and longer.\n", 60)}}
	b.ReportAllocs()
	for range b.N {
		Hash("call/generate", "0123456789abcdef", "judge-0123456789abcdef", msgs, opts)
	}
}

func BenchmarkHashOptions(b *testing.B) {
	schema, _ := json.Marshal(map[string]any{"type": "object", "properties": map[string]any{"verdict": map[string]any{"type": "string", "enum": []string{"A", "B", "C"}}}})
	opts := &GenerateOptions{JSONSchema: &JSONSchema{Name: "verdict", Schema: schema, Strict: true}}
	b.ReportAllocs()
	for range b.N {
		Hash("k", opts)
	}
}
