package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/prefdata/prefdata"
)

// Format names an output format. Each has a writer ([NewWriter]) and a reader
// ([NewReader]) that reads back what the writer wrote.
type Format string

// The formats. The names are what [ParseFormat] accepts.
const (
	// TRLStandard is TRL's standard preference format: prompt, chosen and
	// rejected as plain strings. A one-message prompt is written as its text;
	// a longer conversation is written as a transcript with "System:",
	// "User:" and "Assistant:" headers, ending with the assistant's header
	// (see [StandardPrompt]), and is read back as one user message.
	TRLStandard Format = "trl"
	// TRLConversational is TRL's conversational format: prompt is the message
	// list up to and including the last user turn, chosen and rejected are
	// assistant message lists (any prompt messages after the last user turn
	// lead both of them).
	TRLConversational Format = "trl-conversational"
	// Hub is the Hugging Face Hub's common preference schema (as in
	// HuggingFaceH4/ultrafeedback_binarized): prompt (the last user message),
	// prompt_id, chosen and rejected as whole conversations ending in the
	// answer, score_chosen, score_rejected, and the models that wrote each
	// side (chosen_model, rejected_model).
	Hub Format = "hub"
	// OpenAI is the OpenAI preference fine-tuning JSONL (also read by
	// Together, Fireworks and Azure): input.messages, preferred_output and
	// non_preferred_output (each one assistant message).
	OpenAI Format = "openai"
	// HHRLHF is Anthropic's HH-RLHF form: chosen and rejected are whole
	// transcripts of "\n\nHuman: " and "\n\nAssistant: " turns; the prompt is
	// their shared prefix. A system message is written as text before the
	// first "\n\nHuman: " turn.
	HHRLHF Format = "hh-rlhf"
	// Alpaca is LLaMA-Factory's alpaca ranking format: instruction (the last
	// user message), input (always ""), chosen, rejected, system and history
	// (earlier [user, assistant] turns).
	Alpaca Format = "alpaca"
	// ShareGPT is LLaMA-Factory's sharegpt ranking format: conversations
	// (human/gpt turns ending with a human turn), chosen and rejected (one gpt
	// turn each) and system.
	ShareGPT Format = "sharegpt"
)

// Formats returns every format, in a fixed order.
func Formats() []Format {
	return []Format{TRLStandard, TRLConversational, Hub, OpenAI, HHRLHF, Alpaca, ShareGPT}
}

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, 0, 8)
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("dataset: unknown format %q (known: %s)", s, strings.Join(names, ", "))
}

// IsLlamaFactory reports whether f is one of LLaMA-Factory's formats, which
// need a dataset_info.json entry (see [DatasetInfo]).
func (f Format) IsLlamaFactory() bool { return f == Alpaca || f == ShareGPT }

// Options choose the optional columns of a row.
type Options struct {
	// Margin adds a "margin" column (Pair.Margin) to the TRL formats, for
	// TRL's RewardTrainer. Other formats ignore it.
	Margin bool
	// Provenance adds columns saying how each pair was made: pair_id,
	// prompt_id, source, category, chosen_id, rejected_id, chosen_model,
	// rejected_model, score_chosen, score_rejected, margin, stage (1-4),
	// labeler, judge, annotators, confidence and scores. Every row then has
	// every column, so the file loads as one table. Keep it off for files
	// you upload to a fine-tuning provider.
	Provenance bool
}

// SkipError is why a writer skipped a pair: the pair cannot be expressed in
// the format (a prompt with no user turn, say). It names the pair.
type SkipError struct {
	PairID string
	Format Format
	Reason string
}

func (e *SkipError) Error() string {
	return fmt.Sprintf("dataset: %s: pair %s skipped: %s", e.Format, e.PairID, e.Reason)
}

// provCols are the provenance columns. They are embedded in every row type;
// where a format has a column of the same name at its top level (prompt_id in
// Hub), that one wins and this one is neither written nor read.
type provCols struct {
	PairID        string           `json:"pair_id"`
	PromptID      string           `json:"prompt_id"`
	Source        string           `json:"source"`
	Category      string           `json:"category"`
	ChosenID      string           `json:"chosen_id"`
	RejectedID    string           `json:"rejected_id"`
	ChosenModel   string           `json:"chosen_model"`
	RejectedModel string           `json:"rejected_model"`
	ScoreChosen   float64          `json:"score_chosen"`
	ScoreRejected float64          `json:"score_rejected"`
	Margin        float64          `json:"margin"`
	Stage         int              `json:"stage"`
	Labeler       string           `json:"labeler"`
	Judge         string           `json:"judge"`
	Annotators    []string         `json:"annotators"`
	Confidence    float64          `json:"confidence"`
	Scores        []prefdata.Score `json:"scores"`
}

