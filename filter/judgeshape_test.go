package filter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
)

// recordingJudge is a judge Generator that records each judge prompt and
// answers with reply.
func recordingJudge(reply func(p prefdata.Prompt) ([]prefdata.Response, error)) (prefdata.Generator, *[]prefdata.Prompt) {
	var mu sync.Mutex
	var seen []prefdata.Prompt
	return prefdata.GeneratorFunc(func(_ context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
		return reply(p)
	}), &seen
}

func answers(p prefdata.Prompt) (a, b string) {
	u := p.Messages[len(p.Messages)-1].Content
	return between(u, "[Answer A]\n", "\n[End of answer A]"), between(u, "[Answer B]\n", "\n[End of answer B]")
}

// The default pairwise judge asks for a JSON verdict with a schema and
// reads it.
func TestPairwiseJudgeAsksForStructuredVerdict(t *testing.T) {
	g, seen := recordingJudge(func(p prefdata.Prompt) ([]prefdata.Response, error) {
		a, _ := answers(p)
		v := "B"
		if a == "good" {
			v = "A"
		}
		return []prefdata.Response{{Text: `{"explanation": "one is good", "verdict": "` + v + `"}`}}, nil
	})
	j := &filter.PairwiseJudge{Generator: g}
	out, err := j.Filter(context.Background(), candidate("q", resp("g", "good"), resp("b", "bad")))
	require.NoError(t, err)
	require.Len(t, out.Comparisons, 1)
	assert.Equal(t, 1.0, out.Comparisons[0].Preference)
	assert.True(t, out.Comparisons[0].Consistent)
	require.Len(t, *seen, 2)
	for _, p := range *seen {
		require.NotNil(t, p.Options)
		require.NotNil(t, p.Options.JSONSchema, "a JSON schema asked")
		var schema map[string]any
		require.NoError(t, json.Unmarshal(p.Options.JSONSchema.Schema, &schema))
		assert.Contains(t, fmt.Sprint(schema["properties"]), "verdict")
		assert.Contains(t, p.Messages[1].Content, `"verdict"`, "the prompt asks for the JSON object too")
	}
}

// A server that refuses the schema is asked again in plain text, and the
// judge's later calls go in plain text at once.
func TestPairwiseJudgeFallsBackToPlainText(t *testing.T) {
	g, seen := recordingJudge(func(p prefdata.Prompt) ([]prefdata.Response, error) {
		if p.Options != nil && p.Options.JSONSchema != nil {
			return nil, fmt.Errorf("400: response_format: %w", prefdata.ErrUnsupportedOption)
		}
		a, _ := answers(p)
		if a == "good" {
			return []prefdata.Response{{Text: "A is right. [[A]]"}}, nil
		}
		return []prefdata.Response{{Text: "B is right. [[B]]"}}, nil
	})
	j := &filter.PairwiseJudge{Generator: g, Concurrency: 1}
	out, err := j.Filter(context.Background(), candidate("q", resp("g", "good"), resp("b", "bad")))
	require.NoError(t, err)
	assert.Equal(t, 1.0, out.Comparisons[0].Preference)
	require.Len(t, *seen, 3, "one refused call, then two plain ones")
	assert.Contains(t, (*seen)[1].Messages[1].Content, "[[A]]", "the plain prompt asks for brackets")
	assert.Nil(t, (*seen)[2].Options)
}

// A generator that ignores Options and answers in brackets is still read.
func TestPairwiseJudgeDefaultReadsBrackets(t *testing.T) {
	g, _ := recordingJudge(func(p prefdata.Prompt) ([]prefdata.Response, error) {
		return []prefdata.Response{{Text: "Verdict: [[C]]"}}, nil
	})
	out, err := (&filter.PairwiseJudge{Generator: g}).Filter(context.Background(), candidate("q", resp("x", "one"), resp("y", "two")))
	require.NoError(t, err)
	assert.True(t, out.Comparisons[0].Consistent)
	assert.Equal(t, 0.0, out.Comparisons[0].Preference)
}

