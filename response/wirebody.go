package response

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/prefdata/prefdata/internal/jsonw"
)

// The request body is written by hand: json.Marshal's reflection over the
// request cost more CPU per call than the rest of the body's way to the
// server. The bytes are json.Marshal's for the same chatRequest
// (TestRequestBodyMatchesEncodingJSON); a part the encoder does not know
// (a tool choice) goes to json.Marshal.

var errNotFinite = errors.New("a sampling value is not a finite number")

// body returns r's JSON encoding, as json.Marshal(r) would.
func (r *chatRequest) body() ([]byte, error) {
	n := 256 + len(r.Model)
	for _, m := range r.Messages {
		n += len(m.Role) + len(m.Content) + 32
	}
	if f := r.ResponseFormat; f != nil && f.JSONSchema != nil {
		n += len(f.JSONSchema.Schema) + len(f.JSONSchema.Description) + 64
	}
	b := make([]byte, 0, n)
	b = append(b, `{"model":`...)
	b = jsonw.String(b, r.Model)
	b = append(b, `,"messages":`...)
	if r.Messages == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, m := range r.Messages {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"role":`...)
			b = jsonw.String(b, m.Role)
			b = append(b, `,"content":`...)
			b = jsonw.String(b, m.Content)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if r.MaxTokens != nil {
		b = append(b, `,"max_tokens":`...)
		b = strconv.AppendInt(b, int64(*r.MaxTokens), 10)
	}
	if r.MaxCompletionTokens != nil {
		b = append(b, `,"max_completion_tokens":`...)
		b = strconv.AppendInt(b, int64(*r.MaxCompletionTokens), 10)
	}
	var ok bool
	if r.Temperature != nil {
		b = append(b, `,"temperature":`...)
		if b, ok = jsonw.Float(b, *r.Temperature); !ok {
			return nil, errNotFinite
		}
	}
	if r.TopP != nil {
		b = append(b, `,"top_p":`...)
		if b, ok = jsonw.Float(b, *r.TopP); !ok {
			return nil, errNotFinite
		}
	}
	if r.N != 0 {
		b = append(b, `,"n":`...)
		b = strconv.AppendInt(b, int64(r.N), 10)
	}
	if r.Seed != nil {
		b = append(b, `,"seed":`...)
		b = strconv.AppendInt(b, int64(*r.Seed), 10)
	}
	if len(r.Stop) > 0 {
		b = append(b, `,"stop":[`...)
		for i, s := range r.Stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonw.String(b, s)
		}
		b = append(b, ']')
	}
	if r.Logprobs {
		b = append(b, `,"logprobs":true`...)
	}
	if r.TopLogprobs != nil {
		b = append(b, `,"top_logprobs":`...)
		b = strconv.AppendInt(b, int64(*r.TopLogprobs), 10)
	}
	if r.ReasoningEffort != "" {
		b = append(b, `,"reasoning_effort":`...)
		b = jsonw.String(b, r.ReasoningEffort)
	}
	var err error
	if f := r.ResponseFormat; f != nil {
		b = append(b, `,"response_format":{"type":`...)
		b = jsonw.String(b, f.Type)
		if s := f.JSONSchema; s != nil {
			b = append(b, `,"json_schema":{"name":`...)
			b = jsonw.String(b, s.Name)
			if s.Description != "" {
				b = append(b, `,"description":`...)
				b = jsonw.String(b, s.Description)
			}
			b = append(b, `,"schema":`...)
			if b, err = jsonw.Raw(b, s.Schema); err != nil {
				return nil, err
			}
			if s.Strict {
				b = append(b, `,"strict":true`...)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if len(r.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i, t := range r.Tools {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":`...)
			b = jsonw.String(b, t.Type)
			b = append(b, `,"function":{"name":`...)
			b = jsonw.String(b, t.Function.Name)
			if t.Function.Description != "" {
				b = append(b, `,"description":`...)
				b = jsonw.String(b, t.Function.Description)
			}
			if len(t.Function.Parameters) > 0 {
				b = append(b, `,"parameters":`...)
				if b, err = jsonw.Raw(b, t.Function.Parameters); err != nil {
					return nil, err
				}
			}
			if t.Function.Strict {
				b = append(b, `,"strict":true`...)
			}
			b = append(b, `}}`...)
		}
		b = append(b, ']')
	}
	if r.ToolChoice != nil {
		tc, err := json.Marshal(r.ToolChoice)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"tool_choice":`...)
		b = append(b, tc...)
	}
	return append(b, '}'), nil
}

// decodeResponse decodes a chat completion into resp as json.Unmarshal
// does. The answers the servers send are read by hand, without
// reflection; a body the hand decoder does not take (a value of another
// type, a key repeated or differing from a known one only in case, an
// escape it leaves to encoding/json, invalid JSON) goes to json.Unmarshal,
// which also says what is wrong with it. When the hand decoder succeeds,
// resp is what json.Unmarshal gives (TestResponseDecoderMatchesEncodingJSON).
func decodeResponse(data []byte, resp *chatResponse) error {
	d := jsonw.Dec{B: data}
	if d.Null() || (chatResponseDec{&d}).response(resp) {
		if d.End() {
			return nil
		}
	}
	*resp = chatResponse{}
	return json.Unmarshal(data, resp)
}

// chatResponseDec reads chatResponse's fields; the keys it does not know
// are passed over, as encoding/json passes over them.
type chatResponseDec struct{ d *jsonw.Dec }

// fields reads an object whose known keys are names, in order: field is
// called with the index of each known key, its value next; an unknown key
// is skipped, and one that differs from a known key only in case gives up
// (encoding/json would take it for that field).
func (c chatResponseDec) fields(names []string, field func(i int) bool) bool {
	return c.d.ObjectBytes(func(key []byte) (uint64, bool) {
		for i, n := range names {
			if string(key) == n {
				return 1 << i, field(i)
			}
		}
		for _, n := range names {
			if bytes.EqualFold(key, []byte(n)) {
				return 0, false
			}
		}
		_, ok := c.d.Skip()
		return 0, ok
	})
}

// object reads a struct-valued field: null leaves it, as encoding/json does.
func (c chatResponseDec) object(names []string, field func(i int) bool) bool {
	return c.d.Null() || c.fields(names, field)
}

// strPtr reads a *string: null is nil.
func (c chatResponseDec) strPtr(p **string) bool {
	if c.d.Null() {
		*p = nil
		return true
	}
	var s string
	if !c.d.Str(&s) {
		return false
	}
	*p = &s
	return true
}

var (
	responseKeys = []string{"id", "choices", "usage"}
	usageKeys    = []string{"prompt_tokens", "completion_tokens", "total_tokens", "completion_tokens_details"}
	choiceKeys   = []string{"index", "message", "finish_reason", "logprobs"}
	messageKeys  = []string{"content", "refusal", "reasoning_content", "reasoning", "tool_calls"}
	toolCallKeys = []string{"id", "function"}
	functionKeys = []string{"name", "arguments"}
	logprobKeys  = []string{"token", "logprob", "top_logprobs"}
	contentKeys  = []string{"content"}
	detailKeys   = []string{"reasoning_tokens"}
)

func (c chatResponseDec) response(r *chatResponse) bool {
	return c.fields(responseKeys, func(i int) bool {
		switch i {
		case 0:
			return c.d.Str(&r.ID)
		case 1:
			return jsonw.List(c.d, &r.Choices, c.choice)
		default:
			return c.usage(&r.Usage)
		}
	})
}

func (c chatResponseDec) usage(u *chatUsage) bool {
	return c.object(usageKeys, func(i int) bool {
		switch i {
		case 0:
			return c.d.Int(&u.PromptTokens)
		case 1:
			return c.d.Int(&u.CompletionTokens)
		case 2:
			return c.d.Int(&u.TotalTokens)
		default:
			if c.d.Null() {
				u.CompletionTokensDetails = nil
				return true
			}
			if u.CompletionTokensDetails == nil {
				u.CompletionTokensDetails = &struct {
					ReasoningTokens int `json:"reasoning_tokens"`
				}{}
			}
			return c.fields(detailKeys, func(int) bool { return c.d.Int(&u.CompletionTokensDetails.ReasoningTokens) })
		}
	})
}

func (c chatResponseDec) choice(ch *chatChoice) bool {
	return c.fields(choiceKeys, func(i int) bool {
		switch i {
		case 0:
			return c.d.Int(&ch.Index)
		case 1:
			return c.message(&ch.Message)
		case 2:
			return c.d.Str(&ch.FinishReason)
		default:
			if c.d.Null() {
				ch.Logprobs = nil
				return true
			}
			if ch.Logprobs == nil {
				ch.Logprobs = &struct {
					Content []wireLogprob `json:"content"`
				}{}
			}
			return c.fields(contentKeys, func(int) bool { return jsonw.List(c.d, &ch.Logprobs.Content, c.logprob) })
		}
	})
}

func (c chatResponseDec) message(m *replyMessage) bool {
	return c.object(messageKeys, func(i int) bool {
		switch i {
		case 0:
			return c.strPtr(&m.Content)
		case 1:
			return c.strPtr(&m.Refusal)
		case 2:
			return c.strPtr(&m.ReasoningContent)
		case 3:
			return c.strPtr(&m.Reasoning)
		default:
			return jsonw.List(c.d, &m.ToolCalls, func(tc *struct {
				ID       string `json:"id"`
				Function struct {
					Name      string          `json:"name"`
					Arguments json.RawMessage `json:"arguments"`
				} `json:"function"`
			}) bool {
				return c.fields(toolCallKeys, func(i int) bool {
					if i == 0 {
						return c.d.Str(&tc.ID)
					}
					return c.object(functionKeys, func(i int) bool {
						if i == 0 {
							return c.d.Str(&tc.Function.Name)
						}
						raw, ok := c.d.Skip()
						tc.Function.Arguments = append(json.RawMessage(nil), raw...)
						return ok
					})
				})
			})
		}
	})
}

func (c chatResponseDec) logprob(l *wireLogprob) bool {
	return c.fields(logprobKeys, func(i int) bool {
		switch i {
		case 0:
			return c.d.Str(&l.Token)
		case 1:
			return c.d.Float(&l.Logprob)
		default:
			return jsonw.List(c.d, &l.TopLogprobs, c.logprob)
		}
	})
}
