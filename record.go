package prefdata

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Chat roles used in [Message.Role].
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Prompt is one unit of stage-1 output: the conversation a model is asked to
// continue. The last message is normally a user turn.
type Prompt struct {
	// ID is stable across runs: it identifies the prompt in the run directory,
	// in shards and in output files. Sources take it from the file's own ID
	// field when there is one and otherwise from [ContentID].
	ID       string    `json:"id"`
	Messages []Message `json:"messages"`
	// Source names where the prompt came from (a file name, a dataset, or
	// "synth:evol" for a synthesized prompt).
	Source string `json:"source,omitempty"`
	// Category is the prompt's topic or task type ("coding", "math", ...),
	// empty when unknown.
	Category string `json:"category,omitempty"`
	// Meta holds small string facts about the prompt (a synthesized prompt's
	// parent ID and method, say). Stages copy it through unchanged.
	Meta map[string]string `json:"meta,omitempty"`
	// Options, if set, are asked of the generation of this prompt on top of
	// the generator's own settings: a judge holding only a [Generator] uses
	// them for a structured verdict (a JSON schema, a function call) or for
	// logprobs. A generator that does not know them ignores them, so check
	// the reply (Response.ToolCalls, Response.Logprobs) rather than assume.
	// response.Generator honours them all and reports a server's refusal of
	// one with an error matching [ErrUnsupportedOption].
	Options *GenerateOptions `json:"options,omitempty"`
}

// GenerateOptions are what the caller of a [Generator] asks of the
// generation of one prompt (see [Prompt.Options]). Zero fields leave the
// generator's own settings.
type GenerateOptions struct {
	// MaxTokens, when above 0, replaces the generator's Sampling.MaxTokens.
	MaxTokens int `json:"max_tokens,omitempty"`
	// Temperature, when set, replaces the generator's.
	Temperature *float64 `json:"temperature,omitempty"`
	// ReasoningEffort, when set, replaces the generator's
	// Sampling.ReasoningEffort.
	ReasoningEffort string `json:"reasoning_effort,omitempty"`
	// Logprobs asks for the log-probabilities of the generated tokens, and
	// TopLogprobs (which implies Logprobs) for that many alternatives at
	// each position; they add to the generator's own setting.
	Logprobs    bool `json:"logprobs,omitempty"`
	TopLogprobs int  `json:"top_logprobs,omitempty"`
	// JSONSchema, if set, asks for a reply whose text is JSON matching the
	// schema (response_format of type json_schema).
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
	// Tools are functions the model may call; their calls come back in
	// Response.ToolCalls. ToolChoice is "" (the server's default), "auto",
	// "none", "required", or the name of one tool, which forces a call of it.
	Tools      []Tool `json:"tools,omitempty"`
	ToolChoice string `json:"tool_choice,omitempty"`
}

// JSONSchema is a named JSON schema for structured output.
type JSONSchema struct {
	// Name is the schema's name: letters, digits, '_' and '-', at most 64.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Schema is the JSON Schema itself, as JSON text.
	Schema json.RawMessage `json:"schema"`
	// Strict asks the server to follow the schema exactly (OpenAI's strict
	// mode, which needs every property required and additionalProperties
	// false).
	Strict bool `json:"strict,omitempty"`
}

// Tool is a function a model may call.
type Tool struct {
	// Name is the function's name: letters, digits, '_' and '-', at most 64.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Parameters is the JSON Schema of the function's arguments (an object
	// schema), as JSON text; nil means no arguments.
	Parameters json.RawMessage `json:"parameters,omitempty"`
	Strict     bool            `json:"strict,omitempty"`
}

// ToolCall is one function call a model made.
type ToolCall struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	// Arguments is the JSON text the model wrote for the arguments; it may
	// not be valid JSON, or not match the tool's schema.
	Arguments string `json:"arguments"`
}

// Text returns the content of the last user message, or "" when there is none.
func (p Prompt) Text() string {
	for i := len(p.Messages) - 1; i >= 0; i-- {
		if p.Messages[i].Role == RoleUser {
			return p.Messages[i].Content
		}
	}
	return ""
}

// ContentID returns a stable ID for a conversation: "p-" and 16 hex digits of
// a hash of its roles and contents in Unicode NFC with whitespace collapsed
// and letters lowered, so trivially different copies of a prompt (an accent
// composed or decomposed) share an ID.
func ContentID(msgs []Message) string {
	var scratch [hashScratch]byte // on the stack unless the text is long
	b := scratch[:0]
	for _, m := range msgs {
		b = append(b, m.Role...)
		b = append(b, 0)
		b = appendFolded(b, m.Content)
		b = append(b, 0)
	}
	sum := sha256.Sum256(b)
	return "p-" + hex.EncodeToString(sum[:8])
}