// A function-call verdict: the parser reads the tool call's arguments.
func TestPairwiseJudgeFunctionCall(t *testing.T) {
	g, seen := recordingJudge(func(p prefdata.Prompt) ([]prefdata.Response, error) {
		u := p.Messages[len(p.Messages)-1].Content
		first := "m"
		if strings.Index(u, "better") > strings.Index(u, "worse") { // "better" shown as M
			first = "M"
		}
		args := `{"ordered_models": [{"model": "` + first + `", "rank": 1}, {"model": "` + map[string]string{"m": "M", "M": "m"}[first] + `", "rank": 2}]}`
		return []prefdata.Response{{ToolCalls: []prefdata.ToolCall{{Name: "rank", Arguments: args}}}}, nil
	})
	tmpl := filter.Template{User: "Rank the outputs of models m and M for: {{.Prompt}}\nm: {{index .Responses 0}}\nM: {{index .Responses 1}}\n{{.Format}}"}
	parser := filter.RankingVerdict{A: "m", B: "M", Tool: "rank"}
	j := &filter.PairwiseJudge{Generator: g, Template: &tmpl, Parser: parser}
	out, err := j.Filter(context.Background(), candidate("q", resp("w", "worse"), resp("b", "better")))
	require.NoError(t, err)
	assert.Equal(t, -1.0, out.Comparisons[0].Preference, "better (b) wins in both orders")
	assert.True(t, out.Comparisons[0].Consistent)
	assert.Contains(t, out.Comparisons[0].Raw[0], "ordered_models", "the raw reply is the call's arguments")
	require.NotNil(t, (*seen)[0].Options)
	assert.Equal(t, "rank", (*seen)[0].Options.ToolChoice, "the call is forced")
	require.Len(t, (*seen)[0].Options.Tools, 1)
	assert.Len(t, (*seen)[0].Messages, 1, "no System text: no system message")
}

// Soft with a LogprobVerdict: logprobs are asked for, and the soft
// preference is the verdict tokens' probabilities.
func TestPairwiseJudgeLogprobParser(t *testing.T) {
	g, seen := recordingJudge(func(p prefdata.Prompt) ([]prefdata.Response, error) {
		a, _ := answers(p)
		win, lose := "A", "B"
		if a != "good" {
			win, lose = "B", "A"
		}
		return []prefdata.Response{{Text: win, Logprobs: []prefdata.TokenLogprob{{Token: win, Logprob: ln(0.9), Top: []prefdata.TokenLogprob{{Token: win, Logprob: ln(0.9)}, {Token: lose, Logprob: ln(0.1)}}}}}}, nil
	})
	j := &filter.PairwiseJudge{Generator: g, Parser: filter.LogprobVerdict{A: "A", B: "B"}}
	out, err := j.Filter(context.Background(), candidate("q", resp("g", "good"), resp("b", "bad")))
	require.NoError(t, err)
	assert.InDelta(t, 0.8, out.Comparisons[0].Preference, 1e-9)
	require.NotNil(t, (*seen)[0].Options)
	assert.True(t, (*seen)[0].Options.Logprobs)
	assert.Contains(t, (*seen)[0].Messages[1].Content, `one token only: "A" or "B"`)
}

// A template with a reference answer and a rubric.
func TestTemplatePlaceholders(t *testing.T) {
	tmpl := filter.Template{
		System: "Judge by: {{.Rubric}}",
		User:   "Q: {{.Prompt}}Ref: {{.Reference}}\n{{range $i, $r := .Responses}}[{{letter $i}}] {{$r}}\n{{end}}{{.Format}} {{len .Messages}}",
	}
	require.NoError(t, tmpl.Check())
	msgs, err := tmpl.Render(filter.TemplateData{Prompt: "user: hi\n", Responses: []string{"x {{.Prompt}}", "y"}, Reference: "r", Rubric: "facts", Format: "say A or B", Messages: []prefdata.Message{{Role: "user", Content: "hi"}}})
	require.NoError(t, err)
	assert.Equal(t, []prefdata.Message{{Role: "system", Content: "Judge by: facts"}, {Role: "user", Content: "Q: user: hi\nRef: r\n[A] x {{.Prompt}}\n[B] y\nsay A or B 1"}}, msgs, "response text is data, not template")

	assert.ErrorContains(t, filter.Template{User: "{{.Promt}}"}.Check(), "Promt", "an unknown placeholder is an error")
	assert.Error(t, filter.Template{User: "{{.Prompt"}.Check())

	// The reference reaches the default template from Prompt.Meta.
	g, seen := recordingJudge(func(p prefdata.Prompt) ([]prefdata.Response, error) {
		return []prefdata.Response{{Text: `{"explanation": "", "verdict": "C"}`}}, nil
	})
	c := candidate("q", resp("x", "1"), resp("y", "2"))
	c.Prompt.Meta = map[string]string{filter.ReferenceKey: "the gold answer"}
	_, err = (&filter.PairwiseJudge{Generator: g, Rubric: "accuracy only"}).Filter(context.Background(), c)
	require.NoError(t, err)
	assert.Contains(t, (*seen)[0].Messages[1].Content, "[Reference answer]\nthe gold answer\n")
	assert.Contains(t, (*seen)[0].Messages[1].Content, "accuracy only")

	// A bad template fails the candidate with the template's error.
	_, err = (&filter.PairwiseJudge{Generator: g, Template: &filter.Template{User: "{{.Nope}}"}}).Filter(context.Background(), c)
	assert.ErrorContains(t, err, "judge template")
}

