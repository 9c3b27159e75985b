package filter_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
)

// The built-in parsers are VerdictParsers or RatingParsers.
var (
	_ filter.VerdictParser = filter.BracketVerdict{}
	_ filter.VerdictParser = filter.OutputVerdict{}
	_ filter.VerdictParser = filter.JSONVerdict{}
	_ filter.VerdictParser = filter.RankingVerdict{}
	_ filter.VerdictParser = filter.LogprobVerdict{}
	_ filter.VerdictParser = filter.VerdictParserFunc(nil)
	_ filter.RatingParser  = filter.BracketRating{}
	_ filter.RatingParser  = filter.PlainRating{}
	_ filter.RatingParser  = filter.RatingParserFunc(nil)
)

type verdictCase struct {
	text  string
	label string
	pref  float64
	err   error
}

func checkVerdicts(t *testing.T, p filter.VerdictParser, cases []verdictCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.text, func(t *testing.T) {
			got, err := p.Parse(prefdata.Response{Text: tt.text})
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				var pe *filter.ParseError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, tt.text, pe.Raw, "raw reply kept")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, filter.Verdict{Label: tt.label, Preference: tt.pref}, got)
		})
	}
}

func TestBracketVerdict(t *testing.T) {
	checkVerdicts(t, filter.BracketVerdict{Scale: filter.ThreeWay}, []verdictCase{
		{"[[A]]", "A", 1, nil},
		{"My verdict: [[A]]. [[Wait, [[B]]", "", 0, filter.ErrContradictory},
		{"[[A>B]]", "", 0, filter.ErrNoVerdict},
		{"[[B", "", 0, filter.ErrTruncated},
	})
	checkVerdicts(t, filter.BracketVerdict{Scale: filter.FiveLevel}, []verdictCase{
		{"My final verdict is: [[B>>A]]", "B>>A", -1, nil},
		{"[[A>B]] ... [[A>>B]]", "", 0, filter.ErrContradictory},
		{"[[A]]", "", 0, filter.ErrNoVerdict},
		{"[[A>", "", 0, filter.ErrTruncated},
	})
}

func TestOutputVerdict(t *testing.T) {
	checkVerdicts(t, filter.OutputVerdict{}, []verdictCase{
		{"Output (a)", "A", 1, nil},
		{"**Output (b)**.", "B", -1, nil},
		{"output (B)", "B", -1, nil},
		{"Output (a) is better. Output (a) wins.", "A", 1, nil},
		{"Output (a) is better than Output (b)", "", 0, filter.ErrContradictory},
		{"Output (", "", 0, filter.ErrTruncated},
		{"The first one.", "", 0, filter.ErrNoVerdict},
		{"Output (c)", "", 0, filter.ErrNoVerdict},
	})
}

func TestJSONVerdict(t *testing.T) {
	checkVerdicts(t, filter.JSONVerdictFor(filter.ThreeWay), []verdictCase{
		{`{"explanation": "B is wrong", "verdict": "A"}`, "A", 1, nil},
		{"```json\n{\"verdict\": \"C\"}\n```", "C", 0, nil},
		{`{"verdict": "tie"}`, "C", 0, nil},
		{`{"verdict": "A", "verdict": "B"}`, "", 0, filter.ErrContradictory},
		{`{"verdict": "A", "verdict": "A"}`, "A", 1, nil},
		{`{"explanation": "B is wro`, "", 0, filter.ErrTruncated},
		{`{"verdict": "A"`, "", 0, filter.ErrTruncated},
		{"```json\n{\"verdict\": \"A\"}", "", 0, filter.ErrTruncated},
		{`{"verdict": "A>B"}`, "", 0, filter.ErrNoVerdict},
		{`{"verdict": "D"}`, "", 0, filter.ErrNoVerdict},
		{`{"verdict": 1}`, "", 0, filter.ErrNoVerdict},
		{`{"explanation": "x"}`, "", 0, filter.ErrNoVerdict},
		{`{"verdict": "A"} and more`, "", 0, filter.ErrNoVerdict},
		{`The verdict is A`, "", 0, filter.ErrNoVerdict},
		{`["A"]`, "", 0, filter.ErrNoVerdict},
		{``, "", 0, filter.ErrNoVerdict},
	})
	checkVerdicts(t, filter.JSONVerdictFor(filter.FiveLevel), []verdictCase{
		{`{"verdict": "A>B"}`, "A>B", 0.5, nil},
		{`{"verdict": "A"}`, "", 0, filter.ErrNoVerdict},
	})
	checkVerdicts(t, filter.JSONVerdict{Field: "winner", Values: map[string]string{"model_1": "A", "model_2": "B"}}, []verdictCase{
		{`{"winner": "model_2"}`, "B", -1, nil},
		{`{"winner": "model_3"}`, "", 0, filter.ErrNoVerdict},
	})
}

