package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata/response/openaitest"
)

const input = `{"id": "a", "prompt": "Write a short poem about the ocean at night and the stars that shine above it.", "category": "writing"}
{"id": "b", "prompt": "write a short poem about the ocean at night, and the stars that shine above it!", "category": "writing"}
{"id": "c", "prompt": "Write a short poem about the sea at night and the stars that shine above it.", "category": "writing"}
{"id": "d", "prompt": "Compose an engaging travel blog post about a recent trip to Hawaii, please.", "category": "writing"}
{"id": "e", "prompt": "What is 17 times 23?", "category": "math"}
{"id": "f", "prompt": "broken
{"id": "g", "prompt": "How do I reverse a linked list in Go?", "category": "coding"}
{"id": "h", "prompt": "Explain the borrow checker in Rust with an example.", "category": "coding"}
{"id": "i", "prompt": "Write a Python script that renames every file in a folder to lower case.", "category": "coding"}
{"id": "j", "prompt": "Name three rivers in Africa."}
`

const evals = `{"question_id": 81, "turns": ["Compose an engaging travel blog post about a recent trip to Hawaii, highlighting cultural experiences."]}
`

// field returns the number on the funnel line that starts with name.
func field(t *testing.T, out, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + `\s+(\d+(?:\s+\d+)?)\s*$`).FindStringSubmatch(out)
	require.NotNil(t, m, "no %q line in:\n%s", name, out)
	return strings.Join(strings.Fields(m[1]), " ")
}

func TestFunnel(t *testing.T) {
	dir := t.TempDir()
	in, ev := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "eval.jsonl")
	require.NoError(t, os.WriteFile(in, []byte(input), 0o644))
	require.NoError(t, os.WriteFile(ev, []byte(evals), 0o644))
	outFile, dropsFile := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "drops.jsonl")
	var buf bytes.Buffer
	err := run(context.Background(), []string{"-in", in, "-eval", ev, "-total", "4", "-out", outFile, "-drops", dropsFile}, &buf)
	require.NoError(t, err)
	out := buf.String()
	t.Log("\n" + out)
	assert.Equal(t, "10", field(t, out, "read"))
	assert.Equal(t, "1", field(t, out, "bad"))
	assert.Equal(t, "1", field(t, out, "exact dups"))
	assert.Equal(t, "1", field(t, out, "near dups"))
	assert.Equal(t, "1", field(t, out, "contaminated"))
	assert.Equal(t, "6", field(t, out, "after filters"))
	assert.Equal(t, "3 1", field(t, out, "coding"))
	assert.Equal(t, "1 1", field(t, out, "math"))
	assert.Equal(t, "1 1", field(t, out, "other"))
	assert.Equal(t, "1 1", field(t, out, "writing"))
	assert.Equal(t, "4", field(t, out, "selected"))
	assert.Contains(t, out, "bad record in.jsonl:6: malformed JSON")

	lines := func(path string) []map[string]any {
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		var recs []map[string]any
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var m map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
			recs = append(recs, m)
		}
		return recs
	}
	assert.Len(t, lines(outFile), 4)
	drops := lines(dropsFile)
	// Every dropped prompt: the filters' three, then the two coding
	// prompts balancing left out (3 available, 1 selected).
	require.Len(t, drops, 5)
	assert.Equal(t, "exact duplicate of a", drops[0]["reason"])
	assert.Contains(t, drops[1]["reason"], "near-duplicate of a (jaccard")
	assert.Contains(t, drops[2]["reason"], "with eval 81")
	for _, d := range drops[3:] {
		assert.Equal(t, "balance", d["dropped_by"])
		assert.Contains(t, d["reason"], `category "coding" over its share: 1 of 3 kept`)
		assert.Equal(t, "coding", d["prompt"].(map[string]any)["category"])
	}
}

func TestFunnelWithClassifier(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, i int) openaitest.Reply {
		return openaitest.Reply{Content: "Category: open_qa"}
	}})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	require.NoError(t, os.WriteFile(in, []byte(input), 0o644))
	var buf bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-in", in, "-base-url", srv.URL, "-model", "m"}, &buf))
	assert.Equal(t, "1 1", field(t, buf.String(), "open qa"), buf.String())
	assert.Equal(t, 1, srv.Requests(), "only the prompt without a category is classified")
}

func TestFunnelStrict(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	require.NoError(t, os.WriteFile(in, []byte(input), 0o644))
	err := run(context.Background(), []string{"-in", in, "-strict"}, &bytes.Buffer{})
	assert.ErrorContains(t, err, "in.jsonl:6")
}

func TestFunnelRealData(t *testing.T) {
	var args []string
	for _, f := range []string{"prompts/mt_bench_questions.jsonl", "prompts/self_instruct_seed_tasks.jsonl", "prompts/self_instruct_user_oriented.jsonl"} {
		p := filepath.Join("..", "..", "..", "shared", "data", f)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("real data absent (../shared is not in a fresh clone): %v", err)
		}
		args = append(args, "-in", p)
	}
	var buf bytes.Buffer
	require.NoError(t, run(context.Background(), append(args, "-total", "100", "-max-share", "0.3"), &buf))
	out := buf.String()
	t.Log("\n" + out)
	assert.Equal(t, "507", field(t, out, "read"))
	assert.Equal(t, "0", field(t, out, "bad"))
	assert.Equal(t, "100", field(t, out, "selected"))
}

// An impossible flag value is an error naming the flag, not a panic.
func TestFunnelBadThreshold(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	require.NoError(t, os.WriteFile(in, []byte(input), 0o644))
	err := run(context.Background(), []string{"-in", in, "-threshold", "1.5"}, &bytes.Buffer{})
	assert.ErrorContains(t, err, "-threshold: prompt: NearDedupConfig.Threshold 1.5 is outside [0, 1]")
}