// appendFolded appends s in Unicode NFC with runs of white space made one
// space, leading and trailing ones cut, and letters lowered. ASCII text (NFC
// already) takes one pass.
func appendFolded(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(b, strings.ToLower(strings.Join(strings.Fields(norm.NFC.String(s)), " "))...)
		}
	}
	wrote, space := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			space = wrote
			continue
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
		wrote = true
	}
	return b
}

// Sampling holds the sampling settings a response was generated with. Nil
// pointers mean "the server's default".
type Sampling struct {
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	// MaxTokens bounds the completion, reasoning included.
	// response.Generator sends it as max_completion_tokens, or as max_tokens
	// to a server that needs that (see response.Config.MaxTokensField).
	MaxTokens int      `json:"max_tokens,omitempty"`
	Seed      *int     `json:"seed,omitempty"`
	Stop      []string `json:"stop,omitempty"`
	// Logprobs asks for the log-probabilities of the generated tokens and of
	// the TopLogprobs most likely alternatives at each position (judges use
	// them for soft preferences).
	Logprobs    bool `json:"logprobs,omitempty"`
	TopLogprobs int  `json:"top_logprobs,omitempty"`
	// ReasoningEffort asks a reasoning model to think less or more: "low",
	// "medium" or "high" (OpenAI's reasoning_effort; some servers also take
	// "minimal" or "none"). "" sends nothing.
	ReasoningEffort string `json:"reasoning_effort,omitempty"`
}

// Float returns a pointer to v, for [Sampling] fields.
func Float(v float64) *float64 { return &v }

// Int returns a pointer to v, for [Sampling] fields.
func Int(v int) *int { return &v }

// Usage counts tokens, and money when prices are known.
type Usage struct {
	Requests         int `json:"requests,omitempty"`
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// ReasoningTokens is the part of CompletionTokens spent on reasoning:
	// the server's completion_tokens_details.reasoning_tokens, or, when the
	// server does not say, an estimate of a token per 4 bytes of
	// Response.Reasoning.
	ReasoningTokens int     `json:"reasoning_tokens,omitempty"`
	Cost            float64 `json:"cost_usd,omitempty"`
}

// Add returns the sum of u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		Requests:         u.Requests + v.Requests,
		PromptTokens:     u.PromptTokens + v.PromptTokens,
		CompletionTokens: u.CompletionTokens + v.CompletionTokens,
		ReasoningTokens:  u.ReasoningTokens + v.ReasoningTokens,
		Cost:             u.Cost + v.Cost,
	}
}

