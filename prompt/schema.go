package prompt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/prefdata/prefdata"
)

// Mapping reads records of any schema: it names the fields that hold the
// parts of a prompt. A field name may be a dotted path into nested objects
// ("meta.id"). Set Prompt or Messages; the rest is optional.
type Mapping struct {
	ID       string // the record's ID (string or number)
	Prompt   string // the prompt text (a string)
	Input    string // text appended to Prompt after a blank line (Alpaca's "input")
	Messages string // a list of {role, content} or {from, value}
	System   string // a system prompt
	Category string
	// Meta lists fields copied into Prompt.Meta under their own names
	// (strings as they are, other values as JSON).
	Meta []string
}

type fields map[string]json.RawMessage

func decodeObject(raw []byte) (fields, error) {
	var f fields
	if err := json.Unmarshal(raw, &f); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("malformed JSON at byte %d: %v", syn.Offset, err)
		}
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if f == nil {
		return nil, errors.New("not a JSON object: null")
	}
	return f, nil
}

// get follows a dotted path.
func (f fields) get(path string) (json.RawMessage, bool) {
	cur := f
	for {
		name, rest, nested := strings.Cut(path, ".")
		v, ok := cur[name]
		if !ok || isNull(v) {
			return nil, false
		}
		if !nested {
			return v, true
		}
		var next fields
		if json.Unmarshal(v, &next) != nil {
			return nil, false
		}
		cur, path = next, rest
	}
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

// str decodes a JSON string field; a missing field is "".
func (f fields) str(name string) (string, error) {
	v, ok := f.get(name)
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("field %q: want a string, got %s", name, kind(v))
	}
	return s, nil
}

// id decodes an ID field that may be a string or a number.
func (f fields) id(name string) (string, error) {
	v, ok := f.get(name)
	if !ok {
		return "", nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s, nil
	}
	var n json.Number
	if json.Unmarshal(v, &n) == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("field %q: want a string or number ID, got %s", name, kind(v))
}

func kind(v json.RawMessage) string {
	switch b := bytes.TrimSpace(v); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "an object"
	case b[0] == '[':
		return "a list"
	case b[0] == '"':
		return "a string"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	case b[0] == 'n':
		return "null"
	default:
		return "a number"
	}
}

func (f fields) has(name string) bool { _, ok := f.get(name); return ok }

// detect reads a record of one of the known schemas.
func detect(raw []byte) (prefdata.Prompt, error) {
	f, err := decodeObject(raw)
	if err != nil {
		return prefdata.Prompt{}, err
	}
	var p prefdata.Prompt
	switch {
	case f.has("messages"):
		p.Messages, err = f.messages("messages")
	case f.has("conversations"):
		p.Messages, err = f.messages("conversations")
	case f.has("turns"):
		p, err = f.mtBench()
	case f.has("chosen") || f.has("rejected"):
		p.Messages, err = f.hhPair()
	case f.has("prompt"):
		p.Messages, err = f.promptField("prompt")
	case f.has("instruction"):
		p.Messages, err = f.instruction()
	default:
		return p, errors.New("no prompt field (looked for messages, conversations, turns, chosen/rejected, prompt, instruction; set a Mapping for other schemas)")
	}
	if err != nil {
		return p, err
	}
	for _, name := range []string{"id", "prompt_id", "question_id"} {
		if p.ID, err = f.id(name); err != nil || p.ID != "" {
			break
		}
	}
	if err != nil {
		return p, err
	}
	if p.Category, err = f.str("category"); err != nil {
		return p, err
	}
	sys, err := f.str("system")
	if err != nil {
		return p, err
	}
	p.Messages = withSystem(p.Messages, sys)
	return p, nil
}

func withSystem(msgs []prefdata.Message, sys string) []prefdata.Message {
	if strings.TrimSpace(sys) == "" || (len(msgs) > 0 && msgs[0].Role == prefdata.RoleSystem) {
		return msgs
	}
	return append([]prefdata.Message{{Role: prefdata.RoleSystem, Content: sys}}, msgs...)
}

func user(text string) []prefdata.Message {
	return []prefdata.Message{{Role: prefdata.RoleUser, Content: text}}
}

