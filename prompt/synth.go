package prompt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"

	"github.com/prefdata/prefdata"
)

// RougeL returns the ROUGE-L F-measure of two texts: with L the length of
// the longest common subsequence of their words (lowered, split on anything
// but letters and digits), precision L/len(a), recall L/len(b), and F their
// harmonic mean. It is 1 for equal texts and 0 when no word is shared.
func RougeL(a, b string) float64 {
	return rougeL(words(a), words(b))
}

func rougeL(x, y []string) float64 {
	if len(x) == 0 || len(y) == 0 {
		return 0
	}
	if len(x) < len(y) {
		x, y = y, x
	}
	prev, cur := make([]int, len(y)+1), make([]int, len(y)+1)
	for i := range x {
		for j := range y {
			switch {
			case x[i] == y[j]:
				cur[j+1] = prev[j] + 1
			case prev[j+1] >= cur[j]:
				cur[j+1] = prev[j+1]
			default:
				cur[j+1] = cur[j]
			}
		}
		prev, cur = cur, prev
	}
	l := float64(prev[len(y)])
	if l == 0 {
		return 0
	}
	p, r := l/float64(len(x)), l/float64(len(y))
	return 2 * p * r / (p + r)
}

// Synthesis methods, as recorded in Meta["method"] and Prompt.Source
// ("synth:" + method).
const (
	MethodSelfInstruct = "self-instruct"
)

// SelfInstructConfig configures [SelfInstruct].
type SelfInstructConfig struct {
	Gen prefdata.Generator
	// Seeds are the prompts shown in context; only their last user turn is
	// used.
	Seeds []prefdata.Prompt
	// N is the number of new prompts to make.
	N int
	// Category, if set, asks for prompts of this category (a thin one) and
	// sets it on them; seeds of the same category are preferred in context.
	Category string
	// InContext is the number of examples per request (default 3), drawn
	// from the seeds and, once there are some, the prompts made so far
	// (one in three), as Self-Instruct does.
	InContext int
	// PerRequest is the number of new prompts asked for per request
	// (default 5).
	PerRequest int
	// MaxSimilarity is the ROUGE-L ceiling against every seed and every
	// prompt kept so far (default 0.7).
	MaxSimilarity float64
	// MaxRequests bounds the requests (default 4 × N / PerRequest + 4);
	// the source ends early when they are spent.
	MaxRequests int
	// MinWords and MaxWords bound a new prompt's length (default 3 and 300).
	MinWords, MaxWords int
	Seed               uint64
}

// SynthStats counts what a synthesizer did.
type SynthStats struct {
	Requests  int            `json:"requests"`
	Failed    int            `json:"failed"` // requests that errored
	Proposed  int            `json:"proposed"`
	Kept      int            `json:"kept"`
	Discarded map[string]int `json:"discarded,omitempty"` // by reason: "similar", "too short", "copy", ...
}

func (s *SynthStats) discard(reason string) {
	if s.Discarded == nil {
		s.Discarded = map[string]int{}
	}
	s.Discarded[reason]++
}

func (s SynthStats) clone() SynthStats {
	out := s
	out.Discarded = make(map[string]int, len(s.Discarded))
	for k, v := range s.Discarded {
		out.Discarded[k] = v
	}
	return out
}

// SelfInstructor is the source made by [SelfInstruct].
type SelfInstructor struct {
	cfg   SelfInstructConfig
	rng   *rand.Rand
	seeds []prefdata.Prompt // preferred (same category) first
	pool  [][]string        // words of every seed and kept prompt
	made  []prefdata.Prompt
	queue []prefdata.Prompt
	st    SynthStats
}

var _ prefdata.PromptSource = (*SelfInstructor)(nil)