// Response is one model answer to a prompt: the unit of stage-2 output.
type Response struct {
	// ID is stable: see [ResponseID].
	ID       string `json:"id"`
	PromptID string `json:"prompt_id"`
	Model    string `json:"model"`
	// System is the system ("principle") prompt the generator added, if any.
	System   string   `json:"system,omitempty"`
	Sampling Sampling `json:"sampling"`
	// Sample is the index of this sample among the model's samples for the
	// prompt, from 0.
	Sample       int           `json:"sample"`
	Text         string        `json:"text"`
	FinishReason string        `json:"finish_reason,omitempty"`
	Usage        Usage         `json:"usage"`
	Latency      time.Duration `json:"latency_ns,omitempty"`
	// Logprobs holds the generated tokens' log-probabilities when they were
	// asked for and the server returned them.
	Logprobs []TokenLogprob `json:"logprobs,omitempty"`
	// Reasoning is the model's reasoning text (vLLM's and DeepSeek's
	// reasoning_content, or a leading <think> block), kept apart from Text:
	// it is never the answer, and no filter or judge reads it as one. Its
	// tokens are counted in Usage.ReasoningTokens.
	Reasoning string `json:"reasoning,omitempty"`
	// Refusal is the model's refusal message (OpenAI's message.refusal),
	// when it refused; Text is then usually empty.
	Refusal string `json:"refusal,omitempty"`
	// ToolCalls are the function calls the model made (see
	// [GenerateOptions.Tools]), besides or instead of Text.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

// TokenLogprob is one generated token with its log-probability and the most
// likely alternatives at its position.
type TokenLogprob struct {
	Token   string         `json:"token"`
	Logprob float64        `json:"logprob"`
	Top     []TokenLogprob `json:"top,omitempty"`
}

// ResponseID returns the stable ID of the response to promptID by model with
// the given system prompt, sampling settings and sample index: "r-" and 16
// hex digits of a hash of those inputs. Equal inputs give equal IDs, which is
// what lets a rerun find the responses it already paid for.
func ResponseID(promptID, model, system string, s Sampling, sample int) string {
	return "r-" + hashN(16, promptID, model, system, s, sample)
}

// Hash returns the hex SHA-256 of the JSON encodings of parts, separated by
// newlines. It is the one hash behind every cache key of the run directory.
func Hash(parts ...any) string { return hashN(64, parts...) }

// hashN returns the first n (even, at most 64) hex digits of Hash(parts...).
func hashN(n int, parts ...any) string {
	e := enc{b: getBuf()}
	for _, p := range parts {
		e.hashPart(p)
	}
	return e.sumHex(n)
}

// hashPart appends p as Hash encodes each of its parts.
func (e *enc) hashPart(p any) {
	mark := len(e.b)
	if !e.value(p) || e.err != nil {
		// A type without a hand encoder, or a value it cannot take:
		// encoding/json's bytes, or, for a value that cannot be JSON
		// (channels, funcs), its Go syntax.
		e.b, e.err = e.b[:mark], nil
		if b, err := json.Marshal(p); err == nil {
			e.b = append(e.b, b...)
		} else {
			e.b = fmt.Appendf(e.b, "%#v", p)
		}
	}
	e.b = append(e.b, '\n')
}

// sumHex returns the first n hex digits of the SHA-256 of the parts
// appended, and gives the buffer back.
func (e *enc) sumHex(n int) string {
	sum := sha256.Sum256(e.b)
	putBuf(e.b)
	e.b = nil
	return hex.EncodeToString(sum[:n/2])
}

// hashScratch is the size of the stack buffer ContentID writes its input
// into (a longer one grows onto the heap).
const hashScratch = 1024

// Score is one judgment of one response: a reward model's scalar, or an LLM
// judge's rating on one aspect.
type Score struct {
	ResponseID string `json:"response_id"`
	// Scorer names the reward model or judge configuration ("rm:skywork",
	// "judge:gpt-4o").
	Scorer string `json:"scorer"`
	// Aspect is what was rated ("helpfulness", "honesty"); "" for an overall
	// score.
	Aspect    string  `json:"aspect,omitempty"`
	Value     float64 `json:"value"`
	Rationale string  `json:"rationale,omitempty"`
	// Raw is the text the value was parsed from (a judge's whole reply).
	Raw string `json:"raw,omitempty"`
}

// Comparison is a pairwise judgment of two responses to the same prompt.
type Comparison struct {
	A      string `json:"a"` // response ID
	B      string `json:"b"` // response ID
	Scorer string `json:"scorer"`
	// Preference is in [-1, 1]: 1 means A is much better, -1 B is much
	// better, 0 a tie or no decision.
	Preference float64 `json:"preference"`
	// Consistent reports whether the judge gave the same verdict with the two
	// responses shown in both orders.
	Consistent bool `json:"consistent"`
	// Raw holds the judge's replies, one per order asked (A first, then B
	// first).
	Raw []string `json:"raw,omitempty"`
	// Orders holds the parsed verdict of each order, in Raw's order, as a
	// preference for A in [-1, 1]; nil when an order had no verdict.
	Orders []*float64 `json:"orders,omitempty"`
}

// Drop records why a response was removed from a candidate.
type Drop struct {
	ResponseID string `json:"response_id"`
	Filter     string `json:"filter"`
	Reason     string `json:"reason"`
}

// Candidate is a prompt with its responses and what stage 3 learned about
// them: the unit that flows from generation through filtering to labeling.
type Candidate struct {
	Prompt      Prompt       `json:"prompt"`
	Responses   []Response   `json:"responses"`
	Scores      []Score      `json:"scores,omitempty"`
	Comparisons []Comparison `json:"comparisons,omitempty"`
	Dropped     []Drop       `json:"dropped,omitempty"`
}

// ScoresOf returns the scores of the response with the given ID.
func (c Candidate) ScoresOf(responseID string) []Score {
	var out []Score
	for _, s := range c.Scores {
		if s.ResponseID == responseID {
			out = append(out, s)
		}
	}
	return out
}

// Without returns a copy of c with the response responseID removed and a
// [Drop] recorded for it. c itself is not changed. Unknown IDs are ignored.
func (c Candidate) Without(responseID, filter, reason string) Candidate {
	out := c
	out.Responses = make([]Response, 0, len(c.Responses))
	found := false
	for _, r := range c.Responses {
		if r.ID == responseID {
			found = true
			continue
		}
		out.Responses = append(out.Responses, r)
	}
	if !found {
		return c
	}
	out.Dropped = append(append([]Drop(nil), c.Dropped...), Drop{ResponseID: responseID, Filter: filter, Reason: reason})
	return out
}

// Stage numbers the four stages of the framework.
type Stage int

// The four stages.
const (
	StagePrompt   Stage = 1 // prompt collection and selection
	StageGenerate Stage = 2 // response generation
	StageFilter   Stage = 3 // response filtering, scoring and AI labeling
	StageLabel    Stage = 4 // human labeling
)

var stageNames = [...]string{"", "prompt", "generate", "filter", "label"}

// String returns "prompt", "generate", "filter" or "label".
func (s Stage) String() string {
	if s >= StagePrompt && s <= StageLabel {
		return stageNames[s]
	}
	return fmt.Sprintf("stage(%d)", int(s))
}

// MarshalText encodes a stage by its name, and the zero Stage (unset) as "".
func (s Stage) MarshalText() ([]byte, error) {
	if s == 0 {
		return nil, nil
	}
	if s < StagePrompt || s > StageLabel {
		return nil, fmt.Errorf("prefdata: no stage %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a stage from its name or number; "" is the zero
// Stage.
func (s *Stage) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = 0
		return nil
	}
	for i, n := range stageNames {
		if i > 0 && n == string(b) {
			*s = Stage(i)
			return nil
		}
	}
	var n int
	if _, err := fmt.Sscanf(string(b), "%d", &n); err == nil && n >= 1 && n <= 4 {
		*s = Stage(n)
		return nil
	}
	return fmt.Errorf("prefdata: unknown stage %q", b)
}

// Provenance says how a pair was made.
type Provenance struct {
	// Stage is the stage whose labels decided the pair: StageGenerate for a
	// pair built from scores alone right after generation, StageFilter for a
	// pair labeled by AI, StageLabel for a pair labeled by people.
	Stage Stage `json:"stage"`
	// Labeler names the pair builder or judge that ordered the pair.
	Labeler string `json:"labeler,omitempty"`
	// Judge names the judge model, when an LLM judge took part.
	Judge string `json:"judge,omitempty"`
	// Annotators lists the people whose labels decided the pair.
	Annotators []string `json:"annotators,omitempty"`
	// Confidence in [0, 1] is how sure the AI was; it decides routing.
	Confidence float64 `json:"confidence,omitempty"`
	// Reason explains the routing decision: a short key ("small-gap"),
	// optionally followed by a colon and details. The key is counted in
	// [Stats.Routes].
	Reason string `json:"reason,omitempty"`
	// Audit marks an AI-labeled pair also sent to people to measure the AI's accuracy.
	// The label server never shows it to annotators (unmarked among the others).
	Audit bool `json:"audit,omitempty"`
	// AuditWeight, on an audited pair, is the inverse of its probability of
	// being drawn for the audit: how many AI-labeled pairs its label stands
	// for when people's labels calibrate the next run (0: not recorded).
	AuditWeight float64 `json:"audit_weight,omitempty"`
	// Value is the expected gain in dataset accuracy from one human label of this pair
	// (higher first); the label server offers the pairs with the highest Value first,
	// ties in queue order. Zero for pairs routed by the fixed threshold.
	Value float64 `json:"value,omitempty"`
}

// Pair is a preference pair: the product of the pipeline.
type Pair struct {
	// ID is stable: see [PairID].
	ID       string   `json:"id"`
	Prompt   Prompt   `json:"prompt"`
	Chosen   Response `json:"chosen"`
	Rejected Response `json:"rejected"`
	// Margin is how much better Chosen is, on the scale of the scores that
	// decided it (0 when unknown).
	Margin        float64 `json:"margin"`
	ScoreChosen   float64 `json:"score_chosen"`
	ScoreRejected float64 `json:"score_rejected"`
	// Scores are the scores of both responses that stood behind the pair.
	Scores []Score `json:"scores,omitempty"`
	// NeedsHuman marks a pair the AI was not sure of: the pipeline sends it to
	// the human-labeling queue rather than to the sink. Chosen and Rejected
	// are then the AI's tentative order.
	NeedsHuman bool       `json:"needs_human,omitempty"`
	Provenance Provenance `json:"provenance"`
}

// PairID returns the stable ID of the pair of two responses to a prompt; the
// order of a and b does not matter, so a pair keeps its ID when people flip it.
func PairID(promptID, a, b string) string {
	if b < a {
		a, b = b, a
	}
	return "pair-" + hashN(16, promptID, a, b)
}
