package filter

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

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

// DefaultRefusalPatterns are the phrases [Refusal] looks for when given
// none, for the languages given (none: all of [RefusalLanguages]). They are
// matched case-insensitively near the start of a response, where a refusal
// states itself; the same words deep inside a long answer are usually a
// caveat, not a refusal. Each phrase says the model will not or cannot do
// the task ("I cannot help you with that", "lo siento, pero no puedo",
// "我无法提供"); phrases that also open helpful answers ("I apologize, but
// I couldn't find ...", "I'm unable to find ...") are left out.
func DefaultRefusalPatterns(langs ...string) []string { return byLanguage(refusalPhrases, langs) }

// DefaultRefusalPivots are the phrases after which a response that began
// with a refusal phrase goes on to help anyway ("However, I can provide",
// "Here are", "但是我可以", "voici"), for the languages given (none: all).
func DefaultRefusalPivots(langs ...string) []string { return byLanguage(refusalPivots, langs) }

// RefusalConfig configures [Refusal].
type RefusalConfig struct {
	// Patterns are matched case-insensitively; nil means
	// DefaultRefusalPatterns() (every language of RefusalLanguages).
	Patterns []string
	// Window is how many leading characters (runes) of a response are
	// searched (default 300; negative: the whole text).
	Window int
	// Pivots mark help that follows a refusal phrase: a response with a
	// pivot after its refusal phrase, followed by at least MinHelp
	// characters, is kept. Nil means DefaultRefusalPivots(); an empty,
	// non-nil slice turns pivots off.
	Pivots []string
	// MinHelp is how many words (as [CountWords] counts them: a Chinese
	// or Japanese character is one) must follow a pivot for it to count
	// (default 15), so "... but I can help with something else." is still
	// a refusal.
	MinHelp int
}

// Refusal drops responses that refuse the request: a response whose first
// Window characters contain one of the patterns, unless a pivot after it
// introduces at least MinHelp words of help. Phrases of Latin and
// Cyrillic scripts match whole words only ("i can't do that" is not found
// in "hi can't do that"), and a phrase opening a quotation or a line of
// dialogue is a character speaking. Text is compared in NFC, lowered, with curly
// quotes and full-width commas folded.
func Refusal(cfg RefusalConfig) prefdata.Filter {
	pats := cfg.Patterns
	if pats == nil {
		pats = DefaultRefusalPatterns()
	}
	pivots := cfg.Pivots
	if pivots == nil {
		pivots = DefaultRefusalPivots()
	}
	lower := foldAll(pats)
	lowerPivots := foldAll(pivots)
	window := cfg.Window
	if window == 0 {
		window = 300
	}
	minHelp := cfg.MinHelp
	if minHelp <= 0 {
		minHelp = 15
	}
	return prefdata.ResponseFilterFunc(NameRefusal, func(_ context.Context, _ prefdata.Prompt, r prefdata.Response) (string, error) {
		text := foldRefusal(r.Text)
		head := text
		if window > 0 {
			head = firstRunes(text, window)
		}
		for _, p := range lower {
			at := indexSaid(head, p)
			if at < 0 {
				continue
			}
			rest := text[at+len(p):]
			for _, pv := range lowerPivots {
				if k := indexWord(rest, pv); k >= 0 && CountWords(rest[k+len(pv):]) >= minHelp {
					return "", nil // a caveat, then help
				}
			}
			return fmt.Sprintf("refusal pattern %q", p), nil
		}
		return "", nil
	})
}

func foldAll(ps []string) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if p = foldRefusal(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

var refusalFolder = strings.NewReplacer("\u2019", "'", "\u2018", "'", "\uff0c", ",", "\u00a0", " ")

// foldRefusal is the form refusal phrases are compared in: NFC, lowered,
// curly quotes and full-width commas made ASCII.
func foldRefusal(s string) string {
	return refusalFolder.Replace(strings.ToLower(norm.NFC.String(s)))
}

// indexSaid is indexWord skipping matches that open a quotation or a line
// of dialogue ("\"I can't do that,\" she said", «Je ne peux pas faire ça»):
// a character speaking, not the model refusing.
func indexSaid(s, p string) int {
	for from := 0; from < len(s); {
		k := indexWord(s[from:], p)
		if k < 0 {
			return -1
		}
		at := from + k
		before := strings.TrimRight(s[:at], " \t")
		if r, _ := utf8.DecodeLastRuneInString(before); !strings.ContainsRune("\"\u201c\u00ab\u201e\u2014\u300c\u300e", r) || before == "" {
			return at
		}
		from = at + len(p)
	}
	return -1
}

// indexWord finds p in s where it is not glued to a letter of a script
// written with spaces on either side; -1 if nowhere.
func indexWord(s, p string) int {
	for from := 0; ; {
		k := strings.Index(s[from:], p)
		if k < 0 {
			return -1
		}
		at := from + k
		before, _ := utf8.DecodeLastRuneInString(s[:at])
		after, _ := utf8.DecodeRuneInString(s[at+len(p):])
		first, _ := utf8.DecodeRuneInString(p)
		last, _ := utf8.DecodeLastRuneInString(p)
		if !(spacedLetter(first) && spacedLetter(before)) && !(spacedLetter(last) && (spacedLetter(after) || after == '\'')) {
			return at
		}
		from = at + 1
	}
}

// spacedLetter reports whether r is a letter of a script written with
// spaces between words (not Han, kana, Thai, ...), or a digit.
func spacedLetter(r rune) bool {
	return (unicode.IsLetter(r) || unicode.IsDigit(r)) && !unspaced(r)
}

// unspaced reports whether r belongs to a script written without spaces
// between words, where each character counts as a word.
func unspaced(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar, unicode.Tibetan)
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
// least MinSpan words. A block of symbols only ("? ? ?", "_ _ _") in a
// response with at least 10 words is placeholders, not a loop. Texts written without spaces (Chinese, Japanese) are
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
		words := splitTokens(r.Text)
		period, repeats, at := findLoop(tokenIDs(words), cfg, placeholderSkip(words))
		if period == 0 {
			return "", nil
		}
		return fmt.Sprintf("a block of %d tokens repeated %d times from token %d", period, repeats, at), nil
	})
}