func newProv(p prefdata.Pair) *provCols {
	ann := p.Provenance.Annotators
	if ann == nil {
		ann = []string{}
	}
	scores := p.Scores
	if scores == nil {
		scores = []prefdata.Score{}
	}
	return &provCols{
		PairID: p.ID, PromptID: p.Prompt.ID, Source: p.Prompt.Source, Category: p.Prompt.Category,
		ChosenID: p.Chosen.ID, RejectedID: p.Rejected.ID,
		ChosenModel: p.Chosen.Model, RejectedModel: p.Rejected.Model,
		ScoreChosen: p.ScoreChosen, ScoreRejected: p.ScoreRejected, Margin: p.Margin,
		Stage: int(p.Provenance.Stage), Labeler: p.Provenance.Labeler, Judge: p.Provenance.Judge,
		Annotators: ann, Confidence: p.Provenance.Confidence, Scores: scores,
	}
}

// apply copies the provenance columns into p. Format-specific columns are
// set afterwards and take precedence.
func (c *provCols) apply(p *prefdata.Pair) {
	if c == nil {
		return
	}
	p.ID = c.PairID
	p.Prompt.ID, p.Prompt.Source, p.Prompt.Category = c.PromptID, c.Source, c.Category
	p.Chosen.ID, p.Rejected.ID = c.ChosenID, c.RejectedID
	p.Chosen.Model, p.Rejected.Model = c.ChosenModel, c.RejectedModel
	p.Chosen.PromptID, p.Rejected.PromptID = c.PromptID, c.PromptID
	p.ScoreChosen, p.ScoreRejected, p.Margin = c.ScoreChosen, c.ScoreRejected, c.Margin
	p.Provenance.Stage = prefdata.Stage(c.Stage)
	p.Provenance.Labeler, p.Provenance.Judge = c.Labeler, c.Judge
	if len(c.Annotators) > 0 {
		p.Provenance.Annotators = c.Annotators
	}
	p.Provenance.Confidence = c.Confidence
	if len(c.Scores) > 0 {
		p.Scores = c.Scores
	}
}

// codec turns a pair into one row and back.
type codec interface {
	encode(p prefdata.Pair, o Options) (any, error)
	decode(line []byte) (prefdata.Pair, error)
}

func codecOf(f Format) (codec, error) {
	var c codec
	switch f {
	case TRLStandard:
		c = trlStandard{}
	case TRLConversational:
		c = trlConversational{}
	case Hub:
		c = hubCodec{}
	case OpenAI:
		c = openaiCodec{}
	case HHRLHF:
		c = hhCodec{}
	case Alpaca:
		c = alpacaCodec{}
	case ShareGPT:
		c = sharegptCodec{}
	default:
		_, err := ParseFormat(string(f))
		return nil, err
	}
	return idCodec{c}, nil
}

// idCodec gives every pair it reads the IDs its row did not carry.
type idCodec struct{ codec }

func (c idCodec) decode(line []byte) (prefdata.Pair, error) {
	p, err := c.codec.decode(line)
	if err == nil {
		fillIDs(&p)
	}
	return p, err
}

// fillIDs derives the IDs a row did not carry from its content, so that
// pairs of any format (HH-RLHF, alpaca, rows written without provenance)
// can be split by prompt and deduplicated: the prompt's [prefdata.ContentID],
// a response ID from the prompt ID and the response's text, and the
// [prefdata.PairID] of the two. IDs the row had are kept.
func fillIDs(p *prefdata.Pair) {
	if p.Prompt.ID == "" {
		p.Prompt.ID = prefdata.ContentID(p.Prompt.Messages)
	}
	for _, r := range []*prefdata.Response{&p.Chosen, &p.Rejected} {
		if r.PromptID == "" {
			r.PromptID = p.Prompt.ID
		}
		if r.ID == "" {
			r.ID = "r-" + prefdata.Hash("dataset.content", p.Prompt.ID, r.Text)[:16]
		}
	}
	if p.ID == "" {
		p.ID = prefdata.PairID(p.Prompt.ID, p.Chosen.ID, p.Rejected.ID)
	}
}

