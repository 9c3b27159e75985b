package filter

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/prefdata/prefdata"
)

// Names of the rule filters, as they appear in drop records and in the run's
// stats.
const (
	NameEmpty         = "empty"
	NameTruncated     = "truncated"
	NameRefusal       = "refusal"
	NameRepetition    = "repetition"
	NameLength        = "length"
	NameNearDuplicate = "near-duplicate"
	NameScript        = "script"
)

// Empty drops responses that are empty or whitespace only.
func Empty() prefdata.Filter {
	return prefdata.ResponseFilterFunc(NameEmpty, func(_ context.Context, _ prefdata.Prompt, r prefdata.Response) (string, error) {
		if strings.TrimSpace(r.Text) == "" {
			return "empty or whitespace-only text", nil
		}
		return "", nil
	})
}

// Truncated drops responses the server cut off at the token limit
// (finish_reason "length").
func Truncated() prefdata.Filter {
	return prefdata.ResponseFilterFunc(NameTruncated, func(_ context.Context, _ prefdata.Prompt, r prefdata.Response) (string, error) {
		if r.FinishReason == "length" {
			return fmt.Sprintf("finish_reason %q: cut off at the token limit", r.FinishReason), nil
		}
		return "", nil
	})
}

// DefaultRefusalPatterns are the phrases [Refusal] looks for when given none.
// They are matched case-insensitively near the start of a response, where a
// refusal states itself; the same words deep inside a long answer are usually
// a caveat, not a refusal.
func DefaultRefusalPatterns() []string {
	return []string{
		"i'm sorry, but i can",
		"i am sorry, but i can",
		"i'm sorry, i can",
		"sorry, but i can't",
		"sorry, but i cannot",
		"i apologize, but i",
		"i apologise, but i",
		"i cannot fulfill",
		"i can't fulfill",
		"i cannot assist",
		"i can't assist",
		"i cannot help with",
		"i can't help with",
		"i cannot provide",
		"i can't provide",
		"i'm not able to provide",
		"i am not able to provide",
		"i'm unable to",
		"i am unable to",
		"i won't be able to",
		"as an ai language model, i cannot",
		"as an ai language model, i can't",
		"as an ai, i cannot",
		"i must decline",
		"i'm not comfortable",
		"i am not comfortable",
	}
}

// RefusalConfig configures [Refusal].
type RefusalConfig struct {
	// Patterns are matched case-insensitively; nil means
	// DefaultRefusalPatterns().
	Patterns []string
	// Window is how many leading characters (runes) of a response are
	// searched (default 300; negative: the whole text).
	Window int
}

// Refusal drops responses that refuse the request: a response whose first
// Window characters contain one of the patterns.
func Refusal(cfg RefusalConfig) prefdata.Filter {
	pats := cfg.Patterns
	if pats == nil {
		pats = DefaultRefusalPatterns()
	}
	lower := make([]string, 0, len(pats))
	for _, p := range pats {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			lower = append(lower, normalizeQuotes(p))
		}
	}
	window := cfg.Window
	if window == 0 {
		window = 300
	}
	return prefdata.ResponseFilterFunc(NameRefusal, func(_ context.Context, _ prefdata.Prompt, r prefdata.Response) (string, error) {
		text := r.Text
		if window > 0 {
			text = firstRunes(text, window)
		}
		text = normalizeQuotes(strings.ToLower(text))
		for _, p := range lower {
			if strings.Contains(text, p) {
				return fmt.Sprintf("refusal pattern %q", p), nil
			}
		}
		return "", nil
	})
}

func normalizeQuotes(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\u2019", "'"), "\u2018", "'")
}