// messages reads an OpenAI or ShareGPT message list and cuts it after the
// last user turn.
func (f fields) messages(name string) ([]prefdata.Message, error) {
	v, _ := f.get(name)
	var list []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
		From    string          `json:"from"`
		Value   *string         `json:"value"`
	}
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, fmt.Errorf("field %q: want a list of messages: %v", name, err)
	}
	msgs := make([]prefdata.Message, 0, len(list))
	lastUser := -1
	for i, m := range list {
		role := m.Role
		if role == "" {
			role = m.From
		}
		r, ok := normalRole(role)
		if !ok {
			return nil, fmt.Errorf("%s[%d]: unknown role %q", name, i, role)
		}
		var text string
		if m.Value != nil {
			text = *m.Value
		} else {
			var err error
			if text, err = contentText(m.Content); err != nil {
				return nil, fmt.Errorf("%s[%d].content: %v", name, i, err)
			}
		}
		if r == prefdata.RoleUser {
			lastUser = i
		}
		msgs = append(msgs, prefdata.Message{Role: r, Content: text})
	}
	if lastUser < 0 {
		return nil, fmt.Errorf("field %q has no user turn", name)
	}
	return msgs[:lastUser+1], nil
}

func normalRole(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "user", "human":
		return prefdata.RoleUser, true
	case "assistant", "gpt", "chatgpt", "bard", "bing", "model", "bot", "ai":
		return prefdata.RoleAssistant, true
	case "system":
		return prefdata.RoleSystem, true
	}
	return "", false
}

// contentText reads a message content: a string, or a list of parts whose
// text parts are joined.
func contentText(v json.RawMessage) (string, error) {
	if isNull(v) {
		return "", nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(v, &parts); err != nil {
		return "", fmt.Errorf("want a string or a list of parts, got %s", kind(v))
	}
	var texts []string
	for _, p := range parts {
		if p.Type == "text" || p.Type == "" {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, "\n"), nil
}

func (f fields) mtBench() (prefdata.Prompt, error) {
	v, _ := f.get("turns")
	var turns []string
	if err := json.Unmarshal(v, &turns); err != nil {
		return prefdata.Prompt{}, fmt.Errorf("field \"turns\": want a list of strings, got %s", kind(v))
	}
	if len(turns) == 0 {
		return prefdata.Prompt{}, errors.New("field \"turns\" is empty")
	}
	p := prefdata.Prompt{Messages: user(turns[0])}
	if len(turns) > 1 {
		rest, _ := json.Marshal(turns[1:])
		p.Meta = map[string]string{"turns": string(rest)}
	}
	return p, nil
}

// hhPair reads the prompt of an HH-RLHF record: the shared turns before the
// final assistant reply of "chosen" and "rejected".
func (f fields) hhPair() ([]prefdata.Message, error) {
	var prompts [][]prefdata.Message
	for _, name := range []string{"chosen", "rejected"} {
		v, ok := f.get(name)
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			// A preference file with message lists: the prompt must come
			// from a "prompt" field.
			if f.has("prompt") {
				return f.promptField("prompt")
			}
			return nil, fmt.Errorf("field %q is %s, not an HH-RLHF transcript, and there is no \"prompt\" field", name, kind(v))
		}
		if f.has("prompt") && !isTranscript(s) {
			return f.promptField("prompt")
		}
		turns, err := parseTranscript(s)
		if err != nil {
			return nil, fmt.Errorf("field %q: %v", name, err)
		}
		if n := len(turns); n > 0 && turns[n-1].Role == prefdata.RoleAssistant {
			turns = turns[:n-1]
		}
		prompts = append(prompts, turns)
	}
	if len(prompts) == 2 && !sameMessages(prompts[0], prompts[1]) {
		return nil, errors.New("chosen and rejected transcripts differ before the final reply")
	}
	if len(prompts[0]) == 0 || prompts[0][len(prompts[0])-1].Role != prefdata.RoleUser {
		return nil, errors.New("HH-RLHF transcript has no human turn before the final reply")
	}
	return prompts[0], nil
}

func sameMessages(a, b []prefdata.Message) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Role != b[i].Role || strings.TrimSpace(a[i].Content) != strings.TrimSpace(b[i].Content) {
			return false
		}
	}
	return true
}

func isTranscript(s string) bool {
	t := strings.TrimLeft(s, " \n\r\t")
	return strings.HasPrefix(t, "Human:")
}

