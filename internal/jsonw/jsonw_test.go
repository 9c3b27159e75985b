package jsonw

import (
	"encoding/json"
	"math"
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

// plainEnd stops exactly at the first byte encoding/json escapes or that
// is not ASCII.
func TestPlainEnd(t *testing.T) {
	checkEnd(t, "plainEnd", func(b []byte, i int) int { return plainEnd(string(b), i) },
		func(c byte) bool { return c >= utf8.RuneSelf || !htmlSafe[c] }, 5)
}

// checkEnd checks a scan for the first byte from i that stop holds against
// stop tried byte by byte: every byte value at every position of a word and
// of the tail, from three starts, and random strings of every length up to
// 40 from a random start.
func checkEnd(t *testing.T, name string, end func(b []byte, i int) int, stop func(byte) bool, seed int64) {
	t.Helper()
	want := func(b []byte, i int) int {
		for ; i < len(b); i++ {
			if stop(b[i]) {
				return i
			}
		}
		return len(b)
	}
	for c := range 256 {
		for p := range 13 {
			b := []byte("abcdefghijklm")
			b[p] = byte(c)
			for from := range 3 {
				if got := end(b, from); got != want(b, from) {
					t.Fatalf("%s(%q, %d) = %d", name, b, from, got)
				}
			}
		}
	}
	r := rand.New(rand.NewSource(seed))
	for range 200000 {
		b := make([]byte, r.Intn(41))
		for i := range b {
			b[i] = byte(r.Intn(256))
			if r.Intn(4) > 0 {
				b[i] = byte(0x20 + r.Intn(0x60))
			}
		}
		from := 0
		if len(b) > 0 {
			from = r.Intn(len(b))
		}
		if got := end(b, from); got != want(b, from) {
			t.Fatalf("%s(%q, %d) = %d", name, b, from, got)
		}
	}
}

// String, Float and Raw write what json.Marshal writes for the same value.
func TestMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", "tab\there", "quote \" and \\", "<a href='x'>&amp;</a>", "\u2028\u2029", "\x00\x1f\x7f",
		"caf\xc3\xa9 日本語 🙂", "bad \xff utf8 \xc3", strings.Repeat("long plain text ", 40), "\b\f\n\r"}
	r := rand.New(rand.NewSource(3))
	for range 2000 {
		b := make([]byte, r.Intn(40))
		for i := range b {
			b[i] = byte(r.Intn(256))
		}
		strs = append(strs, string(b))
	}
	for _, s := range strs {
		want, _ := json.Marshal(s)
		if got := String([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("String(%q) = %s, encoding/json %s", s, got[1:], want)
		}
	}
	for _, f := range []float64{0, 1, -1, 0.1, 1e-7, 1.5e-6, 1e20, 1e21, 123456789.125, math.SmallestNonzeroFloat64, math.MaxFloat64, -2.5e-9} {
		want, _ := json.Marshal(f)
		if got, ok := Float(nil, f); !ok || string(got) != string(want) {
			t.Fatalf("Float(%v) = %s, %v; encoding/json %s", f, got, ok, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got, ok := Float([]byte("x"), f); ok || string(got) != "x" {
			t.Fatalf("Float(%v) = %q, %v; want nothing appended, false", f, got, ok)
		}
	}
	for _, m := range []string{`{"a":1}`, ` { "a" : [1, 2] } `, `{"h":"<b>&"}`, "\"\u2028\"", `[]`, `null`} {
		want, _ := json.Marshal(json.RawMessage(m))
		if got, err := Raw(nil, json.RawMessage(m)); err != nil || string(got) != string(want) {
			t.Fatalf("Raw(%q) = %s, %v; encoding/json %s", m, got, err, want)
		}
	}
	if got, err := Raw(nil, nil); err != nil || string(got) != "null" {
		t.Fatalf("Raw(nil) = %s, %v", got, err)
	}
	if got, err := Raw([]byte("x"), json.RawMessage(`{"a":`)); err == nil || string(got) != "x" {
		t.Fatalf("Raw of invalid JSON = %q, %v; want an error and nothing appended", got, err)
	}
}

// strEnd stops exactly at a string's first quote, backslash, control byte
// or byte at or above 0x80.
func TestStrEnd(t *testing.T) {
	checkEnd(t, "strEnd", strEnd, func(c byte) bool { return c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' }, 6)
}