func TestRankingVerdict(t *testing.T) {
	checkVerdicts(t, filter.RankingVerdict{A: "m", B: "M"}, []verdictCase{
		{`{"concise_explanation": "x", "ordered_models": [{"model": "M", "rank": 1}, {"model": "m", "rank": 2}]}`, "B", -1, nil},
		{`{"ordered_models": [{"model": "m", "rank": 1}, {"model": "M", "rank": 2}]}`, "A", 1, nil},
		{`{"ordered_models": [{"model": "m", "rank": 1}, {"model": "M", "rank": 1}]}`, "C", 0, nil},
		{`{"ordered_models": [{"model": "m", "rank": 1}, {"model": "m", "rank": 2}]}`, "", 0, filter.ErrContradictory},
		{`{"ordered_models": [{"model": "m", "rank": 1}]}`, "", 0, filter.ErrNoVerdict},
		{`{"ordered_models": [{"model": "m", "rank": 1}, {"model": "X", "rank": 2}]}`, "", 0, filter.ErrNoVerdict},
		{`{"ordered_models": [{"model": "m", "rank": 0.5}, {"model": "M", "rank": 2}]}`, "", 0, filter.ErrNoVerdict},
		{`{"ordered_models": [{"model": "m", "rank": 1}, {"model": "M", "ra`, "", 0, filter.ErrTruncated},
		{`{"ordered_models": [], "ordered_models": [{"model": "m", "rank": 1}, {"model": "M", "rank": 2}]}`, "", 0, filter.ErrContradictory},
	})
}

func TestLogprobVerdict(t *testing.T) {
	p := filter.LogprobVerdict{A: "m", B: "M"}
	reply := prefdata.Response{Text: "M", Logprobs: []prefdata.TokenLogprob{{Token: "M", Logprob: math.Log(0.7), Top: []prefdata.TokenLogprob{
		{Token: "M", Logprob: math.Log(0.7)}, {Token: "The", Logprob: math.Log(0.1)}, {Token: "m", Logprob: math.Log(0.2)},
	}}}}
	v, err := p.Parse(reply)
	require.NoError(t, err)
	assert.Equal(t, "B", v.Label)
	assert.InDelta(t, (0.2-0.7)/0.9, v.Preference, 1e-12, "soft: over the verdict tokens only")

	_, err = p.Parse(prefdata.Response{Text: "M"})
	assert.ErrorIs(t, err, filter.ErrNoVerdict, "no logprobs")
	_, err = p.Parse(prefdata.Response{Text: "The", Logprobs: []prefdata.TokenLogprob{{Token: "The"}}})
	assert.ErrorIs(t, err, filter.ErrNoVerdict)

	after := filter.LogprobVerdict{A: "A", B: "B", Tie: "C", After: "[["}
	v, err = after.Parse(prefdata.Response{Text: "A is ok. [[B]]", Logprobs: []prefdata.TokenLogprob{
		{Token: "A"}, {Token: " is ok."}, {Token: " [["}, {Token: "B", Logprob: math.Log(0.5), Top: []prefdata.TokenLogprob{{Token: "B", Logprob: math.Log(0.5)}, {Token: "C", Logprob: math.Log(0.5)}}}, {Token: "]]"},
	}})
	require.NoError(t, err)
	assert.Equal(t, "B", v.Label, "the A before [[ is not the verdict")
	assert.InDelta(t, -0.5, v.Preference, 1e-12)
}

