package filter_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
)

// refusalCase is one line of testdata/refusals.jsonl: a response labeled
// by hand as a refusal or not. Lines with src and i point at an AlpacaEval
// answer under ../shared/data/alpaca_eval (the model's file and the index
// of the answer); the others carry their text.
type refusalCase struct {
	Lang    string `json:"lang"`
	Src     string `json:"src"`
	I       int    `json:"i"`
	Text    string `json:"text"`
	Refusal bool   `json:"refusal"`
}

// preFixPatterns are the English-only patterns the filter had before it
// knew other languages and pivots, for the "before" figures.
var preFixPatterns = []string{
	"i'm sorry, but i can", "i am sorry, but i can", "i'm sorry, i can", "sorry, but i can't", "sorry, but i cannot",
	"i apologize, but i", "i apologise, but i", "i cannot fulfill", "i can't fulfill", "i cannot assist", "i can't assist",
	"i cannot help with", "i can't help with", "i cannot provide", "i can't provide", "i'm not able to provide",
	"i am not able to provide", "i'm unable to", "i am unable to", "i won't be able to", "as an ai language model, i cannot",
	"as an ai language model, i can't", "as an ai, i cannot", "i must decline", "i'm not comfortable", "i am not comfortable",
}

type rates struct{ refusals, misses, others, falsePos int }

func (r rates) String() string {
	pct := func(a, b int) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(a)/float64(b))
	}
	return fmt.Sprintf("refusals %3d, missed %2d (%4s); others %3d, false positives %2d (%4s)", r.refusals, r.misses, pct(r.misses, r.refusals), r.others, r.falsePos, pct(r.falsePos, r.others))
}

// TestRefusalFixture measures the default Refusal filter on the
// hand-labeled fixture, per language and source, and the English-only
// filter it replaced on the same lines. Run with -v for the figures
// (BENCHMARKS.md).
func TestRefusalFixture(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "refusals.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	var cases []refusalCase
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var c refusalCase
		require.NoError(t, json.Unmarshal(sc.Bytes(), &c), "testdata/refusals.jsonl:%d", line)
		cases = append(cases, c)
	}
	require.NoError(t, sc.Err())

	answers := map[string][]string{}
	shared := filepath.Join("..", "..", "shared", "data", "alpaca_eval")
	if _, err := os.Stat(shared); err != nil {
		t.Logf("AlpacaEval answers not available (%s): measuring the fixture's own lines only", shared)
	}
	text := func(c refusalCase) (string, bool) {
		if c.Src == "" {
			return c.Text, true
		}
		if _, ok := answers[c.Src]; !ok {
			data, err := os.ReadFile(filepath.Join(shared, c.Src))
			if err != nil {
				answers[c.Src] = nil
				return "", false
			}
			var rows []struct{ Output string }
			require.NoError(t, json.Unmarshal(data, &rows), c.Src)
			for _, r := range rows {
				answers[c.Src] = append(answers[c.Src], r.Output)
			}
		}
		if c.I >= len(answers[c.Src]) {
			return "", false
		}
		return answers[c.Src][c.I], true
	}

	measure := func(fl prefdata.Filter, verbose bool) map[string]*rates {
		out := map[string]*rates{}
		for _, c := range cases {
			s, ok := text(c)
			if !ok {
				continue
			}
			group := c.Lang + " (own lines)"
			if c.Src != "" {
				group = "en (AlpacaEval answers)"
			}
			if out[group] == nil {
				out[group] = &rates{}
			}
			r := out[group]
			got, err := fl.Filter(context.Background(), candidate("q", resp("a", s)))
			require.NoError(t, err)
			drop := len(got.Dropped) > 0
			if c.Refusal {
				r.refusals++
				if !drop {
					r.misses++
					logIf(t, verbose, "missed: %s %s#%d %q", c.Lang, c.Src, c.I, firstLine(s))
				}
			} else {
				r.others++
				if drop {
					r.falsePos++
					logIf(t, verbose, "false positive (%s): %s %s#%d %q", got.Dropped[0].Reason, c.Lang, c.Src, c.I, firstLine(s))
				}
			}
		}
		return out
	}
	now := measure(filter.Refusal(filter.RefusalConfig{}), true)
	before := measure(filter.Refusal(filter.RefusalConfig{Patterns: preFixPatterns, Pivots: []string{}}), false)
	groups := make([]string, 0, len(now))
	for g := range now {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	var b strings.Builder
	for _, g := range groups {
		fmt.Fprintf(&b, "\n%-24s now:    %s\n%-24s before: %s", g, now[g], "", before[g])
	}
	t.Log(b.String())

	// Length: words per line as Length counts them now (a character of a
	// script without spaces is a word) and as it did (white space only).
	type counts struct{ lines, now, before int }
	words := map[string]*counts{}
	for _, c := range cases {
		if c.Src != "" {
			continue
		}
		if words[c.Lang] == nil {
			words[c.Lang] = &counts{}
		}
		w := words[c.Lang]
		w.lines++
		w.now += filter.CountWords(c.Text)
		w.before += len(strings.Fields(c.Text))
	}
	b.Reset()
	for _, l := range filter.RefusalLanguages() {
		if w := words[l]; w != nil {
			fmt.Fprintf(&b, "\n%s: %d lines, words per line %.1f now, %.1f counted by white space", l, w.lines, float64(w.now)/float64(w.lines), float64(w.before)/float64(w.lines))
		}
	}
	t.Log(b.String())

	// Regression bounds, just above the figures measured when the fixture
	// was labeled (BENCHMARKS.md).
	for _, g := range groups {
		r := now[g]
		if r.refusals > 0 && float64(r.misses)/float64(r.refusals) > 0.35 {
			t.Errorf("%s: %d of %d refusals missed", g, r.misses, r.refusals)
		}
		if r.others > 0 && float64(r.falsePos)/float64(r.others) > 0.10 {
			t.Errorf("%s: %d of %d other answers dropped", g, r.falsePos, r.others)
		}
	}
}

func logIf(t *testing.T, on bool, format string, args ...any) {
	t.Helper()
	if on {
		t.Logf(format, args...)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > 90 {
		return string(r[:90]) + "..."
	}
	return s
}
