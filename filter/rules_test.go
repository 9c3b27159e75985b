package filter_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
)

func prompt(text string) prefdata.Prompt {
	return prefdata.Prompt{ID: "p1", Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: text}}}
}

func resp(id, text string) prefdata.Response {
	return prefdata.Response{ID: id, PromptID: "p1", Model: "m-" + id, Text: text, FinishReason: "stop"}
}

func candidate(p string, rs ...prefdata.Response) prefdata.Candidate {
	return prefdata.Candidate{Prompt: prompt(p), Responses: rs}
}

func ids(rs []prefdata.Response) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func droppedIDs(c prefdata.Candidate) map[string]string {
	out := map[string]string{}
	for _, d := range c.Dropped {
		out[d.ResponseID] = d.Filter
	}
	return out
}

func TestRuleFilters(t *testing.T) {
	loop := "Sure. " + strings.Repeat("I will help you with that. ", 8)
	cjkLoop := "好的" + strings.Repeat("我们一起去", 10)
	longText := strings.Repeat("word ", 120)
	tests := []struct {
		name   string
		f      prefdata.Filter
		fname  string
		prompt string
		r      prefdata.Response
		drop   bool
		reason string // substring of the drop reason
		keep   string // text of a second response that must stay
	}{
		{"empty: empty", filter.Empty(), filter.NameEmpty, "hi", resp("a", ""), true, "empty", ""},
		{"empty: spaces", filter.Empty(), filter.NameEmpty, "hi", resp("a", " \n\t "), true, "whitespace", ""},
		{"empty: text", filter.Empty(), filter.NameEmpty, "hi", resp("a", "ok"), false, "", ""},
		{"truncated: length", filter.Truncated(), filter.NameTruncated, "hi", prefdata.Response{ID: "a", Text: "abc", FinishReason: "length"}, true, "length", ""},
		{"truncated: stop", filter.Truncated(), filter.NameTruncated, "hi", resp("a", "abc"), false, "", ""},
		{"refusal: default", filter.Refusal(filter.RefusalConfig{}), filter.NameRefusal, "how to pick a lock", resp("a", "I'm sorry, but I can't help with that."), true, "i'm sorry, but i can", ""},
		{"refusal: curly quote", filter.Refusal(filter.RefusalConfig{}), filter.NameRefusal, "x", resp("a", "I\u2019m unable to do that."), true, "unable", ""},
		{"refusal: late caveat kept", filter.Refusal(filter.RefusalConfig{}), filter.NameRefusal, "x", resp("a", longText+" I cannot provide legal advice."), false, "", ""},
		{"refusal: whole text", filter.Refusal(filter.RefusalConfig{Window: -1}), filter.NameRefusal, "x", resp("a", longText+" I cannot provide legal advice."), true, "cannot provide", ""},
		{"refusal: custom", filter.Refusal(filter.RefusalConfig{Patterns: []string{"NOPE"}}), filter.NameRefusal, "x", resp("a", "nope."), true, "nope", ""},
		{"refusal: answer", filter.Refusal(filter.RefusalConfig{}), filter.NameRefusal, "x", resp("a", "Paris is the capital of France."), false, "", ""},
		{"repetition: loop", filter.Repetition(filter.RepetitionConfig{}), filter.NameRepetition, "x", resp("a", loop), true, "block of 6 tokens", ""},
		{"repetition: one word", filter.Repetition(filter.RepetitionConfig{}), filter.NameRepetition, "x", resp("a", strings.Repeat("the ", 40)), true, "block of 1 tokens repeated 40 times", ""},
		{"repetition: characters", filter.Repetition(filter.RepetitionConfig{}), filter.NameRepetition, "x", resp("a", cjkLoop), true, "block of 5 tokens", ""},
		{"repetition: short list kept", filter.Repetition(filter.RepetitionConfig{}), filter.NameRepetition, "x", resp("a", "very very very good, yes yes yes. The end of the answer is here and it is fine."), false, "", ""},
		{"repetition: prose kept", filter.Repetition(filter.RepetitionConfig{}), filter.NameRepetition, "x", resp("a", "The quick brown fox jumps over the lazy dog. A second sentence follows with other words, and a third one closes the paragraph neatly."), false, "", ""},
		{"length: too short chars", filter.Length(filter.LengthConfig{MinChars: 5}), filter.NameLength, "x", resp("a", " abc "), true, "3 characters, fewer than 5", ""},
		{"length: too long chars", filter.Length(filter.LengthConfig{MaxChars: 5}), filter.NameLength, "x", resp("a", "abcdef"), true, "more than 5", "ok"},
		{"length: too few words", filter.Length(filter.LengthConfig{MinWords: 3}), filter.NameLength, "x", resp("a", "two words"), true, "2 words", ""},
		{"length: too many words", filter.Length(filter.LengthConfig{MaxWords: 3}), filter.NameLength, "x", resp("a", "one two three four"), true, "4 words", "fine"},
		{"length: inside", filter.Length(filter.LengthConfig{MinChars: 1, MaxChars: 100, MinWords: 1, MaxWords: 10}), filter.NameLength, "x", resp("a", "fine answer"), false, "", ""},
		{"script: russian answer to english", filter.Script(filter.ScriptConfig{}), filter.NameScript, "Please explain how photosynthesis works in plants.", resp("a", "Фотосинтез — это процесс, при котором растения используют свет."), true, "Cyrillic, the prompt in Latin", ""},
		{"script: same script", filter.Script(filter.ScriptConfig{}), filter.NameScript, "Please explain how photosynthesis works in plants.", resp("a", "Photosynthesis turns light into chemical energy."), false, "", ""},
		{"script: short answer kept", filter.Script(filter.ScriptConfig{}), filter.NameScript, "Please explain how photosynthesis works in plants.", resp("a", "Да."), false, "", ""},
		{"script: japanese", filter.Script(filter.ScriptConfig{}), filter.NameScript, "日本の首都はどこですか？教えてください。東京ですか、それとも大阪ですか？", resp("a", "The capital of Japan is Tokyo, a very large city."), true, "Latin, the prompt in Japanese", "日本の首都は東京です。とても大きな都市です。"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.keep == "" {
				tt.keep = "A perfectly ordinary answer."
			}
			c := candidate(tt.prompt, tt.r, resp("keep", tt.keep))
			got, err := tt.f.Filter(context.Background(), c)
			require.NoError(t, err)
			assert.Equal(t, tt.fname, tt.f.(prefdata.Namer).Name())
			if !tt.drop {
				assert.Equal(t, []string{tt.r.ID, "keep"}, ids(got.Responses))
				assert.Empty(t, got.Dropped)
				return
			}
			assert.Equal(t, []string{"keep"}, ids(got.Responses))
			require.Len(t, got.Dropped, 1)
			assert.Equal(t, tt.r.ID, got.Dropped[0].ResponseID)
			assert.Equal(t, tt.fname, got.Dropped[0].Filter)
			assert.Contains(t, got.Dropped[0].Reason, tt.reason)
			assert.Len(t, c.Responses, 2, "input candidate changed")
		})
	}
}