func TestPlainRating(t *testing.T) {
	tests := []struct {
		text string
		want float64
		err  error
	}{
		{"Overall a solid answer: 8/10", 8, nil},
		{"I'd give it 8 out of 10.", 8, nil},
		{"Rating: 8", 8, nil},
		{"**Rating:** 7\n", 7, nil},
		{"Score: 9. Rating: 9/10", 9, nil},
		{"Rating: [[6]]", 6, nil},
		{"Rating: 8/10, or rather 6/10", 0, filter.ErrContradictory},
		{"Rating: 8\n\nRating: [[3]]", 0, filter.ErrContradictory},
		{"It covers 2/3 of the steps; 1/2 the code is right. Rating: 4", 4, nil},
		{"See section x8/10 and 2026-08/10. Rating: 5", 5, nil},
		{"8/100 of the tests pass. Rating: 5", 5, nil},
		{"Rating: 12", 0, filter.ErrOutOfRange},
		{"Rating: 7.5", 0, filter.ErrOutOfRange},
		{"Rating: [[1", 0, filter.ErrTruncated},
		{"Overall: 8/1", 0, filter.ErrTruncated},
		{"Rating:", 0, filter.ErrTruncated},
		{"No number here. Rating: good", 0, filter.ErrNoVerdict},
		{"The moderating: 5 steps", 0, filter.ErrNoVerdict},
		{"", 0, filter.ErrNoVerdict},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := filter.ParsePlainRating(tt.text)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err, "got %v", got)
				var pe *filter.ParseError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, tt.text, pe.Raw)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	got, err := filter.PlainRating{Min: 1, Max: 5}.Parse(prefdata.Response{Text: "4/5, not 4/10"})
	require.NoError(t, err, "only the scale's denominator is a rating")
	assert.Equal(t, 4.0, got)
}

// alpacaEvalAnnotations reads one of the judge_replies files.
func alpacaEvalAnnotations(t *testing.T, rel string) []map[string]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(sharedData(t, rel))
	require.NoError(t, err)
	var rows []map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &rows))
	return rows
}

// TestAlpacaEvalFunctionCallVerdicts parses 805 real GPT-4-turbo verdicts
// given as a function call (ordered_models) with RankingVerdict, and checks
// each against AlpacaEval's own parse.
func TestAlpacaEvalFunctionCallVerdicts(t *testing.T) {
	const file = "judge_replies/alpaca_eval_cot_gpt4_turbo_fn_claude-2.1.json"
	rows := alpacaEvalAnnotations(t, file)
	var replies, parsed, decided, agree, noReply int
	for i, row := range rows {
		if string(row["raw_completion"]) == "null" {
			noReply++ // AlpacaEval recorded no reply (preference 1.5)
			continue
		}
		replies++
		var refs map[string]string
		require.NoError(t, json.Unmarshal(row["referenced_models"], &refs), "%s: row %d", file, i)
		var p filter.RankingVerdict
		for name, out := range refs {
			switch out {
			case "output_1":
				p.A = name
			case "output_2":
				p.B = name
			}
		}
		// One row maps only "M"; the prompt named the outputs "m" and "M",
		// so the other is "m".
		other := map[string]string{"m": "M", "M": "m"}
		if p.A == "" {
			p.A = other[p.B]
		}
		if p.B == "" {
			p.B = other[p.A]
		}
		// The reply is a function call whose arguments are raw_completion.
		reply := prefdata.Response{ToolCalls: []prefdata.ToolCall{{Name: "make_partial_leaderboard", Arguments: string(row["raw_completion"])}}}
		v, err := p.Parse(reply)
		if !assert.NoError(t, err, "%s: row %d", file, i) {
			continue
		}
		parsed++
		var pref float64
		require.NoError(t, json.Unmarshal(row["preference"], &pref))
		if v.Preference == 0 {
			continue // not one model first
		}
		decided++
		want := 1.0 // AlpacaEval: 1 means output_1 wins, 2 output_2
		if v.Preference < 0 {
			want = 2
		}
		if assert.Equal(t, want, pref, "%s: row %d: %+v", file, i, v) {
			agree++
		}
	}
	t.Logf("%s: %d rows, %d without a reply; %d replies, %d parsed, %d rank one model first, %d agree with AlpacaEval", file, len(rows), noReply, replies, parsed, decided, agree)
	assert.Equal(t, 805, len(rows))
	assert.Equal(t, replies, parsed)
}

