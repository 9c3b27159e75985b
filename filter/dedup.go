package filter

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/prefdata/prefdata"
	"golang.org/x/text/unicode/norm"
)

// NearDuplicateConfig configures [NearDuplicate].
type NearDuplicateConfig struct {
	// Threshold is the Jaccard similarity of word 3-gram sets at or above
	// which two responses are near duplicates (default 0.9; 1 keeps all but
	// exact copies after normalization).
	Threshold float64
	// Shingle is the n-gram size in words (default 3).
	Shingle int
}

// NearDuplicate drops a response identical or nearly identical to an earlier
// response of the same prompt (earlier in the candidate's order, so the
// first of a group of copies stays). Texts are compared after lowering
// letters and removing punctuation, by the Jaccard similarity of their word
// n-gram sets; texts shorter than one n-gram only match an exact copy
// (spaces and case aside).
func NearDuplicate(cfg NearDuplicateConfig) prefdata.Filter {
	if cfg.Threshold <= 0 {
		cfg.Threshold = 0.9
	}
	if cfg.Shingle <= 0 {
		cfg.Shingle = 3
	}
	return prefdata.Named(NameNearDuplicate, prefdata.FilterFunc(func(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
		sets := make([]map[uint64]struct{}, len(c.Responses))
		short := make([]string, len(c.Responses)) // normalized text of responses too short to shingle
		for i, r := range c.Responses {
			sets[i] = shingles(r.Text, cfg.Shingle)
			if sets[i] == nil {
				short[i] = strings.ToLower(strings.Join(strings.Fields(norm.NFC.String(r.Text)), " "))
			}
		}
		out := c
		dropped := make([]bool, len(c.Responses))
		for i := range c.Responses {
			for j := 0; j < i; j++ {
				if dropped[j] {
					continue
				}
				if sets[i] == nil || sets[j] == nil {
					// Too short for n-grams: only an exact copy counts.
					if sets[i] == nil && sets[j] == nil && short[i] == short[j] {
						dropped[i] = true
						out = out.Without(c.Responses[i].ID, NameNearDuplicate, "copy of "+c.Responses[j].ID)
						break
					}
					continue
				}
				if sim := jaccard(sets[i], sets[j]); sim >= cfg.Threshold {
					dropped[i] = true
					out = out.Without(c.Responses[i].ID, NameNearDuplicate,
						fmt.Sprintf("near duplicate of %s (Jaccard %.2f >= %.2f)", c.Responses[j].ID, sim, cfg.Threshold))
					break
				}
			}
		}
		return out, nil
	}))
}

// shingles returns the set of hashed word n-grams of text after
// normalization, or nil when text has fewer than n words (such texts are
// compared whole). Hashes stand in for the n-grams: 64-bit FNV-1a makes a
// collision between two answers' n-grams vanishingly rare.
func shingles(text string, n int) map[uint64]struct{} {
	// NFC first: in NFD an accented letter is a letter and a combining
	// mark, and the mark would split the word in two.
	words := strings.FieldsFunc(strings.ToLower(norm.NFC.String(text)), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
	if len(words) < n {
		return nil
	}
	set := make(map[uint64]struct{}, len(words))
	for i := 0; i+n <= len(words); i++ {
		h := fnv.New64a()
		for _, w := range words[i : i+n] {
			h.Write([]byte(w))
			h.Write([]byte{0})
		}
		set[h.Sum64()] = struct{}{}
	}
	return set
}

func jaccard(a, b map[uint64]struct{}) float64 {
	if len(a) > len(b) {
		a, b = b, a
	}
	inter := 0
	for k := range a {
		if _, ok := b[k]; ok {
			inter++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 1
	}
	return float64(inter) / float64(union)
}

// ScriptConfig configures [Script].
type ScriptConfig struct {
	// MinLetters is the fewest letters a text needs before its script is
	// judged (default 20); shorter prompts or responses are kept.
	MinLetters int
	// MinShare is the share of letters the main script must have for a text
	// to count as written in it (default 0.6); mixed texts are kept.
	MinShare float64
}

// Script drops a response written mainly in another script than its prompt
// (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, Hangul, Chinese
// or Japanese), a cheap stand-in for "answered in another language". Prompts
// that ask for a translation into another script should not go through it.
func Script(cfg ScriptConfig) prefdata.Filter {
	if cfg.MinLetters <= 0 {
		cfg.MinLetters = 20
	}
	if cfg.MinShare <= 0 {
		cfg.MinShare = 0.6
	}
	return prefdata.ResponseFilterFunc(NameScript, func(_ context.Context, p prefdata.Prompt, r prefdata.Response) (string, error) {
		ps, ok := MainScript(p.Text(), cfg.MinLetters, cfg.MinShare)
		if !ok {
			return "", nil
		}
		rs, ok := MainScript(r.Text, cfg.MinLetters, cfg.MinShare)
		if !ok || rs == ps {
			return "", nil
		}
		return fmt.Sprintf("written in %s, the prompt in %s", rs, ps), nil
	})
}

type scriptTable struct {
	name  string
	table *unicode.RangeTable
}

func scriptTables() []scriptTable {
	return []scriptTable{
		{"Latin", unicode.Latin},
		{"Cyrillic", unicode.Cyrillic},
		{"Greek", unicode.Greek},
		{"Arabic", unicode.Arabic},
		{"Hebrew", unicode.Hebrew},
		{"Devanagari", unicode.Devanagari},
		{"Thai", unicode.Thai},
		{"Hangul", unicode.Hangul},
		{"Japanese", unicode.Hiragana},
		{"Japanese", unicode.Katakana},
		{"Han", unicode.Han},
	}
}

// MainScript returns the script most of text's letters are written in, and
// false when text has fewer than minLetters letters or no script has
// minShare of them. Japanese text (kana with or without kanji) is
// "Japanese", Chinese is "Han".
func MainScript(text string, minLetters int, minShare float64) (string, bool) {
	scripts := scriptTables()
	counts := map[string]int{}
	total := 0
	for _, r := range text {
		if !unicode.IsLetter(r) {
			continue
		}
		total++
		if r < utf8.RuneSelf { // an ASCII letter
			counts["Latin"]++
			continue
		}
		for _, s := range scripts {
			if unicode.Is(s.table, r) {
				counts[s.name]++
				break
			}
		}
	}
	if total < minLetters || total == 0 {
		return "", false
	}
	if counts["Japanese"] > 0 { // kanji in Japanese text are Han letters
		counts["Japanese"] += counts["Han"]
		delete(counts, "Han")
	}
	best, bestN := "", 0
	for _, s := range scripts {
		if n := counts[s.name]; n > bestN {
			best, bestN = s.name, n
		}
	}
	if float64(bestN)/float64(total) < minShare {
		return "", false
	}
	return best, true
}