// SelfInstruct returns a source of new prompts written by a model from
// seed prompts, in the manner of Self-Instruct: each request shows a few
// examples and asks for more; a new prompt is kept only if its ROUGE-L
// against every seed and every prompt kept before is below MaxSimilarity,
// and if it looks like an instruction (not empty, not too short or long, not
// a numbered answer). Each prompt records Source "synth:self-instruct",
// Meta["method"] = "self-instruct" and Meta["parent"] = the IDs of the
// examples in context, comma-separated. A failed request is returned as an
// error wrapping a *prefdata.ItemError and the source goes on (an error
// wrapping prefdata.ErrStopRun is returned as it is, to end a run).
func SelfInstruct(cfg SelfInstructConfig) *SelfInstructor {
	if cfg.InContext <= 0 {
		cfg.InContext = 3
	}
	if cfg.PerRequest <= 0 {
		cfg.PerRequest = 5
	}
	if cfg.MaxSimilarity <= 0 {
		cfg.MaxSimilarity = 0.7
	}
	if cfg.MaxRequests <= 0 {
		cfg.MaxRequests = 4*cfg.N/cfg.PerRequest + 4
	}
	if cfg.MinWords <= 0 {
		cfg.MinWords = 3
	}
	if cfg.MaxWords <= 0 {
		cfg.MaxWords = 300
	}
	s := &SelfInstructor{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5e1f))}
	var same, other []prefdata.Prompt
	for _, p := range cfg.Seeds {
		if p.ID == "" {
			p.ID = prefdata.ContentID(p.Messages)
		}
		s.pool = append(s.pool, words(p.Text()))
		if cfg.Category != "" && p.Category == cfg.Category {
			same = append(same, p)
		} else {
			other = append(other, p)
		}
	}
	s.seeds = append(same, other...)
	return s
}

// Stats returns the counts so far.
func (s *SelfInstructor) Stats() SynthStats { return s.st.clone() }

// Next returns the next new prompt, io.EOF when N are made or the requests
// are spent.
func (s *SelfInstructor) Next(ctx context.Context) (prefdata.Prompt, error) {
	if s.cfg.Gen == nil {
		return prefdata.Prompt{}, errors.New("prompt: SelfInstructConfig.Gen is nil")
	}
	for {
		if err := ctx.Err(); err != nil {
			return prefdata.Prompt{}, err
		}
		if len(s.queue) > 0 {
			p := s.queue[0]
			s.queue = s.queue[1:]
			return p, nil
		}
		if s.st.Kept >= s.cfg.N || s.st.Requests >= s.cfg.MaxRequests {
			return prefdata.Prompt{}, io.EOF
		}
		if len(s.seeds) == 0 {
			return prefdata.Prompt{}, errors.New("prompt: SelfInstructConfig.Seeds is empty: there is nothing to show the model")
		}
		if err := s.request(ctx); err != nil {
			return prefdata.Prompt{}, err
		}
	}
}

func (s *SelfInstructor) examples() []prefdata.Prompt {
	var out []prefdata.Prompt
	used := map[string]bool{}
	// Prefer the category's seeds: draw from the first half of the list
	// when it starts with them.
	for tries := 0; len(out) < s.cfg.InContext && tries < 10*s.cfg.InContext; tries++ {
		var p prefdata.Prompt
		if len(s.made) > 0 && s.rng.IntN(3) == 0 {
			p = s.made[s.rng.IntN(len(s.made))]
		} else {
			p = s.seeds[s.rng.IntN(len(s.seeds))]
			if s.cfg.Category != "" && s.seeds[0].Category == s.cfg.Category && s.rng.IntN(4) != 0 {
				n := 0
				for n < len(s.seeds) && s.seeds[n].Category == s.cfg.Category {
					n++
				}
				p = s.seeds[s.rng.IntN(n)]
			}
		}
		if used[p.ID] {
			continue
		}
		used[p.ID] = true
		out = append(out, p)
	}
	return out
}