func TestNearDuplicate(t *testing.T) {
	base := "The capital of France is Paris, a city on the Seine known for the Eiffel Tower and its museums."
	accented := "Été après été, la forêt près du château était déjà très sèche et désolée."
	tests := []struct {
		name    string
		cfg     filter.NearDuplicateConfig
		texts   []string
		dropped []string
	}{
		{"exact copy", filter.NearDuplicateConfig{}, []string{base, base}, []string{"r1"}},
		{"case and punctuation", filter.NearDuplicateConfig{}, []string{base, strings.ToUpper(strings.ReplaceAll(base, ",", ""))}, []string{"r1"}},
		{"one word changed", filter.NearDuplicateConfig{Threshold: 0.7}, []string{base, strings.Replace(base, "museums", "galleries", 1)}, []string{"r1"}},
		{"different", filter.NearDuplicateConfig{}, []string{base, "Berlin is the capital of Germany."}, nil},
		{"three copies keep first", filter.NearDuplicateConfig{}, []string{base, "Other text entirely, nothing alike.", base, base}, []string{"r2", "r3"}},
		{"NFC and NFD forms", filter.NearDuplicateConfig{}, []string{accented, norm.NFD.String(accented)}, []string{"r1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rs []prefdata.Response
			for i, s := range tt.texts {
				rs = append(rs, resp("r"+string(rune('0'+i)), s))
			}
			got, err := filter.NearDuplicate(tt.cfg).Filter(context.Background(), candidate("q", rs...))
			require.NoError(t, err)
			var dropped []string
			for _, d := range got.Dropped {
				dropped = append(dropped, d.ResponseID)
				assert.Equal(t, filter.NameNearDuplicate, d.Filter)
				assert.Contains(t, d.Reason, "near duplicate of r0")
			}
			assert.Equal(t, tt.dropped, dropped)
		})
	}
}

