package filter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/prefdata/prefdata"
)

// judgePromptVersion changes whenever the judge prompt texts change, so that
// cached judgments made with older texts are not reused.
const judgePromptVersion = "judge-prompts-v2"

// Aspect is one quality a rubric judge rates.
type Aspect struct {
	Name        string // short key, used in Score.Aspect and in the reply format
	Description string // what the judge is to look at, one sentence
}

// UltraFeedbackAspects returns the four aspects UltraFeedback rates on 1-5,
// described in this project's own words.
func UltraFeedbackAspects() []Aspect {
	return []Aspect{
		{"instruction-following", "Does the answer do what the user asked, in the form asked, respecting every stated constraint?"},
		{"truthfulness", "Are the answer's statements correct, free of invented facts, and consistent with the question and with themselves?"},
		{"honesty", "Does the answer signal uncertainty where it should, and avoid claiming more confidence or ability than it has?"},
		{"helpfulness", "Is the answer useful: relevant, complete enough, clear, and not padded?"},
	}
}

// RubricStyle selects the form of a [RubricJudge]'s question.
type RubricStyle int

const (
	// StyleAspects rates each aspect on 1-5 with a rationale (UltraFeedback).
	StyleAspects RubricStyle = iota
	// StyleSingle gives one overall rating on 1-10 ending "Rating: [[N]]"
	// (MT-Bench single-answer grading).
	StyleSingle
)

// RubricJudge is a pointwise LLM judge: a [prefdata.Scorer] that asks a
// Generator to rate each response, with a rationale, and parses the reply
// with its Parser ([BracketRating] unless replaced), after asking with its
// [Template]. A reply that cannot be parsed (no rating, two
// ratings, a rating cut off, a value off the scale) is asked again up to
// Reasks times, showing the judge its reply; after that the response is
// reported as failed with the raw reply in the error, never given a
// made-up number.
type RubricJudge struct {
	// Generator answers the judge prompts: any backend (response.New, a
	// fake). It should produce one response per prompt; only the first is
	// read.
	Generator prefdata.Generator
	// Model names the judge in Score.Scorer ("judge:" + Model). Default: the
	// generator's Model() or Name(), else "judge".
	Model string
	Style RubricStyle
	// Aspects rated with StyleAspects (default UltraFeedbackAspects()).
	Aspects []Aspect
	// Reasks is how many times an unparsable reply is asked again (default
	// 1; negative: never).
	Reasks int
	// Concurrency bounds the responses judged at once for one prompt
	// (default 4).
	Concurrency int
	// Version is mixed into the fingerprint. Set it (and change it) when the
	// generator has no Fingerprint of its own, or the judge's cached scores
	// may outlive a change of backend.
	Version string

	// Template replaces the judge prompt (see [Template]; {{.Rubric}} is
	// the aspect list with StyleAspects, else Rubric); nil means
	// [DefaultRubricTemplate].
	Template *Template
	// Parser replaces the rating parser: the whole reply with StyleSingle,
	// each aspect's block with StyleAspects. Nil means [BracketRating] on
	// 1-10 or 1-5; [PlainRating] reads "8/10" and "Rating: 8" too.
	Parser RatingParser
	// Rubric, with StyleSingle, replaces the default criteria sentence
	// ("Weigh correctness first, ...").
	Rubric string
}

var _ prefdata.Scorer = (*RubricJudge)(nil)

// Name returns "judge:" and the judge model.
func (j *RubricJudge) Name() string { return "judge:" + j.model() }

// Fingerprint covers the judge's configuration, its prompt texts and the
// generator's fingerprint.
func (j *RubricJudge) Fingerprint() string {
	return prefdata.Hash("filter.RubricJudge", judgePromptVersion, j.model(), j.Style, j.aspects(), j.reasks(), genFingerprint(j.Generator), j.Version,
		j.template(), parserFingerprint(j.parser()), j.Rubric)
}

func (j *RubricJudge) model() string {
	if j.Model != "" {
		return j.Model
	}
	return modelOf(j.Generator)
}

func modelOf(g prefdata.Generator) string {
	if m, ok := g.(interface{ Model() string }); ok && m.Model() != "" {
		return m.Model()
	}
	if n, ok := g.(prefdata.Namer); ok {
		return n.Name()
	}
	return "judge"
}