// TestAlpacaEvalLogprobVerdicts reads 805 real one-token verdicts ("m" or
// "M") with their log-probabilities and checks each soft preference's
// strength against AlpacaEval's.
func TestAlpacaEvalLogprobVerdicts(t *testing.T) {
	const file = "judge_replies/alpaca_eval_weighted_gpt4_turbo_alpaca-7b.json"
	rows := alpacaEvalAnnotations(t, file)
	p := filter.LogprobVerdict{A: "m", B: "M"}
	var replies, parsed, match, noReply int
	var worst float64
	for i, row := range rows {
		if string(row["raw_completion"]) == "null" {
			noReply++
			continue
		}
		replies++
		var rc struct {
			Logprobs struct {
				Content []struct {
					Token       string  `json:"token"`
					Logprob     float64 `json:"logprob"`
					TopLogprobs []struct {
						Token   string  `json:"token"`
						Logprob float64 `json:"logprob"`
					} `json:"top_logprobs"`
				} `json:"content"`
			} `json:"logprobs"`
			Text string `json:"text"`
		}
		require.NoError(t, json.Unmarshal(row["raw_completion"], &rc), "%s: row %d", file, i)
		reply := prefdata.Response{Text: rc.Text}
		for _, c := range rc.Logprobs.Content {
			tl := prefdata.TokenLogprob{Token: c.Token, Logprob: c.Logprob}
			for _, a := range c.TopLogprobs {
				tl.Top = append(tl.Top, prefdata.TokenLogprob{Token: a.Token, Logprob: a.Logprob})
			}
			reply.Logprobs = append(reply.Logprobs, tl)
		}
		v, err := p.Parse(reply)
		if !assert.NoError(t, err, "%s: row %d", file, i) {
			continue
		}
		parsed++
		var pref float64
		require.NoError(t, json.Unmarshal(row["preference"], &pref))
		// Which of m/M was output_1 is not recorded, so compare strengths:
		// AlpacaEval's |preference - 1.5| + 0.5 is the winner's probability.
		want := math.Abs(pref-1.5) + 0.5
		got := math.Abs(v.Preference)/2 + 0.5
		worst = math.Max(worst, math.Abs(got-want))
		if assert.InDelta(t, want, got, 0.01, "%s: row %d", file, i) {
			match++
		}
	}
	t.Logf("%s: %d rows, %d without a reply; %d replies, %d give a soft preference, %d within 0.01 of AlpacaEval's strength (largest difference %.2g)", file, len(rows), noReply, replies, parsed, match, worst)
	assert.Equal(t, 805, len(rows))
	assert.Equal(t, replies, match)
}

// The schemas the parsers ask for are encoded once per configuration and
// are still each configuration's own: the same JSON as their Schema, and a
// change of field, scale, values or range changes it.
func TestParserSchemasEncodedPerConfiguration(t *testing.T) {
	encode := func(schema map[string]any) string {
		b, err := json.Marshal(schema)
		require.NoError(t, err)
		return string(b)
	}
	verdicts := []filter.JSONVerdict{filter.JSONVerdictFor(filter.ThreeWay), filter.JSONVerdictFor(filter.FiveLevel),
		{Field: "winner", Values: map[string]string{"first": "A", "second": "B"}, Tool: "verdict"}, {Field: "winner", Values: map[string]string{"x": "A"}, Tool: "verdict"}}
	seen := map[string]bool{}
	for range 2 { // the second time from the cache
		for _, p := range verdicts {
			o := p.GenerateOptions()
			require.NotNil(t, o)
			got := ""
			if o.JSONSchema != nil {
				got = string(o.JSONSchema.Schema)
			} else {
				got = string(o.Tools[0].Parameters)
			}
			assert.Equal(t, encode(p.Schema()), got)
			seen[got] = true
		}
		for _, p := range []filter.JSONRating{{Min: 1, Max: 10}, {Min: 1, Max: 5}, {Field: "grade", Min: 1, Max: 10}} {
			o := p.GenerateOptions()
			assert.Equal(t, encode(p.Schema()), string(o.JSONSchema.Schema))
			seen[string(o.JSONSchema.Schema)] = true
		}
	}
	assert.Len(t, seen, 7, "each configuration has its own schema")
	// The shared bytes cannot be written through an append.
	s := filter.JSONRating{Min: 1, Max: 10}.GenerateOptions().JSONSchema.Schema
	_ = append(s, '!')
	assert.Equal(t, encode(filter.JSONRating{Min: 1, Max: 10}.Schema()), string(filter.JSONRating{Min: 1, Max: 10}.GenerateOptions().JSONSchema.Schema))
}
