package response

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/prefdata/prefdata"
)

// The chat-completions wire format, as the generator sends and reads it.
// The generator writes its own request body rather than go-openai's: that
// one cannot send a temperature or top_p of 0 (its fields are float32 with
// omitempty, so 0 is left out and the server's default, often 1, applies),
// and it has no place for the reasoning text of vLLM and DeepSeek.

// chatRequest is the JSON body of POST /chat/completions. Pointer fields
// are sent when set, zero included.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	N                   int             `json:"n,omitempty"`
	Seed                *int            `json:"seed,omitempty"`
	Stop                []string        `json:"stop,omitempty"`
	Logprobs            bool            `json:"logprobs,omitempty"`
	TopLogprobs         *int            `json:"top_logprobs,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
	ResponseFormat      *responseFormat `json:"response_format,omitempty"`
	Tools               []chatTool      `json:"tools,omitempty"`
	ToolChoice          any             `json:"tool_choice,omitempty"`
	limit               int             // the completion limit; which field carries it is decided per endpoint
	options             *prefdata.GenerateOptions
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type responseFormat struct {
	Type       string               `json:"type"`
	JSONSchema *prefdata.JSONSchema `json:"json_schema,omitempty"`
}

type chatTool struct {
	Type     string        `json:"type"`
	Function prefdata.Tool `json:"function"`
}

type namedToolChoice struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

// withLimit returns the body of r with its completion limit in the field
// given ("max_tokens" or "max_completion_tokens").
func (r chatRequest) withLimit(field string) chatRequest {
	r.MaxTokens, r.MaxCompletionTokens = nil, nil
	if r.limit > 0 {
		n := r.limit
		if field == fieldMaxTokens {
			r.MaxTokens = &n
		} else {
			r.MaxCompletionTokens = &n
		}
	}
	return r
}

const (
	fieldMaxTokens           = "max_tokens"
	fieldMaxCompletionTokens = "max_completion_tokens"
)

// chatResponse is the part of a chat completion the generator reads.
type chatResponse struct {
	ID      string       `json:"id"`
	Choices []chatChoice `json:"choices"`
	Usage   chatUsage    `json:"usage"`
}

type chatUsage struct {
	PromptTokens            int `json:"prompt_tokens"`
	CompletionTokens        int `json:"completion_tokens"`
	TotalTokens             int `json:"total_tokens"`
	CompletionTokensDetails *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

type chatChoice struct {
	Index        int          `json:"index"`
	Message      replyMessage `json:"message"`
	FinishReason string       `json:"finish_reason"`
	Logprobs     *struct {
		Content []wireLogprob `json:"content"`
	} `json:"logprobs"`
}

type replyMessage struct {
	Content *string `json:"content"`
	Refusal *string `json:"refusal"`
	// ReasoningContent is vLLM's (before 0.10) and DeepSeek's field;
	// Reasoning is newer vLLM's, OpenRouter's and Ollama's.
	ReasoningContent *string `json:"reasoning_content"`
	Reasoning        *string `json:"reasoning"`
	ToolCalls        []struct {
		ID       string `json:"id"`
		Function struct {
			Name string `json:"name"`
			// Arguments is a JSON string on the API; some servers send
			// the object itself.
			Arguments json.RawMessage `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

type wireLogprob struct {
	Token       string        `json:"token"`
	Logprob     float64       `json:"logprob"`
	TopLogprobs []wireLogprob `json:"top_logprobs"`
}

// wireError is an OpenAI-style error body; vLLM's older servers put the
// fields at the top level instead of under "error", and some servers send
// "error" as a bare string.
type wireError struct {
	Error   json.RawMessage `json:"error"`
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Param   *string         `json:"param"`
	Code    any             `json:"code"`
}

type wireErrorFields struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    any     `json:"code"`
}

// statusError builds the StatusError of an HTTP error answer.
func statusError(status int, body []byte) *StatusError {
	se := &StatusError{StatusCode: status}
	var we wireError
	if json.Unmarshal(body, &we) != nil {
		se.Message = bodySnippet(body)
		return se
	}
	f := wireErrorFields{Message: we.Message, Type: we.Type, Param: we.Param, Code: we.Code}
	if len(we.Error) > 0 && string(we.Error) != "null" {
		var s string
		if json.Unmarshal(we.Error, &s) == nil {
			f = wireErrorFields{Message: s}
		} else if json.Unmarshal(we.Error, &f) != nil {
			f = wireErrorFields{Message: bodySnippet(body)}
		}
	}
	se.Message, se.Type, se.Code = f.Message, f.Type, codeString(f.Code)
	if f.Param != nil {
		se.Param = *f.Param
	}
	if se.Message == "" && se.Type == "" && se.Code == "" {
		se.Message = bodySnippet(body)
	}
	return se
}

// chatURL returns the chat-completions URL of the endpoint.
func (g *Generator) chatURL(base string) string {
	base = strings.TrimRight(base, "/")
	if g.cfg.AzureAPIVersion != "" {
		return base + "/openai/deployments/" + url.PathEscape(g.cfg.Model) + "/chat/completions?api-version=" + url.QueryEscape(g.cfg.AzureAPIVersion)
	}
	return base + "/chat/completions"
}