func genFingerprint(g prefdata.Generator) string {
	if fp, ok := g.(prefdata.Fingerprinter); ok {
		return fp.Fingerprint()
	}
	return fmt.Sprintf("%T", g)
}

func (j *RubricJudge) aspects() []Aspect {
	if j.Style == StyleSingle {
		return nil
	}
	if len(j.Aspects) == 0 {
		return UltraFeedbackAspects()
	}
	return j.Aspects
}

func (j *RubricJudge) reasks() int {
	switch {
	case j.Reasks < 0:
		return 0
	case j.Reasks == 0:
		return 1
	}
	return j.Reasks
}

// Score rates each response. Responses are judged independently: one that
// fails is reported in the joined error as a *ResponseError and the others'
// scores are returned.
func (j *RubricJudge) Score(ctx context.Context, p prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
	results := make([][]prefdata.Score, len(rs))
	errs := make([]error, len(rs))
	forEach(ctx, len(rs), j.Concurrency, func(i int) {
		results[i], errs[i] = j.scoreOne(ctx, p, rs[i])
		if errs[i] != nil {
			errs[i] = &ResponseError{ResponseID: rs[i].ID, Err: errs[i]}
		}
	})
	var out []prefdata.Score
	for i, s := range results {
		if s == nil && errs[i] == nil { // never judged: ctx ended first
			errs[i] = &ResponseError{ResponseID: rs[i].ID, Err: context.Cause(ctx)}
		}
		out = append(out, s...)
	}
	return out, errors.Join(errs...)
}

// forEach calls f(0..n-1) with at most limit calls at once (default 4),
// taking them in order; none is started once ctx is done. The caller's
// goroutine is one of the limit workers and each worker takes the next
// index when its call returns: a judge call goes deep (the request, its
// JSON, the journal), and a goroutine per call grew a new stack for each.
func forEach(ctx context.Context, n, limit int, f func(i int)) {
	if limit <= 0 {
		limit = 4
	}
	var next atomic.Int64
	work := func() {
		for ctx.Err() == nil {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			f(i)
		}
	}
	var wg sync.WaitGroup
	for range min(n, limit) - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}

func (j *RubricJudge) scoreOne(ctx context.Context, p prefdata.Prompt, r prefdata.Response) ([]prefdata.Score, error) {
	msgs, err := j.messages(p, r)
	if err != nil {
		return nil, err
	}
	var scores []prefdata.Score
	_, err = ask(ctx, j.Generator, p.ID, r.ID, msgs, optionsOf(j.parser()), j.reasks(), j.formatHint(), func(reply prefdata.Response) error {
		var err error
		scores, err = j.parse(reply)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range scores {
		scores[i].ResponseID = r.ID
		scores[i].Scorer = j.Name()
	}
	return scores, nil
}

// parser is the judge's Parser or the default: [[N]] on 1-10 (StyleSingle)
// or 1-5 (StyleAspects, read per aspect block).
func (j *RubricJudge) parser() RatingParser {
	switch {
	case j.Parser != nil:
		return j.Parser
	case j.Style == StyleSingle:
		return BracketRating{Min: 1, Max: 10}
	}
	return BracketRating{Min: 1, Max: 5}
}

func (j *RubricJudge) template() Template {
	if j.Template != nil {
		return *j.Template
	}
	return DefaultRubricTemplate(j.Style)
}

func (j *RubricJudge) rubric() string {
	if j.Style == StyleSingle {
		return j.Rubric
	}
	var b strings.Builder
	for _, a := range j.aspects() {
		fmt.Fprintf(&b, "- %s: %s\n", a.Name, a.Description)
	}
	return b.String()
}

func (j *RubricJudge) messages(p prefdata.Prompt, r prefdata.Response) ([]prefdata.Message, error) {
	return j.template().Render(TemplateData{
		Prompt:    renderConversation(p),
		Responses: []string{r.Text},
		Reference: p.Meta[ReferenceKey],
		Rubric:    j.rubric(),
		Format:    j.formatHint(),
		Messages:  p.Messages,
	})
}

func (j *RubricJudge) formatHint() string {
	if j.Style == StyleSingle {
		if h := hintOf(j.parser()); h != "" || j.Parser != nil {
			return h
		}
	}
	return "Write one block per aspect, in the order listed, each in exactly this form:\n### <aspect>\nRationale: <one or two sentences>\nRating: [[<1-5>]]"
}

// parse reads a whole rubric reply into scores (ResponseID and Scorer unset).
func (j *RubricJudge) parse(reply prefdata.Response) ([]prefdata.Score, error) {
	raw := rawReply(reply)
	if j.Style == StyleSingle {
		v, err := j.parser().Parse(reply)
		if err != nil {
			return nil, err
		}
		rationale, _, _ := strings.Cut(reply.Text, "Rating:")
		return []prefdata.Score{{Value: v, Rationale: strings.TrimSpace(rationale), Raw: raw}}, nil
	}
	sections := splitSections(reply.Text)
	var out []prefdata.Score
	for _, a := range j.aspects() {
		sec, ok := sections[headingKey(a.Name)]
		if !ok {
			return nil, &ParseError{Kind: ErrNoVerdict, Detail: fmt.Sprintf("no block for aspect %q", a.Name), Raw: raw}
		}
		v, err := j.parser().Parse(prefdata.Response{Text: sec})
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				return nil, &ParseError{Kind: pe.Kind, Detail: fmt.Sprintf("aspect %q: %s", a.Name, pe.Detail), Raw: raw}
			}
			return nil, err
		}
		out = append(out, prefdata.Score{Aspect: a.Name, Value: v, Rationale: rationaleOf(sec), Raw: raw})
	}
	return out, nil
}

