package label

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// diffSeg is a run of a response's text, Changed when the other response
// does not have it at this place.
type diffSeg struct {
	Text    string
	Changed bool
}

// maxDiffCells bounds the work of one diff (tokens of A × tokens of B after
// the common head and tail are cut): beyond it the texts are compared line
// by line, and beyond that the whole middle is marked.
const maxDiffCells = 1 << 20

// diffTexts returns a and b cut into runs, each marked when it is not in
// the longest common subsequence of the two (by words, whitespace and
// punctuation).
func diffTexts(a, b string) (da, db []diffSeg) {
	ta, tb := tokens(a), tokens(b)
	if cells(ta, tb) > maxDiffCells {
		ta, tb = lines(a), lines(b)
	}
	return diffTokens(ta, tb)
}

func cells(a, b []string) int {
	head, tail := common(a, b)
	return (len(a) - head - tail + 1) * (len(b) - head - tail + 1)
}

// common returns the lengths of the common head and tail of a and b (not
// overlapping).
func common(a, b []string) (head, tail int) {
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	return head, tail
}

func diffTokens(a, b []string) (da, db []diffSeg) {
	head, tail := common(a, b)
	ma, mb := a[head:len(a)-tail], b[head:len(b)-tail]
	keepA, keepB := make([]bool, len(ma)), make([]bool, len(mb))
	if (len(ma)+1)*(len(mb)+1) <= maxDiffCells {
		lcs(ma, mb, keepA, keepB)
	}
	emit := func(out []diffSeg, tok string, changed bool) []diffSeg {
		if n := len(out); n > 0 && out[n-1].Changed == changed {
			out[n-1].Text += tok
			return out
		}
		return append(out, diffSeg{tok, changed})
	}
	side := func(all []string, keep []bool) []diffSeg {
		var out []diffSeg
		for i, t := range all {
			changed := false
			if j := i - head; j >= 0 && j < len(keep) {
				// Whitespace alone is never highlighted: it is invisible.
				changed = !keep[j] && strings.TrimSpace(t) != ""
			}
			out = emit(out, t, changed)
		}
		return out
	}
	return side(a, keepA), side(b, keepB)
}

// lcs marks in keepA and keepB the tokens of a longest common subsequence.
func lcs(a, b []string, keepA, keepB []bool) {
	n, m := len(a), len(b)
	// t[i][j] is the LCS length of a[i:] and b[j:].
	t := make([]int32, (n+1)*(m+1))
	at := func(i, j int) int32 { return t[i*(m+1)+j] }
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			v := max(at(i+1, j), at(i, j+1))
			if a[i] == b[j] {
				v = at(i+1, j+1) + 1
			}
			t[i*(m+1)+j] = v
		}
	}
	for i, j := 0, 0; i < n && j < m; {
		switch {
		case a[i] == b[j]:
			keepA[i], keepB[j] = true, true
			i++
			j++
		case at(i+1, j) >= at(i, j+1):
			i++
		default:
			j++
		}
	}
}

// tokens cuts s into words, runs of whitespace and single other characters.
func tokens(s string) []string {
	var out []string
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		class := func(r rune) int {
			switch {
			case unicode.IsSpace(r):
				return 1
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
				return 2
			}
			return 0
		}
		c := class(r)
		if c != 0 {
			for n < len(s) {
				r2, w := utf8.DecodeRuneInString(s[n:])
				if class(r2) != c {
					break
				}
				n += w
			}
		}
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// lines cuts s into lines, each with its newline.
func lines(s string) []string {
	out := strings.SplitAfter(s, "\n")
	if len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}