// decodeStrict decodes one JSON line into v, refusing unknown columns (a file
// of another format) and trailing data.
func decodeStrict(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}

func checkUTF8(p prefdata.Pair) error {
	for _, m := range p.Prompt.Messages {
		if !utf8.ValidString(m.Content) {
			return fmt.Errorf("prompt %s has a %s message that is not valid UTF-8", p.Prompt.ID, m.Role)
		}
	}
	if !utf8.ValidString(p.Chosen.Text) {
		return fmt.Errorf("chosen response %s is not valid UTF-8", p.Chosen.ID)
	}
	if !utf8.ValidString(p.Rejected.Text) {
		return fmt.Errorf("rejected response %s is not valid UTF-8", p.Rejected.ID)
	}
	return nil
}

func assistant(text string) prefdata.Message {
	return prefdata.Message{Role: prefdata.RoleAssistant, Content: text}
}

// lastUser returns the index of the last user message, or -1.
func lastUser(msgs []prefdata.Message) int {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == prefdata.RoleUser {
			return i
		}
	}
	return -1
}

func cloneMsgs(ms []prefdata.Message) []prefdata.Message {
	return append([]prefdata.Message(nil), ms...)
}

func equalMsgs(a, b []prefdata.Message) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ---- TRL standard ----

type trlStandardRow struct {
	Prompt   string   `json:"prompt"`
	Chosen   string   `json:"chosen"`
	Rejected string   `json:"rejected"`
	Margin   *float64 `json:"margin,omitempty"`
	*provCols
}

type trlStandard struct{}

// StandardPrompt renders a prompt as the one string of TRL's standard
// format: the text of a lone user message, otherwise a transcript of
// "System: ", "User: " and "Assistant: " turns separated by blank lines that
// ends with "\n\nAssistant:" when its last turn is the user's, so that the
// answer the trainer appends reads as the assistant's turn (as in HH-RLHF's
// prompts).
func StandardPrompt(msgs []prefdata.Message) string {
	if len(msgs) == 1 && msgs[0].Role == prefdata.RoleUser {
		return msgs[0].Content
	}
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteString("\n\n")
		}
		switch m.Role {
		case prefdata.RoleSystem:
			b.WriteString("System: ")
		case prefdata.RoleUser:
			b.WriteString("User: ")
		case prefdata.RoleAssistant:
			b.WriteString("Assistant: ")
		default:
			b.WriteString(m.Role + ": ")
		}
		b.WriteString(m.Content)
	}
	if n := len(msgs); n > 0 && msgs[n-1].Role == prefdata.RoleUser {
		b.WriteString("\n\nAssistant:")
	}
	return b.String()
}

// trlExtras returns a TRL row's optional margin column and provenance
// columns. The row's margin column hides the provenance one of the same name,
// so it carries the margin whenever either option asks for it.
func trlExtras(p prefdata.Pair, o Options) (*float64, *provCols) {
	var margin *float64
	if o.Margin || o.Provenance {
		m := p.Margin
		margin = &m
	}
	if o.Provenance {
		return margin, newProv(p)
	}
	return margin, nil
}

func (trlStandard) encode(p prefdata.Pair, o Options) (any, error) {
	if len(p.Prompt.Messages) == 0 {
		return nil, errors.New("prompt has no messages")
	}
	row := trlStandardRow{Prompt: StandardPrompt(p.Prompt.Messages), Chosen: p.Chosen.Text, Rejected: p.Rejected.Text}
	row.Margin, row.provCols = trlExtras(p, o)
	return row, nil
}

func (trlStandard) decode(line []byte) (prefdata.Pair, error) {
	row := trlStandardRow{provCols: &provCols{}} // json cannot allocate an unexported embedded pointer
	if err := decodeStrict(line, &row); err != nil {
		return prefdata.Pair{}, err
	}
	var p prefdata.Pair
	row.provCols.apply(&p)
	p.Prompt.Messages = []prefdata.Message{{Role: prefdata.RoleUser, Content: row.Prompt}}
	p.Chosen.Text, p.Rejected.Text = row.Chosen, row.Rejected
	if row.Margin != nil {
		p.Margin = *row.Margin
	}
	return p, nil
}

