package prompt_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prompt"
)

// FuzzReader checks that any input ends in io.EOF or an error, never a
// panic or a loop, and that every prompt returned has an ID, a user turn
// and valid size.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		badInput,
		`[{"instruction": "a"}, {"instruction": 1}]`,
		`{"chosen": "\n\nHuman: hi\n\nAssistant: yo", "rejected": "\n\nHuman: hi\n\nAssistant: no"}`,
		`{"conversations": [{"from": "human", "value": "x"}]}`,
		"\xEF\xBB\xBF{\"prompt\": \"bom\"}\n",
		`{"turns": []}`, `[`, `]`, `{}`, "null\n", `"just a string"`,
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in string, skip bool) {
		r := prompt.NewReader(strings.NewReader(in), prompt.ReaderConfig{SkipBad: skip, MaxPromptBytes: 1000, MaxLineBytes: 4000})
		for i := 0; ; i++ {
			if i > len(in)+2 {
				t.Fatalf("more results than input bytes: a loop")
			}
			p, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				return
			}
			var ie *prefdata.ItemError
			if errors.As(err, &ie) {
				if !skip {
					t.Fatalf("item error in strict mode: %v", err)
				}
				continue
			}
			if err != nil {
				return
			}
			if p.ID == "" || strings.TrimSpace(p.Text()) == "" {
				t.Fatalf("prompt without ID or user text: %+v", p)
			}
		}
	})
}

func FuzzParsers(f *testing.F) {
	f.Add("Category: open_qa", "1. a\n2) b\n- c")
	f.Add("", "")
	f.Add("**x**", "Instruction 3: y")
	f.Fuzz(func(t *testing.T, a, b string) {
		if c, ok := prompt.ParseCategory(a, prompt.DefaultTaxonomy()); ok && c == "" {
			t.Fatal("ok with an empty category")
		}
		for _, item := range prompt.ParseList(b) {
			if strings.TrimSpace(item) == "" {
				t.Fatal("empty item")
			}
		}
		if s := prompt.RougeL(a, b); s < 0 || s > 1 || s != prompt.RougeL(b, a) {
			t.Fatalf("RougeL out of range or asymmetric: %v", s)
		}
	})
}
