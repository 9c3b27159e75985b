package prefdata

import (
	"bytes"
	"encoding/json"
	"sync"
)

// The hand encoders of a prompt's generation options: a judge's every call
// hashes them (its prompt ID, the call journal's key, the response ID), and
// encoding/json spent more on them, validating and compacting the schema,
// than on the judge prompt's text. The bytes are encoding/json's
// (TestOptionsEncoderMatchesEncodingJSON).

// options appends o as encoding/json does.
func (e *enc) options(o *GenerateOptions) {
	if o == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '{')
	first := true
	sep := func(k string) {
		if !first {
			e.b = append(e.b, ',')
		}
		first = false
		e.key(k)
	}
	if o.MaxTokens != 0 {
		sep(`"max_tokens":`)
		e.int(o.MaxTokens)
	}
	if o.Temperature != nil {
		sep(`"temperature":`)
		e.float(*o.Temperature)
	}
	if o.ReasoningEffort != "" {
		sep(`"reasoning_effort":`)
		e.str(o.ReasoningEffort)
	}
	if o.Logprobs {
		sep(`"logprobs":true`)
	}
	if o.TopLogprobs != 0 {
		sep(`"top_logprobs":`)
		e.int(o.TopLogprobs)
	}
	if o.JSONSchema != nil {
		sep(`"json_schema":`)
		e.jsonSchema(o.JSONSchema)
	}
	if len(o.Tools) > 0 {
		sep(`"tools":`)
		e.tools(o.Tools)
	}
	if o.ToolChoice != "" {
		sep(`"tool_choice":`)
		e.str(o.ToolChoice)
	}
	e.b = append(e.b, '}')
}

func (e *enc) jsonSchema(s *JSONSchema) {
	if s == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.key(`{"name":`)
	e.str(s.Name)
	if s.Description != "" {
		e.key(`,"description":`)
		e.str(s.Description)
	}
	e.key(`,"schema":`)
	e.raw(s.Schema)
	if s.Strict {
		e.key(`,"strict":true`)
	}
	e.b = append(e.b, '}')
}

func (e *enc) tools(ts []Tool) {
	if ts == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i := range ts {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		t := &ts[i]
		e.key(`{"name":`)
		e.str(t.Name)
		if t.Description != "" {
			e.key(`,"description":`)
			e.str(t.Description)
		}
		if len(t.Parameters) > 0 {
			e.key(`,"parameters":`)
			e.raw(t.Parameters)
		}
		if t.Strict {
			e.key(`,"strict":true`)
		}
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ']')
}

// raw appends raw JSON as encoding/json does: null for nil, else compacted
// with <, >, &, U+2028 and U+2029 escaped; invalid JSON is an error.
func (e *enc) raw(m json.RawMessage) {
	if m == nil {
		e.b = append(e.b, "null"...)
		return
	}
	if asIs(m) {
		e.b = append(e.b, m...)
		return
	}
	var c bytes.Buffer
	if err := json.Compact(&c, m); err != nil {
		if e.err == nil {
			e.err = err
		}
		return
	}
	var h bytes.Buffer
	json.HTMLEscape(&h, c.Bytes())
	e.b = append(e.b, h.Bytes()...)
}

// writtenAsIs holds the schemas found to be written as they are
// (compactHTMLSafe), by their text: a judge sends the same few schemas on
// every call. At most maxAsIs of at most 4 KB each.
var (
	asIsMu      sync.RWMutex
	writtenAsIs = map[string]bool{}
)

const maxAsIs = 256

func asIs(m []byte) bool {
	asIsMu.RLock()
	ok := writtenAsIs[string(m)]
	asIsMu.RUnlock()
	if ok {
		return true
	}
	if !compactHTMLSafe(m) {
		return false
	}
	if len(m) <= 4096 {
		asIsMu.Lock()
		if len(writtenAsIs) < maxAsIs {
			writtenAsIs[string(m)] = true
		}
		asIsMu.Unlock()
	}
	return true
}

// compactHTMLSafe reports whether m is valid JSON that encoding/json writes
// as it is: no whitespace outside strings, nothing to escape. Schemas
// marshaled by encoding/json are.
func compactHTMLSafe(m []byte) bool {
	inString := false
	for i := 0; i < len(m); i++ {
		switch c := m[i]; {
		case c == '<' || c == '>' || c == '&' || c == 0xE2: // 0xE2 opens U+2028 and U+2029
			return false
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return false
		}
	}
	return json.Valid(m)
}