// ---- TRL conversational ----

type trlConvRow struct {
	Prompt   []prefdata.Message `json:"prompt"`
	Chosen   []prefdata.Message `json:"chosen"`
	Rejected []prefdata.Message `json:"rejected"`
	Margin   *float64           `json:"margin,omitempty"`
	*provCols
}

type trlConversational struct{}

func (trlConversational) encode(p prefdata.Pair, o Options) (any, error) {
	msgs := p.Prompt.Messages
	u := lastUser(msgs)
	if u < 0 {
		return nil, errors.New("prompt has no user message")
	}
	tail := msgs[u+1:]
	for _, m := range tail {
		if m.Role == prefdata.RoleSystem {
			return nil, errors.New("prompt has a system message after its last user message")
		}
	}
	row := trlConvRow{
		Prompt:   cloneMsgs(msgs[:u+1]),
		Chosen:   append(cloneMsgs(tail), assistant(p.Chosen.Text)),
		Rejected: append(cloneMsgs(tail), assistant(p.Rejected.Text)),
	}
	row.Margin, row.provCols = trlExtras(p, o)
	return row, nil
}

func (trlConversational) decode(line []byte) (prefdata.Pair, error) {
	row := trlConvRow{provCols: &provCols{}} // json cannot allocate an unexported embedded pointer
	if err := decodeStrict(line, &row); err != nil {
		return prefdata.Pair{}, err
	}
	if err := CheckConversationalRow(row.Prompt, row.Chosen, row.Rejected); err != nil {
		return prefdata.Pair{}, err
	}
	var p prefdata.Pair
	row.provCols.apply(&p)
	n := len(row.Chosen)
	p.Prompt.Messages = append(cloneMsgs(row.Prompt), row.Chosen[:n-1]...)
	p.Chosen.Text = row.Chosen[n-1].Content
	p.Rejected.Text = row.Rejected[len(row.Rejected)-1].Content
	if row.Margin != nil {
		p.Margin = *row.Margin
	}
	return p, nil
}

// CheckConversationalRow checks one TRL conversational row rule by rule and
// returns every broken rule, joined: the prompt is not empty and ends with a
// user turn; chosen and rejected each end with an assistant turn and hold no
// user or system turn (a single assistant message, or an assistant-ending
// list); and both sides continue the prompt the same way (the same messages
// before their last one), so the prompt is the same for both.
func CheckConversationalRow(prompt, chosen, rejected []prefdata.Message) error {
	var errs []error
	if len(prompt) == 0 {
		errs = append(errs, errors.New("prompt: empty"))
	} else if r := prompt[len(prompt)-1].Role; r != prefdata.RoleUser {
		errs = append(errs, fmt.Errorf("prompt: ends with a %q turn, want %q", r, prefdata.RoleUser))
	}
	for _, side := range []struct {
		name string
		msgs []prefdata.Message
	}{{"chosen", chosen}, {"rejected", rejected}} {
		if len(side.msgs) == 0 {
			errs = append(errs, fmt.Errorf("%s: empty", side.name))
			continue
		}
		if r := side.msgs[len(side.msgs)-1].Role; r != prefdata.RoleAssistant {
			errs = append(errs, fmt.Errorf("%s: ends with a %q turn, want %q", side.name, r, prefdata.RoleAssistant))
		}
		for i, m := range side.msgs {
			if m.Role != prefdata.RoleAssistant {
				errs = append(errs, fmt.Errorf("%s[%d]: a %q turn, want only %q turns", side.name, i, m.Role, prefdata.RoleAssistant))
			}
		}
	}
	if len(chosen) > 0 && len(rejected) > 0 && !equalMsgs(chosen[:len(chosen)-1], rejected[:len(rejected)-1]) {
		errs = append(errs, errors.New("chosen and rejected continue the prompt differently: the prompt is not the same for both"))
	}
	return errors.Join(errs...)
}

// ---- Hub common schema ----

