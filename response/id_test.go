package response

import (
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
)

func TestIDMakerMatchesResponseID(t *testing.T) {
	samplings := []prefdata.Sampling{
		{},
		{Temperature: prefdata.Float(0), TopP: prefdata.Float(0.95), MaxTokens: 300, Seed: prefdata.Int(-4), Stop: []string{"</s>", "\n\n"}, Logprobs: true, TopLogprobs: 5},
	}
	ids := []string{"", "p-0011223344556677", "file.jsonl:17", "<script>&amp;", "\u2028\u2029", "\xff\xfe invalid", strings.Repeat("long ", 200), "émoji 🎉"}
	systems := []string{"", "Be honest.", "Use <tags> & \"quotes\"."}
	for _, s := range samplings {
		for _, model := range []string{"gpt-4o-mini", "org/Model<1>"} {
			m := newIDMaker(model, s)
			if !m.fast {
				t.Fatalf("fast path disabled for model %q", model)
			}
			for _, id := range ids {
				for _, sys := range systems {
					for _, i := range []int{0, 1, 12} {
						if got, want := m.id(id, sys, i), prefdata.ResponseID(id, model, sys, s, i); got != want {
							t.Errorf("id(%q, %q, %d) = %s, want %s", id, sys, i, got, want)
						}
					}
				}
			}
		}
	}
}