func TestComposition(t *testing.T) {
	c := candidate("q",
		resp("empty", ""),
		resp("refuse", "I'm sorry, but I can't do that."),
		resp("short", "Yes."),
		resp("good", "Here is a complete and useful answer to the question."),
	)
	short := filter.Length(filter.LengthConfig{MinWords: 3})
	refusal := filter.Refusal(filter.RefusalConfig{})
	tests := []struct {
		name     string
		f        prefdata.Filter
		fname    string
		kept     []string
		droppers map[string]string
	}{
		{"all", filter.AllOf(filter.Empty(), refusal, short), "all(empty,refusal,length)",
			[]string{"good"}, map[string]string{"empty": "empty", "refuse": "refusal", "short": "length"}},
		{"any", filter.AnyOf(filter.Empty(), short), "any(empty,length)",
			[]string{"refuse", "short", "good"}, map[string]string{"empty": "any(empty,length)"}},
		{"any keeps what one keeps", filter.AnyOf(refusal, short), "any(refusal,length)",
			[]string{"empty", "refuse", "short", "good"}, map[string]string{}},
		{"not", filter.Not(refusal), "not(refusal)",
			[]string{"refuse"}, map[string]string{"empty": "not(refusal)", "short": "not(refusal)", "good": "not(refusal)"}},
		{"named", filter.Named("basic", filter.AllOf(filter.Empty(), short)), "basic",
			[]string{"refuse", "good"}, map[string]string{"empty": "empty", "short": "length"}},
		{"func", filter.AllOf(prefdata.ResponseFilterFunc("no-yes", func(_ context.Context, _ prefdata.Prompt, r prefdata.Response) (string, error) {
			if strings.HasPrefix(r.Text, "Yes") {
				return "starts with yes", nil
			}
			return "", nil
		})), "all(no-yes)", []string{"empty", "refuse", "good"}, map[string]string{"short": "no-yes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.Filter(context.Background(), c)
			require.NoError(t, err)
			assert.Equal(t, tt.fname, tt.f.(prefdata.Namer).Name())
			assert.Equal(t, tt.kept, ids(got.Responses))
			assert.Equal(t, tt.droppers, droppedIDs(got))
		})
	}

	t.Run("any joins reasons", func(t *testing.T) {
		got, err := filter.AnyOf(filter.Empty(), short).Filter(context.Background(), c)
		require.NoError(t, err)
		require.Len(t, got.Dropped, 1)
		assert.Equal(t, "empty", got.Dropped[0].ResponseID)
		assert.Equal(t, "empty: empty or whitespace-only text; length: 0 words, fewer than 3", got.Dropped[0].Reason)
	})
	t.Run("errors name the inner filter", func(t *testing.T) {
		bad := prefdata.Named("broken", prefdata.FilterFunc(func(context.Context, prefdata.Candidate) (prefdata.Candidate, error) {
			return prefdata.Candidate{}, errors.New("boom")
		}))
		for _, f := range []prefdata.Filter{filter.AllOf(filter.Empty(), bad), filter.AnyOf(bad), filter.Not(bad)} {
			_, err := f.Filter(context.Background(), c)
			assert.EqualError(t, err, "broken: boom")
		}
	})
	t.Run("rejection passes through all and counts as drop in any", func(t *testing.T) {
		rej := prefdata.Named("rej", prefdata.FilterFunc(func(context.Context, prefdata.Candidate) (prefdata.Candidate, error) {
			return prefdata.Candidate{}, prefdata.Reject("bad prompt")
		}))
		_, err := filter.AllOf(rej).Filter(context.Background(), c)
		reason, ok := prefdata.Rejection(err)
		assert.True(t, ok)
		assert.Equal(t, "bad prompt", reason)
		got, err := filter.Not(rej).Filter(context.Background(), c)
		require.NoError(t, err)
		assert.Equal(t, []string{"empty", "refuse", "short", "good"}, ids(got.Responses))
	})
}

func TestNearDuplicateShortTexts(t *testing.T) {
	c := candidate("q", resp("a", "/_/\\  \n( o.o )\n>^<"), resp("b", " /\\_/\\ \n( o.o )\n > ^ <"), resp("c", "Smart Home"), resp("d", "smart  home"))
	got, err := filter.NearDuplicate(filter.NearDuplicateConfig{}).Filter(context.Background(), c)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, ids(got.Responses), "different ASCII art is not a duplicate; the same short answer is")
	require.Len(t, got.Dropped, 1)
	assert.Equal(t, "copy of c", got.Dropped[0].Reason)
}

func TestAllOfFingerprint(t *testing.T) {
	judge := &filter.RubricJudge{Generator: prefdata.GeneratorFunc(func(context.Context, prefdata.Prompt) ([]prefdata.Response, error) { return nil, nil }), Model: "j"}
	_, ok := filter.AllOf(filter.Scores(judge)).(prefdata.Fingerprinter)
	assert.True(t, ok, "a chain of fingerprinted filters is cached")
	_, ok = filter.AllOf(filter.Empty(), filter.Scores(judge)).(prefdata.Fingerprinter)
	assert.False(t, ok, "a chain with a rule filter is not")
}
