package prompt_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prompt"
)

// BenchmarkDecontaminate checks one 40-word prompt against an evaluation
// set of 10,000 prompts, a tenth of them 3 to 7 words long, shorter than the n-gram (as in
// AlpacaEval, where 88 of 805 are). Run it with
//
//	go test -run '^$' -bench Decontaminate -benchtime 2000x ./prompt/
func BenchmarkDecontaminate(b *testing.B) {
	corpus := newSynthCorpus()
	var evals []prefdata.Prompt
	for i := range 10_000 {
		w := corpus.unique(i)
		if i%10 == 0 {
			w = w[:3+i%5] // 3 to 7 words
		}
		evals = append(evals, userPrompt(fmt.Sprint("e", i), strings.Join(w, " ")))
	}
	d := prompt.NewDecontaminator(8, evals...)
	text := strings.Join(append(corpus.unique(-1), append(corpus.unique(-2), corpus.unique(-3)...)...), " ")
	p := userPrompt("p", text)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if _, err := d.FilterPrompt(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}
