package filter

import (
	"strings"
	"sync"
	"testing"

	"github.com/prefdata/prefdata"
)

// Parsed templates are kept by their text: two templates that differ only
// in text render their own text, also when rendered concurrently and again.
func TestTemplateRenderCachedByText(t *testing.T) {
	d := TemplateData{Prompt: "user: q\n", Responses: []string{"a", "b"}, Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: "q"}}}
	tmpls := []Template{{User: "one {{index .Responses 0}}"}, {User: "two {{index .Responses 1}}"}, {System: "s", User: "one {{index .Responses 0}}"}}
	want := [][]string{{"one a"}, {"two b"}, {"s", "one a"}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, tm := range tmpls {
				msgs, err := tm.Render(d)
				if err != nil {
					t.Error(err)
					return
				}
				if len(msgs) != len(want[i]) {
					t.Errorf("template %d: %d messages, want %d", i, len(msgs), len(want[i]))
					continue
				}
				for k, m := range msgs {
					if m.Content != want[i][k] {
						t.Errorf("template %d message %d: %q, want %q", i, k, m.Content, want[i][k])
					}
				}
			}
		}()
	}
	wg.Wait()
	if _, err := (Template{User: "{{.Nope"}).Render(d); err == nil {
		t.Error("a template that does not parse rendered")
	}
}

func BenchmarkTemplateRender(b *testing.B) {
	tm := DefaultPairwiseTemplate()
	d := TemplateData{Prompt: "user: q\n", Responses: []string{"a", "b"}, Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: "q"}}}
	b.ReportAllocs()
	for range b.N {
		if _, err := tm.Render(d); err != nil {
			b.Fatal(err)
		}
	}
}

// The compiled steps give the very text text/template gives, for the
// default templates and for templates of the shapes they compile (fields,
// {{index .Responses N}}, if/else if/else on a field), on data with and
// without a reference and rubric and with template syntax in the texts;
// templates of other shapes, and an index out of range, go through
// text/template, whose error Render still returns.
func TestTemplateCompiledMatchesTextTemplate(t *testing.T) {
	tmpls := []Template{
		DefaultPairwiseTemplate(), DefaultRubricTemplate(StyleSingle), DefaultRubricTemplate(StyleAspects),
		{User: "{{if .Reference}}R={{.Reference}}{{else if .Rubric}}U={{.Rubric}}{{else}}none{{end}} {{index .Responses 1}}|{{.Format}}|{{.Prompt}}"},
		{User: "  {{- .Rubric -}}  \n x {{ index .Responses 0 }}"},
		{User: "{{range .Messages}}{{.Role}}: {{.Content}}{{end}} {{letter 1}}"}, // not compiled
		{User: "{{with .Rubric}}{{.}}{{end}}{{/* a comment */}}"},                // not compiled
		{User: "{{if .Responses}}has{{end}} {{printf \"%q\" .Prompt}}"},          // not compiled
	}
	data := []TemplateData{
		{Prompt: "user: q\n", Responses: []string{"a", "b"}, Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: "q"}}},
		{Prompt: "system: s\nuser: {{.Rubric}} <&>\n", Responses: []string{"{{index .Responses 1}}", "é\x00\u2028"}, Reference: "ref {{.Prompt}}", Rubric: "facts first", Format: "say [[A]]"},
		{Responses: []string{"", ""}, Rubric: "r"},
	}
	compiled := 0
	for i, tm := range tmpls {
		for _, part := range []string{tm.System, tm.User} {
			if part == "" {
				continue
			}
			c, err := parseTemplate("User", part)
			if err != nil {
				t.Fatal(err)
			}
			if c.fast {
				compiled++
			}
			for k, d := range data {
				var want strings.Builder
				if err := c.tmpl.Execute(&want, d); err != nil {
					t.Fatalf("template %d data %d: %v", i, k, err)
				}
				got, err := c.execute(d)
				if err != nil || got != want.String() {
					t.Errorf("template %d data %d (compiled %v): %q, %v; text/template %q", i, k, c.fast, got, err, want.String())
				}
			}
		}
	}
	if compiled != 8 { // the three defaults' system and user texts, and the two compiled shapes
		t.Errorf("%d texts compiled, want 8", compiled)
	}
	for _, tm := range tmpls[5:] {
		if c, _ := parseTemplate("User", tm.User); c.fast {
			t.Errorf("%q compiled, but it uses what the steps do not know", tm.User)
		}
	}
	// An index out of range is text/template's error.
	_, err := Template{User: "{{index .Responses 2}}"}.Render(TemplateData{Responses: []string{"a"}})
	if err == nil || !strings.Contains(err.Error(), "index out of range") {
		t.Errorf("index out of range: %v", err)
	}
}
