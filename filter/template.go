package filter

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"text/template/parse"

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
	msgs := make([]prefdata.Message, 0, 2)
	for _, part := range [2]struct{ name, text, role string }{{"System", t.System, prefdata.RoleSystem}, {"User", t.User, prefdata.RoleUser}} {
		if part.text == "" {
			continue
		}
		tmpl, err := parseTemplate(part.name, part.text)
		if err != nil {
			return nil, fmt.Errorf("judge template: %w", err)
		}
		out, err := tmpl.execute(d)
		if err != nil {
			return nil, fmt.Errorf("judge template: %w", err)
		}
		msgs = append(msgs, prefdata.Message{Role: part.role, Content: out})
	}
	return msgs, nil
}

// parsed holds the templates already parsed, by name and text: a judge
// renders its template once per call, and parsing costs more than
// executing. A parsed template is safe to execute concurrently. At most
// maxParsed are kept, so templates built per call cannot grow it without
// bound.
var parsed sync.Map // templateKey -> *compiledTemplate

type templateKey struct{ name, text string }

var nParsed atomic.Int64

const maxParsed = 256

func parseTemplate(name, text string) (*compiledTemplate, error) {
	k := templateKey{name, text}
	if t, ok := parsed.Load(k); ok {
		return t.(*compiledTemplate), nil
	}
	t, err := template.New(name).Funcs(templateFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	c := &compiledTemplate{tmpl: t}
	c.prog, c.fast = compileList(t.Tree.Root)
	if nParsed.Load() < maxParsed {
		if _, loaded := parsed.LoadOrStore(k, c); !loaded {
			nParsed.Add(1)
		}
	}
	return c, nil
}

// compiledTemplate is a parsed template and, when it uses only text, the
// string fields of [TemplateData], {{index .Responses N}} and {{if}} on a
// string field (the default templates do), the same template as a list of
// steps that renders without reflection. The steps give the very text
// text/template gives; anything else (and any error, such as an index out
// of range) goes through text/template.
type compiledTemplate struct {
	tmpl *template.Template
	prog []step
	fast bool
}

// step is one piece of a compiled template: a text, a field, a response,
// or an if on a field with its two branches.
type step struct {
	kind        stepKind
	text        string // stepText
	field       dataField
	index       int // stepResponse
	then, else_ []step
}

type stepKind uint8

const (
	stepText stepKind = iota
	stepField
	stepResponse
	stepIf
)

// dataField is one of TemplateData's string fields.
type dataField uint8

const (
	fieldPrompt dataField = iota
	fieldReference
	fieldRubric
	fieldFormat
)

func (f dataField) of(d *TemplateData) string {
	switch f {
	case fieldPrompt:
		return d.Prompt
	case fieldReference:
		return d.Reference
	case fieldRubric:
		return d.Rubric
	}
	return d.Format
}

func stringField(n parse.Node) (dataField, bool) {
	f, ok := n.(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 {
		return 0, false
	}
	switch f.Ident[0] {
	case "Prompt":
		return fieldPrompt, true
	case "Reference":
		return fieldReference, true
	case "Rubric":
		return fieldRubric, true
	case "Format":
		return fieldFormat, true
	}
	return 0, false
}

// simpleCommand returns the single command of a pipeline with no
// declarations, or nil.
func simpleCommand(p *parse.PipeNode) *parse.CommandNode {
	if p == nil || len(p.Decl) != 0 || len(p.Cmds) != 1 {
		return nil
	}
	return p.Cmds[0]
}

func compileList(l *parse.ListNode) ([]step, bool) {
	if l == nil {
		return nil, true
	}
	var prog []step
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			prog = append(prog, step{kind: stepText, text: string(n.Text)})
		case *parse.ActionNode:
			cmd := simpleCommand(n.Pipe)
			if cmd == nil {
				return nil, false
			}
			if len(cmd.Args) == 1 {
				f, ok := stringField(cmd.Args[0])
				if !ok {
					return nil, false
				}
				prog = append(prog, step{kind: stepField, field: f})
				continue
			}
			if len(cmd.Args) != 3 {
				return nil, false
			}
			id, ok1 := cmd.Args[0].(*parse.IdentifierNode)
			resp, ok2 := cmd.Args[1].(*parse.FieldNode)
			num, ok3 := cmd.Args[2].(*parse.NumberNode)
			if !ok1 || !ok2 || !ok3 || id.Ident != "index" || len(resp.Ident) != 1 || resp.Ident[0] != "Responses" || !num.IsInt || num.Int64 < 0 {
				return nil, false
			}
			prog = append(prog, step{kind: stepResponse, index: int(num.Int64)})
		case *parse.IfNode:
			cmd := simpleCommand(n.Pipe)
			if cmd == nil || len(cmd.Args) != 1 {
				return nil, false
			}
			f, ok := stringField(cmd.Args[0])
			if !ok {
				return nil, false
			}
			then, ok1 := compileList(n.List)
			els, ok2 := compileList(n.ElseList)
			if !ok1 || !ok2 {
				return nil, false
			}
			prog = append(prog, step{kind: stepIf, field: f, then: then, else_: els})
		default:
			return nil, false
		}
	}
	return prog, true
}

// execute renders the template with d.
func (c *compiledTemplate) execute(d TemplateData) (string, error) {
	if c.fast {
		var b strings.Builder
		b.Grow(stepsLen(c.prog, &d))
		if ok := runSteps(&b, c.prog, &d); ok {
			return b.String(), nil
		}
	}
	var b strings.Builder
	if err := c.tmpl.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// stepsLen is the length of prog's text (0 where a step cannot run).
func stepsLen(prog []step, d *TemplateData) int {
	n := 0
	for i := range prog {
		switch s := &prog[i]; s.kind {
		case stepText:
			n += len(s.text)
		case stepField:
			n += len(s.field.of(d))
		case stepResponse:
			if s.index < len(d.Responses) {
				n += len(d.Responses[s.index])
			}
		case stepIf:
			if s.field.of(d) != "" {
				n += stepsLen(s.then, d)
			} else {
				n += stepsLen(s.else_, d)
			}
		}
	}
	return n
}

// runSteps writes prog's text; false when a step cannot run (an index out
// of range), for text/template to report.
func runSteps(b *strings.Builder, prog []step, d *TemplateData) bool {
	for i := range prog {
		s := &prog[i]
		switch s.kind {
		case stepText:
			b.WriteString(s.text)
		case stepField:
			b.WriteString(s.field.of(d))
		case stepResponse:
			if s.index >= len(d.Responses) {
				return false
			}
			b.WriteString(d.Responses[s.index])
		case stepIf:
			branch := s.else_
			if s.field.of(d) != "" {
				branch = s.then
			}
			if !runSteps(b, branch, d) {
				return false
			}
		}
	}
	return true
}

// renderConversation is {{.Prompt}}: one "role: content" line per message.
func renderConversation(p prefdata.Prompt) string {
	var b strings.Builder
	n := 0
	for _, m := range p.Messages {
		n += len(m.Role) + len(m.Content) + 3
	}
	b.Grow(n)
	for _, m := range p.Messages {
		b.WriteString(m.Role)
		b.WriteString(": ")
		b.WriteString(m.Content)
		b.WriteByte('\n')
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