// The rubric judge's template and parser can be replaced: "8/10" is read
// with PlainRating.
func TestRubricJudgeTemplateAndParser(t *testing.T) {
	g, seen := recordingJudge(func(p prefdata.Prompt) ([]prefdata.Response, error) {
		return []prefdata.Response{{Text: "Solid, but terse. 8/10"}}, nil
	})
	tmpl := filter.Template{User: "Rate this answer to {{.Prompt}}: {{index .Responses 0}}. {{.Format}}"}
	j := &filter.RubricJudge{Generator: g, Style: filter.StyleSingle, Template: &tmpl, Parser: filter.PlainRating{Min: 1, Max: 10}}
	scores, err := j.Score(context.Background(), prompt("q"), []prefdata.Response{resp("r", "an answer")})
	require.NoError(t, err)
	require.Len(t, scores, 1)
	assert.Equal(t, 8.0, scores[0].Value)
	assert.Equal(t, "Rate this answer to user: q\n: an answer. End with the grade on its own line as: Rating: N (N from 1 to 10).", (*seen)[0].Messages[0].Content)

	// Changing the template changes the fingerprint (no stale cache).
	other := filter.Template{User: tmpl.User + " "}
	j2 := *j
	j2.Template = &other
	assert.NotEqual(t, j.Fingerprint(), j2.Fingerprint())
}

// A JSON verdict asked as a forced function call.
func TestJSONVerdictAsFunctionCall(t *testing.T) {
	g, seen := recordingJudge(func(p prefdata.Prompt) ([]prefdata.Response, error) {
		a, _ := answers(p)
		w := "model_2"
		if a == "good" {
			w = "model_1"
		}
		return []prefdata.Response{{ToolCalls: []prefdata.ToolCall{{Name: "verdict", Arguments: `{"explanation": "", "winner": "` + w + `"}`}}}}, nil
	})
	parser := filter.JSONVerdict{Field: "winner", Values: map[string]string{"model_1": "A", "model_2": "B"}, Tool: "verdict"}
	out, err := (&filter.PairwiseJudge{Generator: g, Parser: parser}).Filter(context.Background(), candidate("q", resp("g", "good"), resp("b", "bad")))
	require.NoError(t, err)
	assert.Equal(t, 1.0, out.Comparisons[0].Preference)
	opts := (*seen)[0].Options
	require.NotNil(t, opts)
	assert.Equal(t, "verdict", opts.ToolChoice)
	require.Len(t, opts.Tools, 1)
	assert.Contains(t, string(opts.Tools[0].Parameters), `"enum":["model_1","model_2"]`)
	assert.Nil(t, opts.JSONSchema)
}

// A rubric judge asked for a JSON rating with a schema.
func TestRubricJudgeJSONRating(t *testing.T) {
	g, seen := recordingJudge(func(p prefdata.Prompt) ([]prefdata.Response, error) {
		return []prefdata.Response{{Text: `{"explanation": "fine", "rating": 7}`}}, nil
	})
	j := &filter.RubricJudge{Generator: g, Style: filter.StyleSingle, Parser: filter.JSONRating{Min: 1, Max: 10}}
	scores, err := j.Score(context.Background(), prompt("q"), []prefdata.Response{resp("r", "x")})
	require.NoError(t, err)
	assert.Equal(t, 7.0, scores[0].Value)
	require.NotNil(t, (*seen)[0].Options)
	require.NotNil(t, (*seen)[0].Options.JSONSchema)
	assert.Contains(t, (*seen)[0].Messages[1].Content, `"rating": <a whole number from 1 to 10>`)

	for text, kind := range map[string]error{
		`{"rating": 11}`:              filter.ErrOutOfRange,
		`{"rating": "7"}`:             filter.ErrNoVerdict,
		`{"rating": 7, "rating": 3}`:  filter.ErrContradictory,
		`{"explanation": "ok", "rati`: filter.ErrTruncated,
	} {
		_, err := filter.JSONRating{}.Parse(prefdata.Response{Text: text})
		assert.ErrorIs(t, err, kind, text)
	}
}
