package main

import (
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		`AI pair    "Name three primary colors.": chosen model-a over model-b`,
		`for people "Give a one-word synonym for happy.": model-c vs model-b (small-gap`,
		"responses 9, kept 6, dropped: empty=1 no-email=1 refusal=1",
		"pairs: 2 by AI, 1 for people",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