// parseTranscript splits "\n\nHuman: ... \n\nAssistant: ..." into turns. A
// trailing empty "Assistant:" (the form of a prompt awaiting its reply) is
// dropped.
func parseTranscript(s string) ([]prefdata.Message, error) {
	const human, asst = "\n\nHuman:", "\n\nAssistant:"
	if !strings.HasPrefix(s, "\n\n") {
		s = "\n\n" + strings.TrimLeft(s, " \n\r\t")
	}
	var turns []prefdata.Message
	for len(s) > 0 {
		var role string
		switch {
		case strings.HasPrefix(s, human):
			role, s = prefdata.RoleUser, s[len(human):]
		case strings.HasPrefix(s, asst):
			role, s = prefdata.RoleAssistant, s[len(asst):]
		default:
			return nil, errors.New("not an HH-RLHF transcript (want \"\\n\\nHuman: ...\\n\\nAssistant: ...\")")
		}
		end := len(s)
		if i := strings.Index(s, human); i >= 0 {
			end = i
		}
		if i := strings.Index(s, asst); i >= 0 && i < end {
			end = i
		}
		turns = append(turns, prefdata.Message{Role: role, Content: strings.TrimSpace(s[:end])})
		s = s[end:]
	}
	if n := len(turns); n > 0 && turns[n-1].Role == prefdata.RoleAssistant && turns[n-1].Content == "" {
		turns = turns[:n-1]
	}
	return turns, nil
}

// promptField reads a "prompt" that is a string (plain or a transcript) or a
// message list.
func (f fields) promptField(name string) ([]prefdata.Message, error) {
	v, _ := f.get(name)
	var s string
	if json.Unmarshal(v, &s) == nil {
		if isTranscript(s) {
			turns, err := parseTranscript(s)
			if err != nil {
				return nil, fmt.Errorf("field %q: %v", name, err)
			}
			return turns, nil
		}
		return user(s), nil
	}
	if bytes.HasPrefix(bytes.TrimSpace(v), []byte("[")) {
		return f.messages(name)
	}
	return nil, fmt.Errorf("field %q: want a string or a list of messages, got %s", name, kind(v))
}

// instruction reads Alpaca and Self-Instruct records.
func (f fields) instruction() ([]prefdata.Message, error) {
	text, err := f.str("instruction")
	if err != nil {
		return nil, err
	}
	input, err := f.str("input")
	if err != nil {
		return nil, err
	}
	if input == "" && f.has("instances") {
		v, _ := f.get("instances")
		var inst []struct {
			Input string `json:"input"`
		}
		if err := json.Unmarshal(v, &inst); err != nil {
			return nil, fmt.Errorf("field \"instances\": want a list of {input, output}: %v", err)
		}
		if len(inst) > 0 {
			input = inst[0].Input
		}
	}
	return user(joinInput(text, input)), nil
}

func joinInput(text, input string) string {
	if strings.TrimSpace(input) == "" {
		return text
	}
	return strings.TrimRight(text, " \n") + "\n\n" + input
}

func (m *Mapping) parse(raw []byte) (prefdata.Prompt, error) {
	f, err := decodeObject(raw)
	if err != nil {
		return prefdata.Prompt{}, err
	}
	var p prefdata.Prompt
	switch {
	case m.Messages != "" && f.has(m.Messages):
		if p.Messages, err = f.messages(m.Messages); err != nil {
			return p, err
		}
	case m.Prompt != "":
		if !f.has(m.Prompt) {
			return p, fmt.Errorf("missing field %q", m.Prompt)
		}
		text, err := f.str(m.Prompt)
		if err != nil {
			return p, err
		}
		input := ""
		if m.Input != "" {
			if input, err = f.str(m.Input); err != nil {
				return p, err
			}
		}
		p.Messages = user(joinInput(text, input))
	case m.Messages != "":
		return p, fmt.Errorf("missing field %q", m.Messages)
	default:
		return p, errors.New("mapping names neither Prompt nor Messages")
	}
	if m.ID != "" {
		if p.ID, err = f.id(m.ID); err != nil {
			return p, err
		}
	}
	if m.Category != "" {
		if p.Category, err = f.str(m.Category); err != nil {
			return p, err
		}
	}
	if m.System != "" {
		sys, err := f.str(m.System)
		if err != nil {
			return p, err
		}
		p.Messages = withSystem(p.Messages, sys)
	}
	for _, name := range m.Meta {
		v, ok := f.get(name)
		if !ok {
			continue
		}
		if p.Meta == nil {
			p.Meta = map[string]string{}
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			p.Meta[name] = s
		} else {
			p.Meta[name] = string(v)
		}
	}
	return p, nil
}
