package prompt_test

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prompt"
)

// readAll drains src, returning the prompts and the item errors.
func readAll(t *testing.T, src prefdata.PromptSource) ([]prefdata.Prompt, []*prefdata.ItemError, error) {
	t.Helper()
	var ps []prefdata.Prompt
	var bad []*prefdata.ItemError
	for {
		p, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return ps, bad, nil
		}
		var ie *prefdata.ItemError
		if errors.As(err, &ie) {
			bad = append(bad, ie)
			continue
		}
		if err != nil {
			return ps, bad, err
		}
		ps = append(ps, p)
	}
}

func TestReaderSchemas(t *testing.T) {
	u := func(s string) prefdata.Message { return prefdata.Message{Role: "user", Content: s} }
	a := func(s string) prefdata.Message { return prefdata.Message{Role: "assistant", Content: s} }
	sys := func(s string) prefdata.Message { return prefdata.Message{Role: "system", Content: s} }
	tests := []struct {
		name string
		line string
		want []prefdata.Message
		id   string
		cat  string
		meta map[string]string
	}{
		{"plain prompt", `{"prompt": "Write a haiku.", "id": "h1"}`, []prefdata.Message{u("Write a haiku.")}, "h1", "", nil},
		{"alpaca", `{"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"}`, []prefdata.Message{u("Translate to French.\n\nGood morning")}, "", "", nil},
		{"alpaca empty input", `{"instruction": "Name three colours.", "input": ""}`, []prefdata.Message{u("Name three colours.")}, "", "", nil},
		{"openai messages cut after last user", `{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]}, {"role": "assistant", "content": "4"}]}`,
			[]prefdata.Message{sys("Be brief."), u("Hi"), a("Hello"), u("What is 2+2?")}, "", "", nil},
		{"sharegpt", `{"id": "sg-9", "conversations": [{"from": "human", "value": "Tell a joke"}, {"from": "gpt", "value": "Why..."}]}`, []prefdata.Message{u("Tell a joke")}, "sg-9", "", nil},
		{"mt-bench", `{"question_id": 81, "category": "writing", "turns": ["Write a blog post.", "Rewrite it."]}`, []prefdata.Message{u("Write a blog post.")}, "81", "writing", map[string]string{"turns": `["Rewrite it."]`}},
		{"self-instruct seed", `{"id": "seed_task_1", "instruction": "Sort the list.", "instances": [{"input": "3, 1, 2", "output": "1, 2, 3"}], "is_classification": false}`, []prefdata.Message{u("Sort the list.\n\n3, 1, 2")}, "seed_task_1", "", nil},
		{"hh-rlhf pair", `{"chosen": "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: How do I bake bread?\n\nAssistant: Mix flour...", "rejected": "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: How do I bake bread?\n\nAssistant: No."}`,
			[]prefdata.Message{u("Hi there"), a("Hello!"), u("How do I bake bread?")}, "", "", nil},
		{"hh-rlhf prompt field", `{"prompt": "\n\nHuman: What is rust?\n\nAssistant:", "chosen": " A language.", "rejected": " Iron oxide."}`, []prefdata.Message{u("What is rust?")}, "", "", nil},
		{"trl conversational", `{"prompt": [{"role": "user", "content": "Pick a number"}], "chosen": [{"role": "assistant", "content": "7"}], "rejected": [{"role": "assistant", "content": "no"}]}`, []prefdata.Message{u("Pick a number")}, "", "", nil},
		{"system field", `{"prompt": "Hi", "system": "You are terse."}`, []prefdata.Message{sys("You are terse."), u("Hi")}, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := prompt.NewReader(strings.NewReader(tt.line+"\n"), prompt.ReaderConfig{Name: "f.jsonl"})
			ps, bad, err := readAll(t, r)
			require.NoError(t, err)
			require.Empty(t, bad)
			require.Len(t, ps, 1)
			p := ps[0]
			assert.Equal(t, tt.want, p.Messages)
			if tt.id == "" {
				assert.Equal(t, prefdata.ContentID(tt.want), p.ID)
			} else {
				assert.Equal(t, tt.id, p.ID)
			}
			assert.Equal(t, tt.cat, p.Category)
			assert.Equal(t, tt.meta, p.Meta)
			assert.Equal(t, "f.jsonl", p.Source)
		})
	}
}