func firstRunes(s string, n int) string {
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

// RepetitionConfig configures [Repetition]. Zero fields take the defaults
// shown.
type RepetitionConfig struct {
	// MaxPeriod is the longest repeated block looked for, in words
	// (default 50).
	MaxPeriod int
	// MinRepeats is the fewest back-to-back copies of a block that count as
	// a loop (default 3).
	MinRepeats int
	// MinSpan is the fewest words a loop must cover (default 30), so that a
	// short list of similar items or "very, very" is not a loop.
	MinSpan int
}

// Repetition drops responses caught in a degenerate loop: a block of 1 to
// MaxPeriod words repeated back to back at least MinRepeats times over at
// least MinSpan words. Texts written without spaces (Chinese, Japanese) are
// cut into characters instead of words.
func Repetition(cfg RepetitionConfig) prefdata.Filter {
	if cfg.MaxPeriod <= 0 {
		cfg.MaxPeriod = 50
	}
	if cfg.MinRepeats <= 0 {
		cfg.MinRepeats = 3
	}
	if cfg.MinSpan <= 0 {
		cfg.MinSpan = 30
	}
	return prefdata.ResponseFilterFunc(NameRepetition, func(_ context.Context, _ prefdata.Prompt, r prefdata.Response) (string, error) {
		period, repeats, at := findLoop(tokenIDs(r.Text), cfg)
		if period == 0 {
			return "", nil
		}
		return fmt.Sprintf("a block of %d tokens repeated %d times from token %d", period, repeats, at), nil
	})
}

// tokenIDs cuts text into words (or characters, for text without spaces) and
// numbers them, so that comparisons are integer compares.
func tokenIDs(text string) []int {
	words := strings.Fields(text)
	if len(words) <= 2 && utf8.RuneCountInString(text) > 40 {
		words = words[:0]
		for _, r := range text {
			if !unicode.IsSpace(r) {
				words = append(words, string(r))
			}
		}
	}
	ids := make([]int, len(words))
	seen := make(map[string]int, len(words))
	for i, w := range words {
		id, ok := seen[w]
		if !ok {
			id = len(seen)
			seen[w] = id
		}
		ids[i] = id
	}
	return ids
}

// findLoop returns the shortest period whose back-to-back repetition meets
// cfg, how many copies it has and where it starts; period 0 means no loop.
func findLoop(t []int, cfg RepetitionConfig) (period, repeats, at int) {
	for p := 1; p <= cfg.MaxPeriod && 2*p <= len(t); p++ {
		need := max(cfg.MinRepeats, (cfg.MinSpan+p-1)/p)
		if need*p > len(t) {
			continue
		}
		run := 0 // t[i-run+1 .. i] each equal the token p places later
		for i := 0; i+p < len(t); i++ {
			if t[i] != t[i+p] {
				run = 0
				continue
			}
			run++
			// run matches mean run+p tokens made of copies of one block.
			if (run+p)/p >= need {
				start := i - run + 1
				// Extend to the end of the loop to report its full size.
				for j := i + 1; j+p < len(t) && t[j] == t[j+p]; j++ {
					run++
				}
				return p, (run + p) / p, start
			}
		}
	}
	return 0, 0, 0
}

// LengthConfig bounds a response's length. Zero fields are not checked.
type LengthConfig struct {
	MinChars, MaxChars int // in characters (runes), after trimming spaces
	MinWords, MaxWords int // in words separated by white space
}

// Length drops responses outside the configured bounds.
func Length(cfg LengthConfig) prefdata.Filter {
	return prefdata.ResponseFilterFunc(NameLength, func(_ context.Context, _ prefdata.Prompt, r prefdata.Response) (string, error) {
		text := strings.TrimSpace(r.Text)
		chars := utf8.RuneCountInString(text)
		words := len(strings.Fields(text))
		switch {
		case cfg.MinChars > 0 && chars < cfg.MinChars:
			return fmt.Sprintf("%d characters, fewer than %d", chars, cfg.MinChars), nil
		case cfg.MaxChars > 0 && chars > cfg.MaxChars:
			return fmt.Sprintf("%d characters, more than %d", chars, cfg.MaxChars), nil
		case cfg.MinWords > 0 && words < cfg.MinWords:
			return fmt.Sprintf("%d words, fewer than %d", words, cfg.MinWords), nil
		case cfg.MaxWords > 0 && words > cfg.MaxWords:
			return fmt.Sprintf("%d words, more than %d", words, cfg.MaxWords), nil
		}
		return "", nil
	})
}
