package response

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// readBody reads what io.ReadAll reads, whatever the announced length says.
func TestReadBodyIsReadAll(t *testing.T) {
	const body = `{"id":"chatcmpl-1","choices":[]}`
	for _, tc := range []struct {
		name   string
		length int64
		err    bool
	}{
		{"announced", int64(len(body)), false},
		{"not announced", -1, false},
		{"empty", 0, false},
		{"longer than announced", 5, false},
		{"shorter than announced", int64(len(body)) + 10, true},
	} {
		text := body
		if tc.length == 0 {
			text = ""
		}
		got, err := readBody(&http.Response{ContentLength: tc.length, Body: io.NopCloser(strings.NewReader(text))})
		if tc.err {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s: err %v, want io.ErrUnexpectedEOF", tc.name, err)
			}
			continue
		}
		if err != nil || string(got) != text {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, text)
		}
	}
}