func TestReaderMapping(t *testing.T) {
	in := `{"meta": {"uid": "q-1"}, "question": "Why is the sky blue?", "context": "Physics", "topic": "open qa", "lang": "en"}` + "\n" +
		`{"meta": {"uid": "q-2"}, "context": "no question here"}` + "\n"
	r := prompt.NewReader(strings.NewReader(in), prompt.ReaderConfig{
		Name:    "custom.jsonl",
		SkipBad: true,
		Mapping: &prompt.Mapping{ID: "meta.uid", Prompt: "question", Input: "context", Category: "topic", Meta: []string{"lang"}},
	})
	ps, bad, err := readAll(t, r)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, "q-1", ps[0].ID)
	assert.Equal(t, "Why is the sky blue?\n\nPhysics", ps[0].Text())
	assert.Equal(t, "open qa", ps[0].Category)
	assert.Equal(t, map[string]string{"lang": "en"}, ps[0].Meta)
	require.Len(t, bad, 1)
	assert.Equal(t, "custom.jsonl:2", bad[0].Item)

	r = prompt.NewReader(strings.NewReader(`{"question_id": 81, "turns": ["Hi"]}`+"\n"+`{"turns": ["Hello"]}`), prompt.ReaderConfig{IDPrefix: "mtbench:"})
	ps, _, err = readAll(t, r)
	require.NoError(t, err)
	assert.Equal(t, "mtbench:81", ps[0].ID)
	assert.Equal(t, prefdata.ContentID(ps[1].Messages), ps[1].ID, "no prefix on content IDs")
	assert.ErrorContains(t, bad[0], `missing field "question"`)
}

const badInput = `{"prompt": "good one"}
{"prompt": "broken
{"prompt": ""}

["not", "an", "object"]
{"prompt": "bad utf8 ` + "\xff\xfe" + `"}
{"prompt": "` + "way too long way too long way too long" + `"}
{"text": "no known field"}
{"prompt": "good two"}
`

func TestReaderStrictNamesFileAndLine(t *testing.T) {
	r := prompt.NewReader(strings.NewReader(badInput), prompt.ReaderConfig{Name: "data.jsonl"})
	ps, bad, err := readAll(t, r)
	require.Error(t, err)
	assert.Len(t, ps, 1)
	assert.Empty(t, bad)
	var ie *prefdata.ItemError
	assert.False(t, errors.As(err, &ie), "strict mode returns a plain error that ends a run")
	assert.Contains(t, err.Error(), "data.jsonl:2")
	assert.Contains(t, err.Error(), "malformed JSON")
	// It stays ended.
	_, err = r.Next(context.Background())
	assert.ErrorIs(t, err, io.EOF)
}

func TestReaderSkipAndReport(t *testing.T) {
	r := prompt.NewReader(strings.NewReader(badInput), prompt.ReaderConfig{Name: "data.jsonl", SkipBad: true, MaxPromptBytes: 30})
	ps, bad, err := readAll(t, r)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, "good one", ps[0].Text())
	assert.Equal(t, "good two", ps[1].Text())
	wantItems := map[string]string{
		"data.jsonl:2": "malformed JSON",
		"data.jsonl:3": "empty prompt",
		"data.jsonl:5": "not a JSON object",
		"data.jsonl:6": "invalid UTF-8",
		"data.jsonl:7": "over the limit of 30",
		"data.jsonl:8": "no prompt field",
	}
	require.Len(t, bad, len(wantItems))
	for _, ie := range bad {
		assert.Equal(t, prefdata.StagePrompt, ie.Stage)
		assert.Contains(t, ie.Err.Error(), wantItems[ie.Item], ie.Item)
	}
	rep := r.Report()
	assert.Equal(t, 8, rep.Records)
	assert.Equal(t, 2, rep.Prompts)
	assert.Equal(t, 6, rep.Bad)
	require.Len(t, rep.Listed, 6)
	assert.Equal(t, "data.jsonl:2", rep.Listed[0].Item)
}

func TestReaderLongLine(t *testing.T) {
	in := `{"prompt": "a"}` + "\n" + `{"prompt": "` + strings.Repeat("x", 100_000) + `"}` + "\n" + `{"prompt": "b"}` + "\n"
	r := prompt.NewReader(strings.NewReader(in), prompt.ReaderConfig{Name: "l.jsonl", SkipBad: true, MaxLineBytes: 1000})
	ps, bad, err := readAll(t, r)
	require.NoError(t, err)
	assert.Len(t, ps, 2)
	require.Len(t, bad, 1)
	assert.Equal(t, "l.jsonl:2", bad[0].Item)
	assert.ErrorContains(t, bad[0], "longer than 1000 bytes")
}

