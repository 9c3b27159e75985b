package jsonw

import (
	"encoding/json"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// Dec reads JSON from B at I, each method one value; a method that
// returns false gave up (a value it does not take, or invalid JSON), and I
// is then anywhere.
type Dec struct {
	B []byte
	I int
}

// WS passes over white space.
func (d *Dec) WS() {
	for d.I < len(d.B) {
		switch d.B[d.I] {
		case ' ', '\t', '\n', '\r':
			d.I++
		default:
			return
		}
	}
}

// End reports whether only white space is left.
func (d *Dec) End() bool {
	d.WS()
	return d.I == len(d.B)
}

// Peek returns the next byte after white space, 0 at the end.
func (d *Dec) Peek() byte {
	d.WS()
	if d.I < len(d.B) {
		return d.B[d.I]
	}
	return 0
}

// Byte reads c, if it is the next byte after white space.
func (d *Dec) Byte(c byte) bool {
	if d.Peek() == c {
		d.I++
		return true
	}
	return false
}

// Null reads a null, if the next value is one.
func (d *Dec) Null() bool {
	if d.Peek() == 'n' && len(d.B)-d.I >= 4 && string(d.B[d.I:d.I+4]) == "null" {
		d.I += 4
		return true
	}
	return false
}

// Object reads an object, calling field for each key (its value next);
// field returns false to give up. seen guards against repeated keys: field
// returns the key's bit.
func (d *Dec) Object(field func(key string) (bit uint64, ok bool)) bool {
	return d.ObjectBytes(func(key []byte) (uint64, bool) { return field(string(key)) })
}

// ObjectBytes is Object with each key as bytes, valid only during the
// call: the keys of most objects are compared, not kept, and need no
// string of their own.
func (d *Dec) ObjectBytes(field func(key []byte) (bit uint64, ok bool)) bool {
	if !d.Byte('{') {
		return false
	}
	if d.Byte('}') {
		return true
	}
	var seen uint64
	for {
		key, ok := d.key()
		if !ok || !d.Byte(':') {
			return false
		}
		bit, ok := field(key)
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		if d.Byte(',') {
			continue
		}
		return d.Byte('}')
	}
}

// key reads an object's key: the input's own bytes when it is plain
// ASCII without escapes, else decoded as Str decodes it.
func (d *Dec) key() ([]byte, bool) {
	if d.Peek() != '"' {
		return nil, false
	}
	for i := d.I + 1; i < len(d.B); i++ {
		switch c := d.B[i]; {
		case c == '"':
			k := d.B[d.I+1 : i]
			d.I = i + 1
			return k, true
		case c < 0x20 || c == '\\' || c >= utf8.RuneSelf:
			var s string
			if !d.Str(&s) {
				return nil, false
			}
			return []byte(s), true
		}
	}
	return nil, false
}

// Array reads an array, calling elem for each element.
func (d *Dec) Array(elem func() bool) bool {
	if !d.Byte('[') {
		return false
	}
	if d.Byte(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.Byte(',') {
			continue
		}
		return d.Byte(']')
	}
}

// Str reads a string value into *s; null leaves it.
func (d *Dec) Str(s *string) bool {
	if d.Null() {
		return true
	}
	if !d.Byte('"') {
		return false
	}
	start := d.I
	var out []byte // set once an escape is met
	for {
		if d.I = strEnd(d.B, d.I); d.I == len(d.B) {
			break
		}
		c := d.B[d.I]
		switch {
		case c == '"':
			if out == nil {
				*s = string(d.B[start:d.I])
			} else {
				*s = string(append(out, d.B[start:d.I]...))
			}
			d.I++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			out = append(out, d.B[start:d.I]...)
			if d.I+1 >= len(d.B) {
				return false
			}
			e := d.B[d.I+1]
			d.I += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				if d.I+4 > len(d.B) {
					return false
				}
				r, err := strconv.ParseUint(string(d.B[d.I:d.I+4]), 16, 32)
				if err != nil || (r >= 0xd800 && r < 0xe000) {
					return false // surrogates: left to encoding/json
				}
				out = utf8.AppendRune(out, rune(r))
				d.I += 4
			default:
				return false
			}
			start = d.I
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d.B[d.I:])
			if r == utf8.RuneError && size == 1 {
				return false // invalid UTF-8: left to encoding/json
			}
			d.I += size
		default:
			d.I++
		}
	}
	return false
}

