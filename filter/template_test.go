package filter

import (
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