type hubRow struct {
	Prompt        string             `json:"prompt"`
	PromptID      string             `json:"prompt_id"`
	Chosen        []prefdata.Message `json:"chosen"`
	Rejected      []prefdata.Message `json:"rejected"`
	ScoreChosen   float64            `json:"score_chosen"`
	ScoreRejected float64            `json:"score_rejected"`
	ChosenModel   string             `json:"chosen_model"`
	RejectedModel string             `json:"rejected_model"`
	*provCols
}

type hubCodec struct{}

func (hubCodec) encode(p prefdata.Pair, o Options) (any, error) {
	if lastUser(p.Prompt.Messages) < 0 {
		return nil, errors.New("prompt has no user message")
	}
	id := p.Prompt.ID
	if id == "" {
		id = prefdata.ContentID(p.Prompt.Messages)
	}
	row := hubRow{
		Prompt: p.Prompt.Text(), PromptID: id,
		Chosen:        append(cloneMsgs(p.Prompt.Messages), assistant(p.Chosen.Text)),
		Rejected:      append(cloneMsgs(p.Prompt.Messages), assistant(p.Rejected.Text)),
		ScoreChosen:   p.ScoreChosen,
		ScoreRejected: p.ScoreRejected,
		ChosenModel:   p.Chosen.Model,
		RejectedModel: p.Rejected.Model,
	}
	if o.Provenance {
		row.provCols = newProv(p)
	}
	return row, nil
}

func (hubCodec) decode(line []byte) (prefdata.Pair, error) {
	row := hubRow{provCols: &provCols{}} // json cannot allocate an unexported embedded pointer
	if err := decodeStrict(line, &row); err != nil {
		return prefdata.Pair{}, err
	}
	nc, nr := len(row.Chosen), len(row.Rejected)
	switch {
	case nc < 2 || row.Chosen[nc-1].Role != prefdata.RoleAssistant:
		return prefdata.Pair{}, errors.New("chosen: want the prompt's messages and an assistant answer")
	case nr < 2 || row.Rejected[nr-1].Role != prefdata.RoleAssistant:
		return prefdata.Pair{}, errors.New("rejected: want the prompt's messages and an assistant answer")
	case !equalMsgs(row.Chosen[:nc-1], row.Rejected[:nr-1]):
		return prefdata.Pair{}, errors.New("chosen and rejected start with different conversations")
	}
	var p prefdata.Pair
	row.provCols.apply(&p)
	p.Prompt.Messages = cloneMsgs(row.Chosen[:nc-1])
	if got := p.Prompt.Text(); got != row.Prompt {
		return prefdata.Pair{}, fmt.Errorf("prompt: %q is not the last user message of the conversation", row.Prompt)
	}
	p.Prompt.ID = row.PromptID
	p.Chosen.PromptID, p.Rejected.PromptID = row.PromptID, row.PromptID
	p.Chosen.Text, p.Rejected.Text = row.Chosen[nc-1].Content, row.Rejected[nr-1].Content
	p.ScoreChosen, p.ScoreRejected = row.ScoreChosen, row.ScoreRejected
	p.Chosen.Model, p.Rejected.Model = row.ChosenModel, row.RejectedModel
	return p, nil
}

// ---- OpenAI preference fine-tuning ----

type openaiInput struct {
	Messages []prefdata.Message `json:"messages"`
}

type openaiRow struct {
	Input              openaiInput        `json:"input"`
	PreferredOutput    []prefdata.Message `json:"preferred_output"`
	NonPreferredOutput []prefdata.Message `json:"non_preferred_output"`
	*provCols
}

type openaiCodec struct{}

func (openaiCodec) encode(p prefdata.Pair, o Options) (any, error) {
	msgs := p.Prompt.Messages
	if len(msgs) == 0 || msgs[len(msgs)-1].Role != prefdata.RoleUser {
		return nil, errors.New("prompt does not end with a user message")
	}
	row := openaiRow{
		Input:              openaiInput{Messages: cloneMsgs(msgs)},
		PreferredOutput:    []prefdata.Message{assistant(p.Chosen.Text)},
		NonPreferredOutput: []prefdata.Message{assistant(p.Rejected.Text)},
	}
	if o.Provenance {
		row.provCols = newProv(p)
	}
	return row, nil
}