// Number returns the literal of a JSON number, checked against JSON's
// grammar.
func (d *Dec) Number() (string, bool) {
	d.WS()
	start := d.I
	if d.I < len(d.B) && d.B[d.I] == '-' {
		d.I++
	}
	digits := func() int {
		n := 0
		for d.I < len(d.B) && d.B[d.I] >= '0' && d.B[d.I] <= '9' {
			d.I++
			n++
		}
		return n
	}
	if d.I < len(d.B) && d.B[d.I] == '0' {
		d.I++
	} else if digits() == 0 {
		return "", false
	}
	if d.I < len(d.B) && d.B[d.I] == '.' {
		d.I++
		if digits() == 0 {
			return "", false
		}
	}
	if d.I < len(d.B) && (d.B[d.I] == 'e' || d.B[d.I] == 'E') {
		d.I++
		if d.I < len(d.B) && (d.B[d.I] == '+' || d.B[d.I] == '-') {
			d.I++
		}
		if digits() == 0 {
			return "", false
		}
	}
	return string(d.B[start:d.I]), true
}

// Int64 reads an integer into *v; null leaves it. A fraction, an
// exponent or a value out of range gives up, as encoding/json refuses them.
func (d *Dec) Int64(v *int64) bool {
	if d.Null() {
		return true
	}
	lit, ok := d.Number()
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(lit, 10, 64)
	if err != nil {
		return false
	}
	*v = n
	return true
}

// Int is Int64 for an int.
func (d *Dec) Int(v *int) bool {
	n := int64(*v)
	if !d.Int64(&n) || int64(int(n)) != n {
		return false
	}
	*v = int(n)
	return true
}

// Float reads a number into *v; null leaves it.
func (d *Dec) Float(v *float64) bool {
	if d.Null() {
		return true
	}
	lit, ok := d.Number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return false
	}
	*v = f
	return true
}

// Bool reads true or false into *v; null leaves it.
func (d *Dec) Bool(v *bool) bool {
	if d.Null() {
		return true
	}
	d.WS()
	switch {
	case len(d.B)-d.I >= 4 && string(d.B[d.I:d.I+4]) == "true":
		*v = true
		d.I += 4
	case len(d.B)-d.I >= 5 && string(d.B[d.I:d.I+5]) == "false":
		*v = false
		d.I += 5
	default:
		return false
	}
	return true
}

// Skip passes over one value and returns it, for encoding/json to decode.
func (d *Dec) Skip() ([]byte, bool) {
	d.WS()
	start := d.I
	var ok bool
	switch d.Peek() {
	case '{':
		ok = d.Object(func(string) (uint64, bool) { _, ok := d.Skip(); return 0, ok })
	case '[':
		ok = d.Array(func() bool { _, ok := d.Skip(); return ok })
	case '"':
		var s string
		ok = d.Str(&s)
	case 'n':
		ok = d.Null()
	case 't', 'f':
		var b bool
		ok = d.Bool(&b)
	default:
		_, ok = d.Number()
	}
	return d.B[start:d.I], ok
}

// Sub decodes the next value into v with encoding/json (a rare field).
func (d *Dec) Sub(v any) bool {
	raw, ok := d.Skip()
	return ok && json.Unmarshal(raw, v) == nil
}

// List decodes a JSON array into *out, each element by elem; null decodes
// to nil, as encoding/json does.
func List[T any](d *Dec, out *[]T, elem func(*T) bool) bool {
	if d.Null() {
		*out = nil
		return true
	}
	vs := []T{}
	ok := d.Array(func() bool {
		vs = append(vs, *new(T))
		return elem(&vs[len(vs)-1])
	})
	*out = vs
	return ok
}

// strEnd returns the index of the first byte of b from i that a string's
// plain run ends at: a quote, a backslash, a control byte or one at or
// above 0x80 (len(b) when there is none), a word of eight bytes at a time.
func strEnd(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		x := b[i : i+8]
		w := uint64(x[0]) | uint64(x[1])<<8 | uint64(x[2])<<16 | uint64(x[3])<<24 |
			uint64(x[4])<<32 | uint64(x[5])<<40 | uint64(x[6])<<48 | uint64(x[7])<<56
		// As in plainEnd: the lowest mark is exact.
		q, bs := w^('"'*ones), w^('\\'*ones)
		bad := (w | ((w - 0x20*ones) & ^w) | ((q - ones) & ^q) | ((bs - ones) & ^bs)) & highs
		if bad != 0 {
			return i + bits.TrailingZeros64(bad)>>3
		}
	}
	for i < len(b) && b[i] >= 0x20 && b[i] < utf8.RuneSelf && b[i] != '"' && b[i] != '\\' {
		i++
	}
	return i
}
