package prefdata

import (
	"encoding/json"

	"github.com/prefdata/prefdata/internal/jsonw"
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

// raw appends raw JSON as encoding/json does (jsonw.Raw); invalid JSON is
// an error.
func (e *enc) raw(m json.RawMessage) {
	b, err := jsonw.Raw(e.b, m)
	if err != nil && e.err == nil {
		e.err = err
	}
	e.b = b
}