// tokenIDs numbers words, so that comparisons are integer compares.
func tokenIDs(words []string) []int {
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

// splitTokens cuts text into words, or characters for text without spaces.
func splitTokens(text string) []string {
	words := strings.Fields(text)
	if len(words) <= 2 && utf8.RuneCountInString(text) > 40 {
		words = words[:0]
		for _, r := range text {
			if !unicode.IsSpace(r) {
				words = append(words, string(r))
			}
		}
	}
	return words
}

// placeholderSkip returns the rule for loops of tokens without a letter or
// digit ("? ? ?", "_ _ _", "... ..."): placeholders or rules in an answer
// with at least placeholderWords words around them are not a loop; a
// response of little but such tokens is.
func placeholderSkip(words []string) func(start, period int) bool {
	n := 0
	for _, w := range words {
		if hasLetterOrDigit(w) {
			n++
		}
	}
	if n < placeholderWords {
		return nil
	}
	return func(start, period int) bool {
		for _, w := range words[start : start+period] {
			if hasLetterOrDigit(w) {
				return false
			}
		}
		return true
	}
}

// placeholderWords is how many words a response needs for a loop of
// symbols in it to be taken as placeholders.
const placeholderWords = 10

func hasLetterOrDigit(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// findLoop returns the shortest period whose back-to-back repetition meets
// cfg, how many copies it has and where it starts; period 0 means no loop.
// A loop whose block skip approves is passed over.
func findLoop(t []int, cfg RepetitionConfig, skip func(start, period int) bool) (period, repeats, at int) {
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
				if skip != nil && skip(start, p) {
					continue // placeholders; a later loop may still count
				}
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
	// MinWords and MaxWords count words separated by white space, and each
	// character of a script written without spaces (Chinese, Japanese
	// kana, Thai, ...) as one word, so that 48 Chinese characters are 48
	// words, not one.
	MinWords, MaxWords int
	// MinTokens and MaxTokens bound the completion tokens the server
	// counted (Usage.CompletionTokens, reasoning tokens excluded). A
	// response without a count fails a token bound, with a reason saying
	// so, rather than pass unchecked.
	MinTokens, MaxTokens int
}

// Length drops responses outside the configured bounds.
func Length(cfg LengthConfig) prefdata.Filter {
	return prefdata.ResponseFilterFunc(NameLength, func(_ context.Context, _ prefdata.Prompt, r prefdata.Response) (string, error) {
		text := strings.TrimSpace(r.Text)
		chars := utf8.RuneCountInString(text)
		words := CountWords(text)
		tokens := r.Usage.CompletionTokens - r.Usage.ReasoningTokens
		switch {
		case cfg.MinChars > 0 && chars < cfg.MinChars:
			return fmt.Sprintf("%d characters, fewer than %d", chars, cfg.MinChars), nil
		case cfg.MaxChars > 0 && chars > cfg.MaxChars:
			return fmt.Sprintf("%d characters, more than %d", chars, cfg.MaxChars), nil
		case cfg.MinWords > 0 && words < cfg.MinWords:
			return fmt.Sprintf("%d words, fewer than %d", words, cfg.MinWords), nil
		case cfg.MaxWords > 0 && words > cfg.MaxWords:
			return fmt.Sprintf("%d words, more than %d", words, cfg.MaxWords), nil
		case (cfg.MinTokens > 0 || cfg.MaxTokens > 0) && r.Usage.CompletionTokens <= 0:
			return "no completion token count to check the token bounds against", nil
		case cfg.MinTokens > 0 && tokens < cfg.MinTokens:
			return fmt.Sprintf("%d tokens, fewer than %d", tokens, cfg.MinTokens), nil
		case cfg.MaxTokens > 0 && tokens > cfg.MaxTokens:
			return fmt.Sprintf("%d tokens, more than %d", tokens, cfg.MaxTokens), nil
		}
		return "", nil
	})
}

// CountWords counts the words of text as [Length] does: runs of
// non-space characters, with each character of a script written without
// spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar, Tibetan)
// counting as a word of its own.
func CountWords(text string) int {
	n := 0
	inWord := false
	for _, r := range text {
		switch {
		case unicode.IsSpace(r):
			inWord = false
		case unspaced(r):
			n++
			inWord = false
		case !inWord:
			n++
			inWord = true
		}
	}
	return n
}
