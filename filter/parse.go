package filter

import (
	"errors"
	"fmt"
	"regexp"
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
	// could be 1 or 10), so no value can be trusted.
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
	return fmt.Sprintf("%s (reply %q)", msg, tail(e.Raw, 80))
}

func (e *ParseError) Unwrap() error { return e.Kind }

// tail returns the last n runes of s, marked when cut.
func tail(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "..." + string(r[len(r)-n:])
}

// Each parser compiles its patterns on call: they are cheap next to a judge
// call, and the package keeps no state.

func ratingPatterns() (full, cut *regexp.Regexp) {
	full = regexp.MustCompile(`\[\[\s*([+-]?[0-9]+(?:\.[0-9]+)?)\s*\]\]`)
	// A rating opened at the very end of the reply and never closed.
	cut = regexp.MustCompile(`\[\[\s*[+-]?[0-9.]*\s*\]?\s*$`)
	return full, cut
}

// ParseRating reads a single rating written as "[[N]]" (MT-Bench style:
// "Rating: [[7]]"; decimals allowed). The rating may appear several times if
// it is the same each time. No rating, two different ratings, or a rating cut
// off at the end of the reply ("Rating: [[1") is a *ParseError, never a
// guess.
func ParseRating(text string) (float64, error) {
	full, cut := ratingPatterns()
	if cut.MatchString(text) {
		return 0, &ParseError{Kind: ErrTruncated, Detail: "reply ends with " + strconv.Quote(strings.TrimSpace(cut.FindString(text))), Raw: text}
	}
	ms := full.FindAllStringSubmatch(text, -1)
	if len(ms) == 0 {
		return 0, &ParseError{Kind: ErrNoVerdict, Detail: `no "[[N]]" rating`, Raw: text}
	}
	v, err := strconv.ParseFloat(ms[0][1], 64)
	if err != nil {
		return 0, &ParseError{Kind: ErrNoVerdict, Detail: err.Error(), Raw: text}
	}
	for _, m := range ms[1:] {
		w, err := strconv.ParseFloat(m[1], 64)
		if err != nil || w != v {
			return 0, &ParseError{Kind: ErrContradictory, Detail: fmt.Sprintf("ratings %s and %s", ms[0][0], m[0]), Raw: text}
		}
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

func verdictPatterns() (full, cut *regexp.Regexp) {
	full = regexp.MustCompile(`\[\[\s*(A\s*>>\s*B|A\s*>\s*B|A\s*=\s*B|B\s*>\s*A|B\s*>>\s*A|A\s*<<\s*B|A\s*<\s*B|B\s*<\s*A|B\s*<<\s*A|B\s*=\s*A|A|B|C|[Tt]ie)\s*\]\]`)
	cut = regexp.MustCompile(`\[\[\s*[ABC]?\s*[<>=]*\s*[AB]?\s*\]?\s*$`)
	return full, cut
}

// ParseVerdict reads a pairwise verdict: "[[A]]", "[[B]]" or "[[C]]" (tie;
// "[[tie]]" is read as C), or Arena-Hard's "[[A>>B]]", "[[A>B]]",
// "[[A=B]]", "[[B>A]]", "[[B>>A]]" (and the same with "<"). The verdict may
// be repeated if it is the same each time. No verdict, two different
// verdicts, or a verdict cut off at the end of the reply is a *ParseError.
func ParseVerdict(text string) (Verdict, error) {
	full, cut := verdictPatterns()
	if cut.MatchString(text) {
		return Verdict{}, &ParseError{Kind: ErrTruncated, Detail: "reply ends with " + strconv.Quote(strings.TrimSpace(cut.FindString(text))), Raw: text}
	}
	ms := full.FindAllStringSubmatch(text, -1)
	if len(ms) == 0 {
		return Verdict{}, &ParseError{Kind: ErrNoVerdict, Detail: `no "[[A]]"/"[[B]]"/"[[C]]" or "[[A>B]]"-style verdict`, Raw: text}
	}
	v := canonicalVerdict(ms[0][1])
	for _, m := range ms[1:] {
		if w := canonicalVerdict(m[1]); w != v {
			return Verdict{}, &ParseError{Kind: ErrContradictory, Detail: fmt.Sprintf("verdicts %s and %s", ms[0][0], m[0]), Raw: text}
		}
	}
	return v, nil
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
