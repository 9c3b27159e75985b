package filter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors of judge-reply parsing, matched with errors.Is. Every parse error is
// a [*ParseError] that also keeps the raw reply.
var (
	// ErrNoVerdict: the reply holds no rating or verdict in the expected form.
	ErrNoVerdict = errors.New("no verdict in judge reply")
	// ErrContradictory: the reply holds two different ratings or verdicts.
	ErrContradictory = errors.New("contradictory verdicts in judge reply")
	// ErrTruncated: the reply ends inside a rating or verdict ("Rating: [[1"
	// could be 1 or 10), or on the "[" that opens one, so no value can be
	// trusted.
	ErrTruncated = errors.New("judge reply cut off inside its verdict")
	// ErrOutOfRange: the rating is outside the judge's scale.
	ErrOutOfRange = errors.New("rating out of range")
)

// ParseError is a judge reply that could not be parsed, with the reply.
type ParseError struct {
	Kind   error  // ErrNoVerdict, ErrContradictory, ErrTruncated or ErrOutOfRange
	Detail string // what was found, briefly
	Raw    string // the whole reply
}

func (e *ParseError) Error() string {
	msg := e.Kind.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return fmt.Sprintf("%s (reply %q)", msg, tail(e.Raw, replyExcerpt))
}

// replyExcerpt is how many runes of the end of a reply a ParseError's
// message shows.
const replyExcerpt = 80

func (e *ParseError) Unwrap() error { return e.Kind }

// tail returns the last n runes of s, marked when cut.
func tail(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "..." + string(r[len(r)-n:])
}

// bracket is one "[[...]]" found in a reply: its inner text, whether it was
// closed, and where it starts.
type bracket struct {
	inner  string
	closed bool
	at     int
}

// brackets returns every "[[" in text with what follows up to the next "]]"
// (at most maxInner bytes; longer runs are not verdicts and are skipped).
func brackets(text string, maxInner int) []bracket {
	var out []bracket
	for i := 0; ; {
		k := strings.Index(text[i:], "[[")
		if k < 0 {
			return out
		}
		start := i + k
		rest := text[start+2:]
		for strings.HasPrefix(rest, "[") { // "[[[7]]" reads as "[[7]]"
			rest = rest[1:]
			start++
		}
		end := strings.Index(rest, "]]")
		switch {
		case end >= 0 && strings.Contains(rest[:end], "[["):
			// "[[Wait, [[B]]": the first "[[" never closes; the next one
			// may hold a verdict, so look again from it.
			i = start + 2
		case end >= 0 && end <= maxInner:
			out = append(out, bracket{inner: rest[:end], closed: true, at: start})
			i = start + 2 + end + 2
		case end < 0 && len(strings.TrimRight(rest, " ]\n\t")) <= maxInner && !strings.Contains(rest, "[["):
			// Runs to the end of the reply without closing: a cut-off
			// candidate, if its text fits the form (checked by the caller).
			out = append(out, bracket{inner: strings.TrimRight(rest, " ]\n\t"), at: start})
			return out
		default:
			i = start + 2
		}
	}
}

// number reads an optionally signed decimal number filling s (spaces
// around allowed): digits with at most one point, not first. Other forms
// strconv.ParseFloat takes ("NaN", "inf", "1e1", "0x1p3") are not ratings.
func number(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	digits := s
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		digits = s[1:]
	}
	if digits == "" || digits[0] == '.' || strings.Count(digits, ".") > 1 ||
		strings.TrimLeft(digits, "0123456789.") != "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// numberPrefix reports whether s could be the start of a number.
func numberPrefix(s string) bool {
	s = strings.TrimSpace(s)
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '.':
		case (r == '+' || r == '-') && i == 0:
		default:
			return false
		}
	}
	return true
}

// ParseRating reads a single rating written as "[[N]]" (MT-Bench style:
// "Rating: [[7]]"; plain decimals allowed, not "NaN" or "1e1"). The rating
// may appear several times if it is the same each time. No rating, two
// different ratings, or a reply cut off inside a rating ("Rating: [[1") or
// on the "[" that opens one is a *ParseError, never a guess.
func ParseRating(text string) (float64, error) {
	return scanVerdicts(text, 16, "rating", `no "[[N]]" rating`, number, numberPrefix)
}

