package main

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -in reads what the prompt package reads: the quickstart's JSONL (the
// "prompt" field, not the JSON line), a ShareGPT JSON array, gzipped
// HH-RLHF, and still a .txt of one prompt a line.
func TestInReadsPromptFormats(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		path := filepath.Join(tmp, name)
		if strings.HasSuffix(name, ".gz") {
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			zw := gzip.NewWriter(f)
			_, _ = zw.Write([]byte(content))
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			f.Close()
			return path
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		path  string
		first string
		n     int
	}{
		{"../quickstart/prompts.jsonl", "Explain what a hash table is and when you would not use one.", -1},
		{write("sharegpt.json", `[{"id": "s1", "conversations": [{"from": "human", "value": "Hi there, what is Go?"}, {"from": "gpt", "value": "A language."}]}]`), "Hi there, what is Go?", 1},
		{write("hh.jsonl.gz", `{"chosen": "\n\nHuman: Name a fruit.\n\nAssistant: Apple.", "rejected": "\n\nHuman: Name a fruit.\n\nAssistant: Rock."}`+"\n"), "Name a fruit.", 1},
		{write("plain.txt", "first prompt\n\nsecond prompt\n"), "first prompt", 2},
	} {
		ps, err := readPrompts(context.Background(), tc.path)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if tc.n >= 0 && len(ps) != tc.n {
			t.Errorf("%s: %d prompts, want %d", tc.path, len(ps), tc.n)
		}
		if len(ps) == 0 {
			continue
		}
		last := ps[0].Messages[len(ps[0].Messages)-1].Content
		if last != tc.first {
			t.Errorf("%s: first prompt %q, want %q", tc.path, last, tc.first)
		}
		for _, p := range ps {
			for _, m := range p.Messages {
				if strings.HasPrefix(strings.TrimSpace(m.Content), "{") {
					t.Errorf("%s: a JSON line was sent as the prompt text: %.60s", tc.path, m.Content)
				}
			}
		}
	}
	if _, err := readPrompts(context.Background(), write("bad.jsonl", `{"prompt": "ok"}`+"\n"+`{"nothing": 1}`+"\n")); err == nil || !strings.Contains(err.Error(), "bad.jsonl") {
		t.Errorf("a bad record: %v, want an error naming the file", err)
	}
}