func TestReaderJSONArray(t *testing.T) {
	in := "[\n  {\n    \"instruction\": \"First\"\n  },\n  {\n    \"instruction\": 5\n  },\n  {\"instruction\": \"Third\", \"input\": \"x\"}\n]\n"
	r := prompt.NewReader(strings.NewReader(in), prompt.ReaderConfig{Name: "a.json", SkipBad: true})
	ps, bad, err := readAll(t, r)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, "First", ps[0].Text())
	assert.Equal(t, "Third\n\nx", ps[1].Text())
	require.Len(t, bad, 1)
	assert.Equal(t, "a.json:5", bad[0].Item, "the line where the bad element starts")
	assert.ErrorContains(t, bad[0], `field "instruction": want a string`)

	// Broken syntax inside an array cannot be skipped: it ends the source.
	r = prompt.NewReader(strings.NewReader(`[{"prompt": "ok"}, {"prompt": }]`), prompt.ReaderConfig{Name: "b.json", SkipBad: true})
	ps, _, err = readAll(t, r)
	assert.Len(t, ps, 1)
	assert.ErrorContains(t, err, "b.json:1")
}

func TestConcatAndInterleave(t *testing.T) {
	mk := func(prefix string, n int) prefdata.PromptSource {
		var ps []prefdata.Prompt
		for i := range n {
			ps = append(ps, prefdata.Prompt{ID: prefix + string(rune('a'+i))})
		}
		return prefdata.Prompts(ps...)
	}
	ps, _, err := readAll(t, prompt.Concat(mk("x", 2), mk("y", 3)))
	require.NoError(t, err)
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	assert.Equal(t, []string{"xa", "xb", "ya", "yb", "yc"}, ids)

	order := func(seed uint64) string {
		ps, _, err := readAll(t, prompt.Interleave(seed, prompt.Weighted{Source: mk("A", 20), Weight: 3}, prompt.Weighted{Source: mk("B", 20), Weight: 1}))
		require.NoError(t, err)
		require.Len(t, ps, 40)
		var b strings.Builder
		for _, p := range ps {
			b.WriteByte(p.ID[0])
		}
		return b.String()
	}
	o1 := order(7)
	assert.Equal(t, o1, order(7), "deterministic for a seed")
	// Among the first 16, the weight-3 source dominates.
	assert.Greater(t, strings.Count(o1[:16], "A"), 8, o1)
	assert.Equal(t, 20, strings.Count(o1, "A"))
}

// sharedData returns the path of a file under ../shared/data, or skips.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real data %s not present (../shared is absent in a fresh clone): %v", rel, err)
	}
	return p
}

func TestReaderRealPromptFiles(t *testing.T) {
	for _, tt := range []struct {
		file string
		n    int
	}{
		{"prompts/self_instruct_seed_tasks.jsonl", 175},
		{"prompts/self_instruct_user_oriented.jsonl", 252},
		{"prompts/mt_bench_questions.jsonl", 80},
		{"alpaca_eval/gemma-7b-it.json", 805},
	} {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			r, err := prompt.Open(sharedData(t, tt.file), prompt.ReaderConfig{})
			require.NoError(t, err)
			defer r.Close()
			ps, bad, err := readAll(t, r)
			require.NoError(t, err)
			assert.Empty(t, bad)
			assert.Len(t, ps, tt.n)
			ids := map[string]bool{}
			for _, p := range ps {
				assert.NotEmpty(t, strings.TrimSpace(p.Text()))
				ids[p.ID] = true
			}
			// alpaca_eval has no ID field, and repeats no instruction.
			assert.Len(t, ids, tt.n, "IDs are unique")
		})
	}
}

func TestOpenGzip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "train.jsonl.gz")
	f, err := os.Create(path)
	require.NoError(t, err)
	zw := gzip.NewWriter(f)
	_, err = zw.Write([]byte(`{"chosen": "\n\nHuman: Is tea healthy?\n\nAssistant: Mostly, yes.", "rejected": "\n\nHuman: Is tea healthy?\n\nAssistant: No."}` + "\n" + `{"chosen": "oops`))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())

	r, err := prompt.Open(path, prompt.ReaderConfig{SkipBad: true})
	require.NoError(t, err)
	ps, bad, err := readAll(t, r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.Len(t, ps, 1)
	assert.Equal(t, "Is tea healthy?", ps[0].Text())
	assert.Equal(t, "train.jsonl.gz", ps[0].Source)
	require.Len(t, bad, 1)
	assert.Equal(t, "train.jsonl.gz:2", bad[0].Item)

	_, err = prompt.Open(filepath.Join(t.TempDir(), "missing.jsonl"), prompt.ReaderConfig{})
	assert.ErrorContains(t, err, "missing.jsonl")
}