// scanVerdicts finds the one value that text states in "[[...]]" form:
// read parses a bracket's inner text (false: not this form, skipped), and
// prefix says whether an unclosed inner text could be the start of one. It
// refuses to guess: no value, two different values, or a reply that ends
// inside one (or on the "[" that would open one) is a *ParseError.
func scanVerdicts[T comparable](text string, maxInner int, noun, none string, read func(inner string) (T, bool), prefix func(inner string) bool) (T, error) {
	var zero, v T
	var first string
	found := false
	if end := strings.TrimRight(text, " \t\r\n"); strings.HasSuffix(end, "[") && !strings.HasSuffix(end, "[[") {
		return zero, &ParseError{Kind: ErrTruncated, Detail: `reply ends with "["`, Raw: text}
	}
	for _, b := range brackets(text, maxInner) {
		if !b.closed {
			if prefix(b.inner) {
				return zero, &ParseError{Kind: ErrTruncated, Detail: "reply ends with " + strconv.Quote(strings.TrimSpace(text[b.at:])), Raw: text}
			}
			continue
		}
		w, ok := read(b.inner)
		if !ok {
			continue
		}
		if !found {
			first, v, found = "[["+b.inner+"]]", w, true
			continue
		}
		if w != v {
			return zero, &ParseError{Kind: ErrContradictory, Detail: fmt.Sprintf("%ss %s and [[%s]]", noun, first, b.inner), Raw: text}
		}
	}
	if !found {
		return zero, &ParseError{Kind: ErrNoVerdict, Detail: none, Raw: text}
	}
	return v, nil
}

// Verdict is a parsed pairwise verdict.
type Verdict struct {
	// Label is the canonical verdict: "A", "B" or "C" (tie) in the
	// three-way form; "A>>B", "A>B", "A=B", "B>A" or "B>>A" in Arena-Hard's
	// five-level form.
	Label string `json:"label"`
	// Preference is in [-1, 1]: positive for A, negative for B, 0 for a
	// tie. "A", "A>>B" are 1; "A>B" is 0.5; "B>A" -0.5; "B", "B>>A" -1.
	Preference float64 `json:"preference"`
}

// verdictKey removes spaces from a verdict's inner text.
func verdictKey(s string) string { return strings.Join(strings.Fields(s), "") }

func knownVerdict(key string) bool {
	switch key {
	case "A", "B", "C", "tie", "Tie", "A>>B", "A>B", "A=B", "B>A", "B>>A", "A<<B", "A<B", "B<A", "B<<A", "B=A":
		return true
	}
	return false
}

// verdictPrefix reports whether key could be the start of a verdict.
func verdictPrefix(key string) bool {
	for _, v := range []string{"A>>B", "A>B", "A=B", "B>A", "B>>A", "A<<B", "A<B", "B<A", "B<<A", "B=A", "tie", "Tie", "C"} {
		if strings.HasPrefix(v, key) {
			return true
		}
	}
	return false
}

// ParseVerdict reads a pairwise verdict: "[[A]]", "[[B]]" or "[[C]]" (tie;
// "[[tie]]" is read as C), or Arena-Hard's "[[A>>B]]", "[[A>B]]",
// "[[A=B]]", "[[B>A]]", "[[B>>A]]" (and the same with "<"). The verdict may
// be repeated if it is the same each time. No verdict, two different
// verdicts, or a reply cut off inside a verdict (or on the "[" that opens
// one) is a *ParseError.
func ParseVerdict(text string) (Verdict, error) {
	read := func(inner string) (Verdict, bool) {
		key := verdictKey(inner)
		if !knownVerdict(key) {
			return Verdict{}, false
		}
		return canonicalVerdict(key), true
	}
	prefix := func(inner string) bool { return verdictPrefix(verdictKey(inner)) }
	return scanVerdicts(text, 12, "verdict", `no "[[A]]"/"[[B]]"/"[[C]]" or "[[A>B]]"-style verdict`, read, prefix)
}

func canonicalVerdict(s string) Verdict {
	s = strings.Join(strings.Fields(s), "")
	switch s {
	case "A":
		return Verdict{"A", 1}
	case "B":
		return Verdict{"B", -1}
	case "C", "tie", "Tie":
		return Verdict{"C", 0}
	case "A>>B", "B<<A":
		return Verdict{"A>>B", 1}
	case "A>B", "B<A":
		return Verdict{"A>B", 0.5}
	case "A=B", "B=A":
		return Verdict{"A=B", 0}
	case "B>A", "A<B":
		return Verdict{"B>A", -0.5}
	default: // "B>>A", "A<<B"
		return Verdict{"B>>A", -1}
	}
}