func (s *SelfInstructor) request(ctx context.Context) error {
	ex := s.examples()
	var b strings.Builder
	b.WriteString("We are collecting a varied set of requests that people send to an AI assistant.")
	if s.cfg.Category != "" {
		fmt.Fprintf(&b, " This batch is about the category %q.", s.cfg.Category)
	}
	fmt.Fprintf(&b, " Here are %d examples. Write %d new requests that differ from the examples and from each other in topic, wording and form; each must be something a person would really ask, complete on its own (include any text it refers to), and must not answer itself.\n\n", len(ex), s.cfg.PerRequest)
	var parents []string
	for i, p := range ex {
		fmt.Fprintf(&b, "%d. %s\n", i+1, oneLine(p.Text()))
		parents = append(parents, p.ID)
	}
	fmt.Fprintf(&b, "\nContinue the numbered list from %d to %d, one request per item, and write nothing else.", len(ex)+1, len(ex)+s.cfg.PerRequest)
	req := prefdata.Prompt{
		ID:       fmt.Sprintf("self-instruct:%d:%d", s.cfg.Seed, s.st.Requests),
		Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: b.String()}},
		Meta:     map[string]string{"task": "self-instruct"},
	}
	s.st.Requests++
	text, err := firstText(ctx, s.cfg.Gen, req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := stopError(req.ID, MethodSelfInstruct, err); err != nil {
			return err
		}
		s.st.Failed++
		return &prefdata.ItemError{Stage: prefdata.StagePrompt, Item: req.ID, Component: MethodSelfInstruct, Err: err}
	}
	for _, cand := range ParseList(text) {
		if s.st.Kept >= s.cfg.N {
			break
		}
		s.st.Proposed++
		w := words(cand)
		switch {
		case len(w) < s.cfg.MinWords:
			s.st.discard("too short")
			continue
		case len(w) > s.cfg.MaxWords:
			s.st.discard("too long")
			continue
		case looksLikeAnswer(cand):
			s.st.discard("not an instruction")
			continue
		}
		similar := false
		for _, other := range s.pool {
			if rougeL(w, other) >= s.cfg.MaxSimilarity {
				similar = true
				break
			}
		}
		if similar {
			s.st.discard("similar")
			continue
		}
		s.pool = append(s.pool, w)
		p := prefdata.Prompt{
			Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: cand}},
			Source:   "synth:" + MethodSelfInstruct,
			Category: s.cfg.Category,
			Meta:     map[string]string{"method": MethodSelfInstruct, "parent": strings.Join(parents, ",")},
		}
		p.ID = prefdata.ContentID(p.Messages)
		s.made = append(s.made, p)
		s.queue = append(s.queue, p)
		s.st.Kept++
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

var listItem = regexp.MustCompile(`(?i)^\s*(?:\d{1,3}\s*[.):](?:\s+|$)|[-*•]|(?:instruction|request|task|prompt)\s*\d*\s*:)\s*`)

// ParseList splits a model's numbered or bulleted list into its items; an
// item's continuation lines are joined to it. Text with no list markers is
// one item per non-empty line.
func ParseList(text string) []string {
	var items []string
	var cur []string
	flush := func() {
		if s := cleanItem(strings.Join(cur, "\n")); s != "" {
			items = append(items, s)
		}
		cur = nil
	}
	marked := listItem.MatchString(strings.TrimSpace(firstLine(text)))
	for _, line := range strings.Split(text, "\n") {
		if loc := listItem.FindStringIndex(line); loc != nil {
			flush()
			cur = append(cur, line[loc[1]:])
			continue
		}
		if !marked {
			flush()
		}
		if strings.TrimSpace(line) == "" && !marked {
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return items
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			return l
		}
	}
	return ""
}

func cleanItem(s string) string {
	s = strings.TrimSpace(s)
	s = strings.Trim(s, "\"“”")
	s = strings.TrimPrefix(strings.TrimSuffix(s, "**"), "**")
	return strings.TrimSpace(s)
}