// splitSections cuts a reply at lines starting with "#" into sections keyed
// by their headingKey.
func splitSections(reply string) map[string]string {
	out := map[string]string{}
	var key string
	var body strings.Builder
	flush := func() {
		if key != "" {
			if _, dup := out[key]; dup {
				out[key] += "\n" + body.String() // two blocks: let ParseRating see both
			} else {
				out[key] = body.String()
			}
		}
		body.Reset()
	}
	for _, line := range strings.Split(reply, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "#") {
			flush()
			key = headingKey(strings.TrimLeft(t, "#"))
			continue
		}
		body.WriteString(line)
		body.WriteByte('\n')
	}
	flush()
	return out
}

// headingKey reduces an aspect heading to its lowered letters and digits, so
// "Instruction Following", "**instruction-following:**" and
// "instruction_following" match.
func headingKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func rationaleOf(section string) string {
	_, after, ok := strings.Cut(section, "Rationale:")
	if !ok {
		after = section
	}
	before, _, _ := strings.Cut(after, "Rating:")
	return strings.TrimSpace(before)
}

func judgePromptID(promptID, item string, msgs []prefdata.Message, opts *prefdata.GenerateOptions) string {
	if opts == nil { // the IDs of plain judge prompts stay as they were
		return "judge-" + prefdata.Hash(promptID, item, msgs)[:16]
	}
	return "judge-" + prefdata.Hash(promptID, item, msgs, opts)[:16]
}

// ask sends msgs to g as a judge prompt, with opts, and hands the reply to
// parse; on a *ParseError it asks again, up to reasks times, with the failed
// reply and a reminder of the format. It returns the last reply.
func ask(ctx context.Context, g prefdata.Generator, promptID, item string, msgs []prefdata.Message, opts *prefdata.GenerateOptions, reasks int, hint string, parse func(reply prefdata.Response) error) (prefdata.Response, error) {
	var reply prefdata.Response
	for attempt := 0; ; attempt++ {
		jp := prefdata.Prompt{
			ID:       judgePromptID(promptID, item, msgs, opts),
			Messages: msgs,
			Source:   "judge",
			Meta:     map[string]string{"judged_prompt": promptID, "judged": item},
			Options:  opts,
		}
		rs, err := g.Generate(ctx, jp)
		if len(rs) == 0 {
			if err == nil {
				err = errors.New("judge returned no response")
			}
			return reply, fmt.Errorf("judge call: %w", err)
		}
		reply = rs[0]
		perr := parse(reply)
		if perr == nil {
			return reply, nil
		}
		var pe *ParseError
		if !errors.As(perr, &pe) || attempt >= reasks {
			return reply, perr
		}
		msgs = append(append([]prefdata.Message(nil), msgs...),
			prefdata.Message{Role: prefdata.RoleAssistant, Content: rawReply(reply)},
			prefdata.Message{Role: prefdata.RoleUser, Content: "Your reply could not be read (" + pe.Kind.Error() + "). Answer again, complete, in the requested format. " + hint},
		)
	}
}
