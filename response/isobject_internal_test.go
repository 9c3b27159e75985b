package response

import (
	"encoding/json"
	"testing"
)

// isObject says what decoding into a map says: valid JSON, an object.
func TestIsObjectMatchesDecoding(t *testing.T) {
	for _, s := range []string{
		`{}`, ` {"type":"object"} `, "\n{\"a\":[1,{\"b\":null}]}\t", `{"a":1,"a":2}`,
		``, ` `, `null`, `[]`, `[{}]`, `"{}"`, `1`, `{`, `{"a":}`, `{} {}`, `{}x`, `{"a":1,}`, "{\"\xff\":1}",
	} {
		var m map[string]json.RawMessage
		want := json.Unmarshal([]byte(s), &m) == nil && m != nil
		if got := isObject(json.RawMessage(s)); got != want {
			t.Errorf("isObject(%q) = %v, decoding says %v", s, got, want)
		}
	}
}
