package prompt

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/prefdata/prefdata"
)

// Normalize returns s in Unicode NFC (so an accent composed or decomposed
// is one letter), lowered, with punctuation and symbols turned into
// spaces and runs of whitespace collapsed to one space: the form exact
// dedup, near-dup shingling and decontamination compare. "Hello,  World!"
// and "hello world" normalize to the same text.
func Normalize(s string) string {
	s = norm.NFC.String(s) // s itself when already NFC, as most text is
	var b strings.Builder
	b.Grow(len(s))
	space := true // drop leading spaces
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
			space = false
		case unicode.IsMark(r):
			b.WriteRune(r)
		default: // whitespace, punctuation, symbols, control characters
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	out := b.String()
	return strings.TrimSuffix(out, " ")
}

// words returns the normalized words of s.
func words(s string) []string { return strings.Fields(Normalize(s)) }

// conversationText joins the contents of all messages of a prompt, with the
// roles, so that two prompts with the same last turn but different history
// are not duplicates.
func conversationText(msgs []prefdata.Message) string {
	if len(msgs) == 1 && msgs[0].Role == prefdata.RoleUser {
		return msgs[0].Content
	}
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.Role)
		b.WriteString(": ")
		b.WriteString(m.Content)
		b.WriteString("\n")
	}
	return b.String()
}