// post sends one chat-completion request to ep and decodes the answer.
func (g *Generator) post(ctx context.Context, ep *endpoint, body []byte) (chatResponse, error) {
	var resp chatResponse
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.chatURL, bytes.NewReader(body))
	if err != nil {
		return resp, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	if g.cfg.APIKey != "" {
		if g.cfg.AzureAPIVersion != "" {
			hreq.Header.Set("api-key", g.cfg.APIKey)
		} else {
			hreq.Header.Set("Authorization", "Bearer "+g.cfg.APIKey)
		}
	}
	hresp, err := g.doer.Do(hreq)
	if err != nil {
		return resp, err
	}
	defer hresp.Body.Close()
	data, err := readBody(hresp)
	if err != nil {
		return resp, err
	}
	if hresp.StatusCode < 200 || hresp.StatusCode > 299 {
		return resp, statusError(hresp.StatusCode, data)
	}
	if err := decodeResponse(data, &resp); err != nil {
		return resp, err
	}
	return resp, nil
}

// readBody reads a response's body whole: into one buffer of the size the
// server announced (io.ReadAll grows its buffer from 512 bytes, allocating
// about twice the body on every call), or as io.ReadAll does when it did
// not announce one.
func readBody(hresp *http.Response) ([]byte, error) {
	const most = 64 << 20 // a larger announced size is not trusted with a buffer
	n := hresp.ContentLength
	if n < 0 || n > most {
		return io.ReadAll(hresp.Body)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(hresp.Body, data); err != nil {
		return nil, err
	}
	// Read on to the end (net/http hands the connection back then), and
	// keep whatever came beyond the announced size.
	var one [1]byte
	k, err := hresp.Body.Read(one[:])
	if k > 0 || (err == nil && k == 0) {
		rest, err := io.ReadAll(hresp.Body)
		return append(append(data, one[:k]...), rest...), err
	}
	if err != io.EOF {
		return nil, err
	}
	return data, nil
}

// toolArguments returns a tool call's arguments as JSON text.
func toolArguments(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}

// splitThink takes a leading <think>…</think> block out of content: the
// reasoning of a model served without a reasoning parser. An unclosed
// block (the reply was cut) is all reasoning.
func splitThink(content string) (answer, reasoning string, ok bool) {
	rest := strings.TrimLeft(content, " \t\r\n")
	if !strings.HasPrefix(rest, "<think>") {
		return content, "", false
	}
	rest = rest[len("<think>"):]
	think, after, closed := strings.Cut(rest, "</think>")
	if !closed {
		return "", strings.TrimSpace(rest), true
	}
	return strings.TrimLeft(after, " \t\r\n"), strings.TrimSpace(think), true
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// checkOptions reports what is wrong with a prompt's options.
func checkOptions(o *prefdata.GenerateOptions) error {
	if o == nil {
		return nil
	}
	var errs []string
	if o.MaxTokens < 0 {
		errs = append(errs, fmt.Sprintf("MaxTokens is %d, want >= 0", o.MaxTokens))
	}
	if o.Temperature != nil && (*o.Temperature < 0 || *o.Temperature > 2) {
		errs = append(errs, fmt.Sprintf("Temperature %g is outside [0, 2]", *o.Temperature))
	}
	if o.TopLogprobs < 0 || o.TopLogprobs > 20 {
		errs = append(errs, fmt.Sprintf("TopLogprobs is %d, want 0..20", o.TopLogprobs))
	}
	if s := o.JSONSchema; s != nil {
		if !nameRE.MatchString(s.Name) {
			errs = append(errs, fmt.Sprintf("JSONSchema.Name %q is not 1-64 letters, digits, '_' or '-'", s.Name))
		}
		if !isObject(s.Schema) {
			errs = append(errs, fmt.Sprintf("JSONSchema %q: Schema is not a JSON object", s.Name))
		}
	}
	names := map[string]bool{}
	for i, t := range o.Tools {
		if !nameRE.MatchString(t.Name) {
			errs = append(errs, fmt.Sprintf("Tools[%d].Name %q is not 1-64 letters, digits, '_' or '-'", i, t.Name))
		}
		if len(t.Parameters) > 0 && !isObject(t.Parameters) {
			errs = append(errs, fmt.Sprintf("tool %q: Parameters is not a JSON object", t.Name))
		}
		names[t.Name] = true
	}
	switch o.ToolChoice {
	case "", "auto", "none":
	case "required":
		if len(o.Tools) == 0 {
			errs = append(errs, `ToolChoice is "required" but there are no Tools`)
		}
	default:
		if !names[o.ToolChoice] {
			errs = append(errs, fmt.Sprintf("ToolChoice %q names none of the Tools", o.ToolChoice))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("prompt options: %s", strings.Join(errs, "; "))
	}
	return nil
}

// isObject reports whether b is one JSON object: valid JSON whose first
// token is '{'. It is checked on every call with a schema, so it scans
// without decoding into a map.
func isObject(b json.RawMessage) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b)
}
