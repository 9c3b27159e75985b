package filter

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"

	"github.com/prefdata/prefdata"
)

// Template is a judge prompt: a system message and a user message, each a Go
// text/template executed with a [TemplateData]. The placeholders are:
//
//	{{.Prompt}}     the conversation judged, one "role: content" line per message
//	{{.Responses}}  the responses judged, in the order shown: index 0 is A, 1 is B
//	                ({{index .Responses 0}}); a rubric judge has one
//	{{.Reference}}  a reference answer: the prompt's Meta["reference"], or ""
//	{{.Rubric}}     what to judge by: the judge's Rubric, or a rubric judge's aspects
//	{{.Format}}     how to write the verdict, from the parser ([FormatHinter])
//	{{.Messages}}   the conversation as []prefdata.Message, for templates of
//	                their own layout ({{range .Messages}}{{.Role}}: {{.Content}}{{end}})
//
// and the function {{letter i}} gives "A", "B", ... for index i. An unknown
// placeholder is an error when the template is parsed; text in the prompt or
// responses is inserted as is (never read as template syntax). An empty
// System sends no system message.
//
// The template's text is part of the judge's fingerprint, so a changed
// template is never answered from the cache.
type Template struct {
	System string
	User   string
}

// TemplateData is what a [Template] is executed with.
type TemplateData struct {
	Prompt    string
	Responses []string
	Reference string
	Rubric    string
	Format    string
	Messages  []prefdata.Message
}

// ReferenceKey is the Prompt.Meta key of a prompt's reference answer, shown
// to judges as {{.Reference}}.
const ReferenceKey = "reference"

var templateFuncs = template.FuncMap{
	"letter": func(i int) string {
		if i < 0 || i >= 26 {
			return fmt.Sprint(i + 1)
		}
		return string(rune('A' + i))
	},
}

// Check parses both texts and executes them on sample data, so a template
// with a typo fails at once rather than on the first candidate.
func (t Template) Check() error {
	_, err := t.Render(TemplateData{Prompt: "user: q\n", Responses: []string{"a", "b"}, Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: "q"}}})
	return err
}

// Render executes the template into the judge's messages.
func (t Template) Render(d TemplateData) ([]prefdata.Message, error) {
	if strings.TrimSpace(t.User) == "" {
		return nil, fmt.Errorf("judge template: empty User text")
	}
	var msgs []prefdata.Message
	for _, part := range []struct{ name, text, role string }{{"System", t.System, prefdata.RoleSystem}, {"User", t.User, prefdata.RoleUser}} {
		if part.text == "" {
			continue
		}
		tmpl, err := parseTemplate(part.name, part.text)
		if err != nil {
			return nil, fmt.Errorf("judge template: %w", err)
		}
		var b strings.Builder
		if err := tmpl.Execute(&b, d); err != nil {
			return nil, fmt.Errorf("judge template: %w", err)
		}
		msgs = append(msgs, prefdata.Message{Role: part.role, Content: b.String()})
	}
	return msgs, nil
}

// parsed holds the templates already parsed, by name and text: a judge
// renders its template once per call, and parsing costs more than
// executing. A parsed template is safe to execute concurrently. At most
// maxParsed are kept, so templates built per call cannot grow it without
// bound.
var parsed sync.Map // templateKey -> *template.Template

type templateKey struct{ name, text string }

var nParsed atomic.Int64

const maxParsed = 256

func parseTemplate(name, text string) (*template.Template, error) {
	k := templateKey{name, text}
	if t, ok := parsed.Load(k); ok {
		return t.(*template.Template), nil
	}
	t, err := template.New(name).Funcs(templateFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	if nParsed.Load() < maxParsed {
		if _, loaded := parsed.LoadOrStore(k, t); !loaded {
			nParsed.Add(1)
		}
	}
	return t, nil
}

// renderConversation is {{.Prompt}}: one "role: content" line per message.
func renderConversation(p prefdata.Prompt) string {
	var b strings.Builder
	for _, m := range p.Messages {
		fmt.Fprintf(&b, "%s: %s\n", m.Role, m.Content)
	}
	return b.String()
}

const judgeSystem = "You are a strict, impartial judge of AI assistant answers. You follow the requested reply format exactly."

// DefaultPairwiseTemplate is the prompt a [PairwiseJudge] uses when given
// none: the conversation, answer A, answer B, the reference and rubric if
// any, and the parser's format.
func DefaultPairwiseTemplate() Template {
	return Template{
		System: judgeSystem,
		User: "Two AI assistants answered the conversation below. Decide which answer is better for the user: " +
			"{{if .Rubric}}{{.Rubric}}{{else}}more correct first, then more faithful to what was asked, then clearer and more useful{{end}}. " +
			"The order of the answers is random and says nothing; a longer answer is not better for being longer.\n\n" +
			"[Conversation]\n{{.Prompt}}[End of conversation]\n\n" +
			"{{if .Reference}}[Reference answer]\n{{.Reference}}\n[End of reference answer]\n\n{{end}}" +
			"[Answer A]\n{{index .Responses 0}}\n[End of answer A]\n\n[Answer B]\n{{index .Responses 1}}\n[End of answer B]\n\n" +
			"Compare them in a few sentences, then give your verdict on the last line. {{.Format}}",
	}
}

// DefaultRubricTemplate is the prompt a [RubricJudge] of style uses when
// given none.
func DefaultRubricTemplate(style RubricStyle) Template {
	system := "You are a strict, impartial evaluator of AI assistant answers. You follow the requested reply format exactly."
	ref := "{{if .Reference}}[Reference answer]\n{{.Reference}}\n[End of reference answer]\n\n{{end}}"
	if style == StyleSingle {
		return Template{System: system, User: "Grade the assistant's answer to the conversation below on a scale of 1 (useless or harmful) to 10 (could not be better). " +
			"{{if .Rubric}}{{.Rubric}}{{else}}Weigh correctness first, then whether it does what was asked, then clarity and usefulness.{{end}} " +
			"Length, confidence and polish are not merits in themselves.\n\n" +
			"[Conversation]\n{{.Prompt}}[End of conversation]\n\n" + ref +
			"[Answer]\n{{index .Responses 0}}\n[End of answer]\n\n" +
			"First explain your grade in a few sentences. {{.Format}}"}
	}
	return Template{System: system, User: "Rate the assistant's answer to the conversation below on each aspect listed, from 1 (poor) to 5 (excellent):\n{{.Rubric}}" +
		"Judge each aspect on its own. Length, confidence and polish are not merits in themselves.\n\n" +
		"[Conversation]\n{{.Prompt}}[End of conversation]\n\n" + ref +
		"[Answer]\n{{index .Responses 0}}\n[End of answer]\n\n" +
		"{{.Format}}"}
}