// looksLikeAnswer reports text that answers or refuses rather than asks.
func looksLikeAnswer(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	for _, p := range []string{"sure", "certainly", "of course", "here is", "here's", "here are", "as an ai", "i'm sorry", "i am sorry", "i cannot", "i can't", "the answer is", "answer:", "output:", "response:"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// EvolMethod is one way [Evol] rewrites a prompt.
type EvolMethod string

// The Evol-Instruct-style rewrites. The first four deepen a prompt; Rarer
// writes a new prompt in the same domain (breadth).
const (
	EvolConstraints EvolMethod = "constraints" // add a requirement or limit
	EvolDeepen      EvolMethod = "deepen"      // ask about the topic in more depth
	EvolConcretize  EvolMethod = "concretize"  // replace general ideas with specific ones
	EvolReasoning   EvolMethod = "reasoning"   // require several explicit steps of reasoning
	EvolRarer       EvolMethod = "rarer"       // a new, rarer prompt in the same domain
)

// AllEvolMethods returns the five methods.
func AllEvolMethods() []EvolMethod {
	return []EvolMethod{EvolConstraints, EvolDeepen, EvolConcretize, EvolReasoning, EvolRarer}
}

func (m EvolMethod) instruction() string {
	switch m {
	case EvolConstraints:
		return "Rewrite the request so it adds one or two concrete requirements or limits the answer must meet (a format, a length, something to include or avoid). Keep everything the original asks for."
	case EvolDeepen:
		return "Rewrite the request so it asks for more depth: why, how, trade-offs, edge cases or consequences, in the same subject. Keep everything the original asks for."
	case EvolConcretize:
		return "Rewrite the request replacing its general ideas with specific ones: name a concrete situation, data, audience or example. Keep its intent."
	case EvolReasoning:
		return "Rewrite the request so a good answer must work through several explicit steps of reasoning, if the original can be solved in one step. Keep its intent."
	case EvolRarer:
		return "Write a new request in the same domain as this one, but about a rarer, less common topic of similar length and difficulty."
	}
	return "Rewrite the request to make it more demanding. Keep its intent."
}

// EvolConfig configures [Evol].
type EvolConfig struct {
	Gen prefdata.Generator
	// Methods are drawn from at random per prompt (default all five).
	Methods []EvolMethod
	// KeepOriginal yields each input prompt before its rewrite.
	KeepOriginal bool
	// MaxCopySimilarity is the ROUGE-L against the original at or above
	// which a rewrite counts as a copy (default 0.95; not applied to Rarer,
	// which must not be a near copy either: it uses 0.7).
	MaxCopySimilarity float64
	// MaxGrowth bounds a rewrite's length in words as a multiple of the
	// original's plus 60 words (default 4): longer ones are answers, not
	// prompts.
	MaxGrowth float64
	Seed      uint64
}

// Evolver is the source made by [Evol].
type Evolver struct {
	src   prefdata.PromptSource
	cfg   EvolConfig
	rng   *rand.Rand
	queue []prefdata.Prompt
	// pending is a failure to report after the original it came with.
	pending error
	st      SynthStats
}

var _ prefdata.PromptSource = (*Evolver)(nil)

// Evol returns a source that rewrites each prompt of src with one method
// drawn from cfg.Methods, in the manner of Evol-Instruct, and drops failed
// rewrites: empty, a copy of the original, an answer or refusal instead of a
// prompt, leftovers of the instructions, or far too long (counted in Stats
// by reason). A rewrite records Source "synth:evol", Meta["method"] =
// "evol:<method>", Meta["parent"] = the original's ID, and keeps the
// original's category (not for Rarer). Chain Evols for several rounds. A
// failed request is returned as an error wrapping a *prefdata.ItemError (an
// error wrapping prefdata.ErrStopRun is returned as it is, to end a run).
func Evol(src prefdata.PromptSource, cfg EvolConfig) *Evolver {
	if len(cfg.Methods) == 0 {
		cfg.Methods = AllEvolMethods()
	}
	if cfg.MaxCopySimilarity <= 0 {
		cfg.MaxCopySimilarity = 0.95
	}
	if cfg.MaxGrowth <= 0 {
		cfg.MaxGrowth = 4
	}
	return &Evolver{src: src, cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0xe70))}
}

// Stats returns the counts so far.
func (e *Evolver) Stats() SynthStats { return e.st.clone() }

// EvolRequest returns the conversation that asks for p to be rewritten with
// method m.
func EvolRequest(p prefdata.Prompt, m EvolMethod) prefdata.Prompt {
	var b strings.Builder
	b.WriteString("You edit requests sent to an AI assistant, to make a harder and more varied dataset. Do not answer the request.\n\n")
	b.WriteString(m.instruction())
	b.WriteString(" The result must read naturally, be complete on its own, and not mention that it was rewritten.\n\nOriginal request:\n<<<\n")
	b.WriteString(p.Text())
	b.WriteString("\n>>>\n\nWrite only the new request between <prompt> and </prompt>.")
	return prefdata.Prompt{
		ID:       "evol:" + string(m) + ":" + p.ID,
		Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: b.String()}},
		Meta:     map[string]string{"task": "evol", "method": string(m), "prompt_id": p.ID},
	}
}

