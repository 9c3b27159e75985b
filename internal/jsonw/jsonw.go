// Package jsonw appends JSON values to byte slices, byte for byte as
// encoding/json writes them (with its HTML escaping on), without
// reflection: the hand encoders of the journal's records and of the chat
// request body are built on it, and their tests compare their bytes with
// json.Marshal's.
package jsonw

import (
	"bytes"
	"encoding/json"
	"math"
	"math/bits"
	"strconv"
	"sync"
	"unicode/utf8"
)

// htmlSafe[c] is true for the ASCII bytes encoding/json writes as they are
// (with its HTML escaping on).
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// plainEnd returns the index of the first byte of s from i that
// encoding/json does not write as it is (len(s) when there is none): a
// word of eight bytes at a time, all tested at once for any at or above
// 0x80, below 0x20, or one of " \\ < > &; the last bytes one at a time.
func plainEnd(s string, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		x := s[i : i+8]
		w := uint64(x[0]) | uint64(x[1])<<8 | uint64(x[2])<<16 | uint64(x[3])<<24 |
			uint64(x[4])<<32 | uint64(x[5])<<40 | uint64(x[6])<<48 | uint64(x[7])<<56
		// A byte b of v is zero when (b - 1) sets its high bit and b did
		// not. A borrow can mark bytes above a marked one, never below:
		// the lowest mark is exact.
		q, bs, lt, gt, amp := w^('"'*ones), w^('\\'*ones), w^('<'*ones), w^('>'*ones), w^('&'*ones)
		bad := (w | // not ASCII
			((w - 0x20*ones) & ^w) | // below 0x20 (w's bytes are below 0x80 here)
			((q - ones) & ^q) | ((bs - ones) & ^bs) | ((lt - ones) & ^lt) | ((gt - ones) & ^gt) | ((amp - ones) & ^amp)) & highs
		if bad != 0 {
			return i + bits.TrailingZeros64(bad)>>3
		}
	}
	for i < len(s) && s[i] < utf8.RuneSelf && htmlSafe[s[i]] {
		i++
	}
	return i
}

// String appends s as a JSON string, escaped as encoding/json escapes it:
// invalid UTF-8 as U+FFFD, <, >, &, U+2028 and U+2029 as \u escapes.
func String(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; ; {
		if i = plainEnd(s, i); i == len(s) {
			break // the bytes from start are written as they are
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Float appends f as encoding/json does: the shortest decimal, in exponent
// form below 1e-6 and from 1e21. It reports false, appending nothing, for
// a NaN or an infinity, which JSON cannot hold.
func Float(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-07 is written e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

// Raw appends raw JSON as encoding/json does: null for nil, else compacted
// with <, >, &, U+2028 and U+2029 escaped; invalid JSON is an error, and
// nothing is appended then.
func Raw(b []byte, m json.RawMessage) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	if asIs(m) {
		return append(b, m...), nil
	}
	var c bytes.Buffer
	if err := json.Compact(&c, m); err != nil {
		return b, err
	}
	var h bytes.Buffer
	json.HTMLEscape(&h, c.Bytes())
	return append(b, h.Bytes()...), nil
}

// writtenAsIs holds the schemas found to be written as they are
// (compactHTMLSafe), by their text: a judge sends the same few schemas on
// every call. At most maxAsIs of at most 4 KB each.
var (
	asIsMu      sync.RWMutex
	writtenAsIs = map[string]bool{}
)

const maxAsIs = 256

func asIs(m []byte) bool {
	asIsMu.RLock()
	ok := writtenAsIs[string(m)]
	asIsMu.RUnlock()
	if ok {
		return true
	}
	if !compactHTMLSafe(m) {
		return false
	}
	if len(m) <= 4096 {
		asIsMu.Lock()
		if len(writtenAsIs) < maxAsIs {
			writtenAsIs[string(m)] = true
		}
		asIsMu.Unlock()
	}
	return true
}

// compactHTMLSafe reports whether m is valid JSON that encoding/json writes
// as it is: no whitespace outside strings, nothing to escape. Schemas
// marshaled by encoding/json are.
func compactHTMLSafe(m []byte) bool {
	inString := false
	for i := 0; i < len(m); i++ {
		switch c := m[i]; {
		case c == '<' || c == '>' || c == '&' || c == 0xE2: // 0xE2 opens U+2028 and U+2029
			return false
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return false
		}
	}
	return json.Valid(m)
}