func (openaiCodec) decode(line []byte) (prefdata.Pair, error) {
	row := openaiRow{provCols: &provCols{}} // json cannot allocate an unexported embedded pointer
	if err := decodeStrict(line, &row); err != nil {
		return prefdata.Pair{}, err
	}
	msgs := row.Input.Messages
	switch {
	case len(msgs) == 0 || msgs[len(msgs)-1].Role != prefdata.RoleUser:
		return prefdata.Pair{}, errors.New("input.messages: want a conversation ending with a user message")
	case len(row.PreferredOutput) != 1 || row.PreferredOutput[0].Role != prefdata.RoleAssistant:
		return prefdata.Pair{}, errors.New("preferred_output: want one assistant message")
	case len(row.NonPreferredOutput) != 1 || row.NonPreferredOutput[0].Role != prefdata.RoleAssistant:
		return prefdata.Pair{}, errors.New("non_preferred_output: want one assistant message")
	}
	var p prefdata.Pair
	row.provCols.apply(&p)
	p.Prompt.Messages = cloneMsgs(msgs)
	p.Chosen.Text, p.Rejected.Text = row.PreferredOutput[0].Content, row.NonPreferredOutput[0].Content
	return p, nil
}

// ---- HH-RLHF ----

const (
	hhHuman     = "\n\nHuman: "
	hhAssistant = "\n\nAssistant: "
)

type hhRow struct {
	Chosen   string `json:"chosen"`
	Rejected string `json:"rejected"`
	*provCols
}

type hhCodec struct{}

// HHTranscript renders a conversation in HH-RLHF's form. A leading system
// message becomes text before the first turn.
func HHTranscript(msgs []prefdata.Message) (string, error) {
	var b strings.Builder
	for i, m := range msgs {
		for _, marker := range []string{"\n\nHuman:", "\n\nAssistant:"} {
			if strings.Contains(m.Content, marker) {
				return "", fmt.Errorf("message %d (%s) contains %q, which would break the transcript", i, m.Role, marker)
			}
		}
		switch m.Role {
		case prefdata.RoleSystem:
			if i != 0 {
				return "", fmt.Errorf("message %d: a system message that is not the first", i)
			}
			if m.Content == "" {
				return "", fmt.Errorf("message %d: an empty system message, which the transcript cannot tell from none", i)
			}
			b.WriteString(m.Content)
		case prefdata.RoleUser:
			b.WriteString(hhHuman + m.Content)
		case prefdata.RoleAssistant:
			b.WriteString(hhAssistant + m.Content)
		default:
			return "", fmt.Errorf("message %d: role %q has no HH-RLHF form", i, m.Role)
		}
	}
	return b.String(), nil
}

// ParseHHTranscript splits an HH-RLHF transcript into messages: text before
// the first turn becomes a system message. It reads s once (time linear in
// its length).
func ParseHHTranscript(s string) ([]prefdata.Message, error) {
	if s == "" {
		return nil, nil
	}
	at, marker := nextHHTurn(s, 0)
	if at < 0 {
		return nil, errors.New("no \"\\n\\nHuman: \" turn")
	}
	n := 1 // turns, counted first so the slice is allocated once
	for i, _ := nextHHTurn(s, at+1); i >= 0; i, _ = nextHHTurn(s, i+1) {
		n++
	}
	msgs := make([]prefdata.Message, 0, n+1)
	if at > 0 {
		msgs = append(msgs, prefdata.Message{Role: prefdata.RoleSystem, Content: s[:at]})
	}
	for at >= 0 {
		role := prefdata.RoleUser
		if marker == hhAssistant {
			role = prefdata.RoleAssistant
		}
		start := at + len(marker)
		next, nextMarker := nextHHTurn(s, start)
		end := next
		if end < 0 {
			end = len(s)
		}
		msgs = append(msgs, prefdata.Message{Role: role, Content: s[start:end]})
		at, marker = next, nextMarker
	}
	return msgs, nil
}

// nextHHTurn returns where the first "\n\nHuman: " or "\n\nAssistant: " at
// or after from starts in s, and which; -1 when there is none. Each blank
// line is looked at once, so a whole transcript is read in linear time.
func nextHHTurn(s string, from int) (int, string) {
	for i := from; i < len(s); {
		k := strings.Index(s[i:], "\n\n")
		if k < 0 {
			return -1, ""
		}
		at := i + k
		switch rest := s[at:]; {
		case strings.HasPrefix(rest, hhHuman):
			return at, hhHuman
		case strings.HasPrefix(rest, hhAssistant):
			return at, hhAssistant
		}
		i = at + 1 // "\n\n\nHuman: " holds a marker one byte on
	}
	return -1, ""
}