// Next returns the next prompt: a rewrite (or, with KeepOriginal, an
// original followed by its rewrite). A prompt with no user turn is a failed
// item.
func (e *Evolver) Next(ctx context.Context) (prefdata.Prompt, error) {
	if e.cfg.Gen == nil {
		return prefdata.Prompt{}, errors.New("prompt: EvolConfig.Gen is nil")
	}
	for {
		if err := ctx.Err(); err != nil {
			return prefdata.Prompt{}, err
		}
		if len(e.queue) > 0 {
			p := e.queue[0]
			e.queue = e.queue[1:]
			return p, nil
		}
		if e.pending != nil {
			err := e.pending
			e.pending = nil
			return prefdata.Prompt{}, err
		}
		p, err := e.src.Next(ctx)
		if err != nil {
			return p, err
		}
		if p.ID == "" {
			p.ID = prefdata.ContentID(p.Messages)
		}
		if e.cfg.KeepOriginal {
			e.queue = append(e.queue, p)
		}
		m := e.cfg.Methods[e.rng.IntN(len(e.cfg.Methods))]
		child, ok, err := e.rewrite(ctx, p, m)
		if err != nil {
			if ctx.Err() != nil {
				return prefdata.Prompt{}, ctx.Err()
			}
			if err := stopError(p.ID, "evol:"+string(m), err); err != nil {
				return prefdata.Prompt{}, err
			}
			ie := &prefdata.ItemError{Stage: prefdata.StagePrompt, Item: p.ID, Component: "evol:" + string(m), Err: err}
			if len(e.queue) > 0 {
				// Hand out the original first; the error comes next time.
				e.pending = ie
				continue
			}
			return prefdata.Prompt{}, ie
		}
		if ok {
			e.queue = append(e.queue, child)
		}
	}
}

// rewrite asks for p rewritten with m; ok is false when the rewrite failed
// the checks (counted in Stats).
func (e *Evolver) rewrite(ctx context.Context, p prefdata.Prompt, m EvolMethod) (child prefdata.Prompt, ok bool, err error) {
	u := len(p.Messages) - 1
	for u >= 0 && p.Messages[u].Role != prefdata.RoleUser {
		u--
	}
	if u < 0 {
		return child, false, errors.New("the prompt has no user turn to rewrite")
	}
	e.st.Requests++
	text, err := firstText(ctx, e.cfg.Gen, EvolRequest(p, m))
	if err != nil {
		if ctx.Err() == nil {
			e.st.Failed++
		}
		return child, false, err
	}
	e.st.Proposed++
	out, reason := e.check(p, m, text)
	if reason != "" {
		e.st.discard(reason)
		return child, false, nil
	}
	e.st.Kept++
	child = prefdata.Prompt{
		// The history before the rewritten turn stays; what followed it
		// (a trailing assistant turn) answered the original, and goes.
		Messages: append(append([]prefdata.Message(nil), p.Messages[:u]...), prefdata.Message{Role: prefdata.RoleUser, Content: out}),
		Source:   "synth:evol",
		// Fresh Meta: the parent's facts (its rewards, its later turns)
		// do not hold for the rewrite.
		Meta: map[string]string{"method": "evol:" + string(m), "parent": p.ID},
	}
	if m != EvolRarer {
		child.Category = p.Category
	}
	child.ID = prefdata.ContentID(child.Messages)
	return child, true, nil
}

var promptTag = regexp.MustCompile(`(?is)<prompt>(.*?)(?:</prompt>|$)`)

// check cleans a rewrite and returns it, or the reason it failed.
func (e *Evolver) check(orig prefdata.Prompt, m EvolMethod, reply string) (string, string) {
	text := reply
	if mm := promptTag.FindStringSubmatch(reply); mm != nil {
		text = mm[1]
	}
	text = strings.TrimSpace(text)
	for _, pre := range []string{"new request:", "rewritten request:", "rewritten prompt:", "request:", "prompt:"} {
		if len(text) >= len(pre) && strings.EqualFold(text[:len(pre)], pre) {
			text = strings.TrimSpace(text[len(pre):])
		}
	}
	text = strings.TrimSpace(strings.Trim(text, "\"“”<>"))
	w, ow := words(text), words(orig.Text())
	lower := strings.ToLower(text)
	limit := e.cfg.MaxCopySimilarity
	if m == EvolRarer {
		limit = 0.7
	}
	switch {
	case len(w) == 0:
		return "", "empty"
	case Normalize(text) == Normalize(orig.Text()) || rougeL(w, ow) >= limit:
		return "", "copy"
	case looksLikeAnswer(text):
		return "", "answer"
	case strings.Contains(lower, "original request") || strings.Contains(lower, "rewritten") || strings.Contains(lower, "</prompt>") || strings.Contains(lower, "<<<"):
		return "", "instruction leftovers"
	case float64(len(w)) > e.cfg.MaxGrowth*float64(len(ow))+60:
		return "", "too long"
	}
	return text, ""
}
