package prompt

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/prefdata/prefdata"
)

// Category is one entry of a taxonomy: a name and what it covers (shown to
// the classifier).
type Category struct {
	Name        string
	Description string
}

// DefaultFallback is the category a [Classifier] assigns when the model's
// answer names none of the taxonomy's.
const DefaultFallback = "other"

// DefaultTaxonomy returns a new copy of the default categories: coding,
// math, reasoning, writing, brainstorming, open QA, closed QA, extraction,
// summarization, classification, rewriting, roleplay, safety-sensitive and
// other.
func DefaultTaxonomy() []Category {
	return []Category{
		{"coding", "writing, explaining, reviewing or fixing code"},
		{"math", "calculation, equations, proofs, word problems"},
		{"reasoning", "logic puzzles, planning, multi-step inference"},
		{"writing", "stories, essays, letters, poems, posts"},
		{"brainstorming", "lists of ideas, names, options"},
		{"open qa", "questions of fact or advice answered from general knowledge"},
		{"closed qa", "questions to answer from a given text"},
		{"extraction", "pulling names, dates, fields or facts out of a given text"},
		{"summarization", "shortening a given text"},
		{"classification", "sorting a given item into given classes, sentiment"},
		{"rewriting", "translating, paraphrasing, editing or changing the tone of a given text"},
		{"roleplay", "acting as a character or persona"},
		{"safety-sensitive", "requests that could cause harm: weapons, self-harm, crime, medical or legal risk"},
		{"other", "anything else"},
	}
}

// Classifier is a [prefdata.PromptFilter] that asks a model (any
// [prefdata.Generator]: the response package's, or a test double) which
// category of a taxonomy a prompt belongs to and sets Prompt.Category.
// Prompts that already have a category keep it and cost no call.
//
// The answer is parsed leniently: "Category: open_qa", "**Coding**." and
// "I would say this is math." all work; names are matched case-blind with
// spaces, hyphens and underscores alike, and the earliest (then the longest)
// name in the answer wins. An answer naming no category gets Fallback, and
// the start of the raw answer goes to Meta["category_raw"] so such prompts
// can be found. A generator error is the prompt's failure (the pipeline
// records it and goes on).
type Classifier struct {
	Gen prefdata.Generator
	// Taxonomy lists the categories (default DefaultTaxonomy()).
	Taxonomy []Category
	// Fallback is the category for answers naming none (default "other").
	Fallback string
	// Instructions, if set, replaces the text that asks for a category; it
	// gets the numbered category list and the prompt after it.
	Instructions string
	// Version is mixed into the fingerprint. Set it (and change it) when Gen
	// has no Fingerprint of its own, or categories cached in a run
	// directory may outlive a change of model.
	Version string
}

var (
	_ prefdata.PromptFilter  = (*Classifier)(nil)
	_ prefdata.Fingerprinter = (*Classifier)(nil)
)

// Fingerprint covers the taxonomy, the fallback, the request's wording and
// Gen's fingerprint (its type when it has none), so that a Pipeline with a
// run directory caches the categories and a rerun does not ask again.
func (c *Classifier) Fingerprint() string {
	gen := fmt.Sprintf("%T", c.Gen)
	if fp, ok := c.Gen.(prefdata.Fingerprinter); ok {
		gen = fp.Fingerprint()
	}
	return prefdata.Hash("prompt.Classifier/v1", classifyInstructions, c.Instructions, c.taxonomy(), c.fallback(), gen, c.Version)
}

// Name returns "classify".
func (c *Classifier) Name() string { return "classify" }

func (c *Classifier) taxonomy() []Category {
	if len(c.Taxonomy) > 0 {
		return c.Taxonomy
	}
	return DefaultTaxonomy()
}

func (c *Classifier) fallback() string {
	if c.Fallback != "" {
		return c.Fallback
	}
	return DefaultFallback
}

const classifyInstructions = `You sort user requests for a dataset. Read the request at the end and decide which ONE of these categories fits it best.`

// Request returns the conversation the classifier sends for p.
func (c *Classifier) Request(p prefdata.Prompt) prefdata.Prompt {
	var b strings.Builder
	ins := c.Instructions
	if ins == "" {
		ins = classifyInstructions
	}
	b.WriteString(ins)
	b.WriteString("\n\nCategories:\n")
	for _, cat := range c.taxonomy() {
		b.WriteString("- ")
		b.WriteString(cat.Name)
		if cat.Description != "" {
			b.WriteString(": ")
			b.WriteString(cat.Description)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nReply with the category name only, on one line, like \"Category: <name>\".\n\nRequest:\n<<<\n")
	b.WriteString(truncate(conversationText(p.Messages), 4000))
	b.WriteString("\n>>>")
	return prefdata.Prompt{
		ID:       "classify:" + p.ID,
		Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: b.String()}},
		Meta:     map[string]string{"task": "classify", "prompt_id": p.ID},
	}
}

// FilterPrompt sets p's category, unless it has one.
func (c *Classifier) FilterPrompt(ctx context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
	if p.Category != "" {
		return p, nil
	}
	if c.Gen == nil {
		return p, errors.New("prompt: Classifier.Gen is nil")
	}
	text, err := firstText(ctx, c.Gen, c.Request(p))
	if err != nil {
		return p, fmt.Errorf("classify: %w", err)
	}
	cat, ok := ParseCategory(text, c.taxonomy())
	if !ok {
		cat = c.fallback()
		p.Meta = withMeta(p.Meta, "category_raw", truncate(strings.TrimSpace(text), 200))
	}
	p.Category = cat
	return p, nil
}

// ParseCategory finds the category an answer names: see [Classifier].
func ParseCategory(answer string, taxonomy []Category) (string, bool) {
	text := " " + foldName(answer) + " "
	// A "category:" label narrows the search to what follows it.
	if i := strings.LastIndex(text, " category "); i >= 0 {
		if name, ok := earliestName(text[i+len(" category"):], taxonomy); ok {
			return name, true
		}
	}
	return earliestName(text, taxonomy)
}

func earliestName(text string, taxonomy []Category) (string, bool) {
	best, bestAt, bestLen := "", -1, 0
	for _, c := range taxonomy {
		n := foldName(c.Name)
		if n == "" {
			continue
		}
		i := strings.Index(text, " "+n+" ")
		if i < 0 {
			continue
		}
		if bestAt < 0 || i < bestAt || (i == bestAt && len(n) > bestLen) {
			best, bestAt, bestLen = c.Name, i, len(n)
		}
	}
	return best, bestAt >= 0
}

// foldName lowers s and turns everything but letters and digits into single
// spaces, so "Open_QA", "open-qa" and "**Open QA**" read alike.
func foldName(s string) string { return Normalize(strings.NewReplacer("_", " ", "-", " ").Replace(s)) }

// firstText asks gen once and returns the first non-empty response text.
func firstText(ctx context.Context, gen prefdata.Generator, p prefdata.Prompt) (string, error) {
	rs, err := gen.Generate(ctx, p)
	for _, r := range rs {
		if strings.TrimSpace(r.Text) != "" {
			return r.Text, nil
		}
	}
	if err != nil {
		return "", err
	}
	return "", errors.New("the model returned no text")
}

// withMeta returns a copy of m with k set to v: prompts share their Meta
// maps with the records they were copied from, so they are never written in
// place.
func withMeta(m map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