func (hhCodec) encode(p prefdata.Pair, o Options) (any, error) {
	if lastUser(p.Prompt.Messages) < 0 {
		return nil, errors.New("prompt has no user message")
	}
	if m := p.Prompt.Messages; m[len(m)-1].Role != prefdata.RoleUser {
		return nil, errors.New("prompt does not end with a user message")
	}
	var row hhRow
	var err error
	if row.Chosen, err = HHTranscript(append(cloneMsgs(p.Prompt.Messages), assistant(p.Chosen.Text))); err != nil {
		return nil, fmt.Errorf("chosen: %w", err)
	}
	if row.Rejected, err = HHTranscript(append(cloneMsgs(p.Prompt.Messages), assistant(p.Rejected.Text))); err != nil {
		return nil, fmt.Errorf("rejected: %w", err)
	}
	if o.Provenance {
		row.provCols = newProv(p)
	}
	return row, nil
}

func (hhCodec) decode(line []byte) (prefdata.Pair, error) {
	row := hhRow{provCols: &provCols{}} // json cannot allocate an unexported embedded pointer
	if err := decodeStrict(line, &row); err != nil {
		return prefdata.Pair{}, err
	}
	c, err := ParseHHTranscript(row.Chosen)
	if err != nil {
		return prefdata.Pair{}, fmt.Errorf("chosen: %w", err)
	}
	r, err := ParseHHTranscript(row.Rejected)
	if err != nil {
		return prefdata.Pair{}, fmt.Errorf("rejected: %w", err)
	}
	nc, nr := len(c), len(r)
	switch {
	case nc < 2 || c[nc-1].Role != prefdata.RoleAssistant:
		return prefdata.Pair{}, errors.New("chosen: want a transcript ending with an Assistant turn")
	case nr < 2 || r[nr-1].Role != prefdata.RoleAssistant:
		return prefdata.Pair{}, errors.New("rejected: want a transcript ending with an Assistant turn")
	case !equalMsgs(c[:nc-1], r[:nr-1]):
		return prefdata.Pair{}, errors.New("chosen and rejected transcripts differ before their last Assistant turn")
	}
	var p prefdata.Pair
	row.provCols.apply(&p)
	p.Prompt.Messages = c[:nc-1]
	p.Chosen.Text, p.Rejected.Text = c[nc-1].Content, r[nr-1].Content
	return p, nil
}

// ---- LLaMA-Factory alpaca ----

type alpacaRow struct {
	Instruction string      `json:"instruction"`
	Input       string      `json:"input"`
	Chosen      string      `json:"chosen"`
	Rejected    string      `json:"rejected"`
	System      string      `json:"system"`
	History     [][2]string `json:"history"`
	*provCols
}

type alpacaCodec struct{}

// splitTurns splits a prompt into an optional leading system text, earlier
// (user, assistant) turns and the final user message, as both
// LLaMA-Factory formats need.
func splitTurns(msgs []prefdata.Message) (system string, history [][2]string, last string, err error) {
	if len(msgs) > 0 && msgs[0].Role == prefdata.RoleSystem {
		system, msgs = msgs[0].Content, msgs[1:]
	}
	if len(msgs)%2 != 1 {
		return "", nil, "", errors.New("prompt turns do not alternate user/assistant ending with a user turn")
	}
	for i, m := range msgs {
		want := prefdata.RoleUser
		if i%2 == 1 {
			want = prefdata.RoleAssistant
		}
		if m.Role != want {
			return "", nil, "", fmt.Errorf("prompt message %d is a %q turn where LLaMA-Factory needs %q", i, m.Role, want)
		}
	}
	history = [][2]string{}
	for i := 0; i+1 < len(msgs); i += 2 {
		history = append(history, [2]string{msgs[i].Content, msgs[i+1].Content})
	}
	return system, history, msgs[len(msgs)-1].Content, nil
}

func joinTurns(system string, history [][2]string, last string) []prefdata.Message {
	var msgs []prefdata.Message
	if system != "" {
		msgs = append(msgs, prefdata.Message{Role: prefdata.RoleSystem, Content: system})
	}
	for _, h := range history {
		msgs = append(msgs, prefdata.Message{Role: prefdata.RoleUser, Content: h[0]}, assistant(h[1]))
	}
	return append(msgs, prefdata.Message{Role: prefdata.RoleUser, Content: last})
}

func (alpacaCodec) encode(p prefdata.Pair, o Options) (any, error) {
	sys, hist, last, err := splitTurns(p.Prompt.Messages)
	if err != nil {
		return nil, err
	}
	if len(p.Prompt.Messages) > 0 && p.Prompt.Messages[0].Role == prefdata.RoleSystem && sys == "" {
		return nil, errors.New("prompt has an empty system message, which the format cannot tell from none")
	}
	row := alpacaRow{Instruction: last, Chosen: p.Chosen.Text, Rejected: p.Rejected.Text, System: sys, History: hist}
	if o.Provenance {
		row.provCols = newProv(p)
	}
	return row, nil
}

func (alpacaCodec) decode(line []byte) (prefdata.Pair, error) {
	row := alpacaRow{provCols: &provCols{}} // json cannot allocate an unexported embedded pointer
	if err := decodeStrict(line, &row); err != nil {
		return prefdata.Pair{}, err
	}
	var p prefdata.Pair
	row.provCols.apply(&p)
	last := row.Instruction
	if row.Input != "" {
		last += "\n" + row.Input // how LLaMA-Factory joins them
	}
	p.Prompt.Messages = joinTurns(row.System, row.History, last)
	p.Chosen.Text, p.Rejected.Text = row.Chosen, row.Rejected
	return p, nil
}

// ---- LLaMA-Factory sharegpt ----

type sgTurn struct {
	From  string `json:"from"`
	Value string `json:"value"`
}

type sharegptRow struct {
	Conversations []sgTurn `json:"conversations"`
	Chosen        sgTurn   `json:"chosen"`
	Rejected      sgTurn   `json:"rejected"`
	System        string   `json:"system"`
	*provCols
}

type sharegptCodec struct{}

func (sharegptCodec) encode(p prefdata.Pair, o Options) (any, error) {
	sys, hist, last, err := splitTurns(p.Prompt.Messages)
	if err != nil {
		return nil, err
	}
	if len(p.Prompt.Messages) > 0 && p.Prompt.Messages[0].Role == prefdata.RoleSystem && sys == "" {
		return nil, errors.New("prompt has an empty system message, which the format cannot tell from none")
	}
	conv := make([]sgTurn, 0, 2*len(hist)+1)
	for _, h := range hist {
		conv = append(conv, sgTurn{"human", h[0]}, sgTurn{"gpt", h[1]})
	}
	conv = append(conv, sgTurn{"human", last})
	row := sharegptRow{Conversations: conv, Chosen: sgTurn{"gpt", p.Chosen.Text}, Rejected: sgTurn{"gpt", p.Rejected.Text}, System: sys}
	if o.Provenance {
		row.provCols = newProv(p)
	}
	return row, nil
}

func (sharegptCodec) decode(line []byte) (prefdata.Pair, error) {
	row := sharegptRow{provCols: &provCols{}} // json cannot allocate an unexported embedded pointer
	if err := decodeStrict(line, &row); err != nil {
		return prefdata.Pair{}, err
	}
	conv := row.Conversations
	if len(conv)%2 != 1 {
		return prefdata.Pair{}, errors.New("conversations: want human/gpt turns ending with a human turn")
	}
	var hist [][2]string
	for i, t := range conv {
		want := "human"
		if i%2 == 1 {
			want = "gpt"
		}
		if t.From != want {
			return prefdata.Pair{}, fmt.Errorf("conversations[%d]: from %q, want %q", i, t.From, want)
		}
		if i%2 == 1 {
			hist = append(hist, [2]string{conv[i-1].Value, t.Value})
		}
	}
	if row.Chosen.From != "gpt" || row.Rejected.From != "gpt" {
		return prefdata.Pair{}, errors.New("chosen and rejected: want gpt turns")
	}
	var p prefdata.Pair
	row.provCols.apply(&p)
	p.Prompt.Messages = joinTurns(row.System, hist, conv[len(conv)-1].Value)
	p.Chosen.Text, p.Rejected.Text = row.Chosen.Value, row.Rejected.Value
	return p, nil
}
