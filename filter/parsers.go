package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prefdata/prefdata"
)

// VerdictParser reads a pairwise judge's reply into a [Verdict] whose
// Preference is for the response shown as A (positive) over the one shown
// as B (negative).
//
// Parse is given the judge's whole response: its text, its log-probabilities
// and its structured output when the generator returned them. A reply that
// holds no single, whole verdict must be reported as a [*ParseError] (kind
// [ErrNoVerdict], [ErrContradictory], [ErrTruncated] or [ErrOutOfRange])
// keeping the raw reply: the judges ask again on a *ParseError and record
// the pair as undecided if it stays unreadable. Any other error fails the
// candidate. Parse must be safe for concurrent use and must not keep reply.
//
// A parser may also implement [FormatHinter], to tell the judge how to ask
// for its form, and [prefdata.Fingerprinter], so that cached verdicts are not
// reused after it changes.
type VerdictParser interface {
	Parse(reply prefdata.Response) (Verdict, error)
}

// VerdictParserFunc adapts a function to a [VerdictParser].
type VerdictParserFunc func(reply prefdata.Response) (Verdict, error)

// Parse returns f(reply).
func (f VerdictParserFunc) Parse(reply prefdata.Response) (Verdict, error) { return f(reply) }

// RatingParser reads a pointwise judge's reply into one rating. Its contract
// is [VerdictParser]'s: an unreadable reply is a [*ParseError].
type RatingParser interface {
	Parse(reply prefdata.Response) (float64, error)
}

// RatingParserFunc adapts a function to a [RatingParser].
type RatingParserFunc func(reply prefdata.Response) (float64, error)

// Parse returns f(reply).
func (f RatingParserFunc) Parse(reply prefdata.Response) (float64, error) { return f(reply) }

// FormatHinter is implemented by parsers that can say, in one or two
// sentences for the judge, what form the verdict must take. The judges put
// the hint in the prompt (the template's {{.Format}}) and in the reminder
// sent with a re-ask.
type FormatHinter interface {
	FormatHint() string
}

func hintOf(p any) string {
	if h, ok := p.(FormatHinter); ok {
		return h.FormatHint()
	}
	return ""
}

func parserFingerprint(p any) string {
	if fp, ok := p.(prefdata.Fingerprinter); ok {
		return fp.Fingerprint()
	}
	switch p.(type) {
	case VerdictParserFunc, RatingParserFunc:
		return fmt.Sprintf("%T", p) // a func's address says nothing stable
	}
	return prefdata.Hash(fmt.Sprintf("%T", p), p) // exported fields, pointers followed
}

// ---- "[[A]]" / "[[A>>B]]" ----

// BracketVerdict reads "[[A]]", "[[B]]" or "[[C]]" (tie) with the ThreeWay
// scale, Arena-Hard's "[[A>>B]]" ... "[[B>>A]]" with FiveLevel, as
// [ParseVerdict] does, and refuses a verdict of the other scale.
type BracketVerdict struct {
	Scale VerdictScale
}

// Parse reads reply.Text.
func (p BracketVerdict) Parse(reply prefdata.Response) (Verdict, error) {
	v, err := ParseVerdict(reply.Text)
	if err != nil {
		return v, err
	}
	if five := len(v.Label) > 1; five != (p.Scale == FiveLevel) {
		want := "[[A]], [[B]] or [[C]]"
		if p.Scale == FiveLevel {
			want = "[[A>>B]], [[A>B]], [[A=B]], [[B>A]] or [[B>>A]]"
		}
		return Verdict{}, &ParseError{Kind: ErrNoVerdict, Detail: "verdict " + v.Label + " where " + want + " was asked", Raw: reply.Text}
	}
	return v, nil
}

// FormatHint says which bracketed verdicts to write.
func (p BracketVerdict) FormatHint() string {
	if p.Scale == FiveLevel {
		return "Write exactly one of: [[A>>B]] (A is much better), [[A>B]] (A is better), [[A=B]] (about the same), [[B>A]] (B is better), [[B>>A]] (B is much better)."
	}
	return "Write exactly one of: [[A]] (A is better), [[B]] (B is better), [[C]] (a tie)."
}

// softBracket is the three-way bracket verdict whose preference, when the
// reply has log-probabilities, is P(A) - P(B) of the verdict letter.
type softBracket struct{ BracketVerdict }

func (p softBracket) GenerateOptions() *prefdata.GenerateOptions {
	return &prefdata.GenerateOptions{Logprobs: true, TopLogprobs: 5}
}

func (p softBracket) Parse(reply prefdata.Response) (Verdict, error) {
	v, err := p.BracketVerdict.Parse(reply)
	if err != nil {
		return v, err
	}
	if soft, ok := softPreference(reply.Logprobs); ok {
		v.Preference = soft
	}
	return v, nil
}

// ---- "Output (a)" / "Output (b)" ----

// OutputVerdict reads replies that name the better response as "Output (a)"
// or "Output (b)" (LLMBar's and AlpacaFarm's form; case, spaces, bold marks
// and a final period are ignored). A reply naming both, or neither, or
// ending in "Output (" is a *ParseError. There is no tie.
type OutputVerdict struct{}

// Parse reads reply.Text.
func (OutputVerdict) Parse(reply prefdata.Response) (Verdict, error) {
	text := reply.Text
	low := strings.ToLower(text)
	if end := strings.TrimRight(low, " \t\r\n*"); strings.HasSuffix(end, "output (") || strings.HasSuffix(end, "output") {
		return Verdict{}, &ParseError{Kind: ErrTruncated, Detail: `reply ends inside "Output (…)"`, Raw: text}
	}
	var found []string
	for i := 0; ; {
		k := strings.Index(low[i:], "output")
		if k < 0 {
			break
		}
		rest := strings.TrimLeft(low[i+k+len("output"):], " ")
		i += k + len("output")
		if len(rest) >= 3 && rest[0] == '(' && rest[2] == ')' && (rest[1] == 'a' || rest[1] == 'b') {
			found = append(found, rest[1:2])
		}
	}
	if len(found) == 0 {
		return Verdict{}, &ParseError{Kind: ErrNoVerdict, Detail: `no "Output (a)" or "Output (b)"`, Raw: text}
	}
	for _, f := range found[1:] {
		if f != found[0] {
			return Verdict{}, &ParseError{Kind: ErrContradictory, Detail: `both "Output (a)" and "Output (b)"`, Raw: text}
		}
	}
	if found[0] == "a" {
		return Verdict{Label: "A", Preference: 1}, nil
	}
	return Verdict{Label: "B", Preference: -1}, nil
}

// FormatHint asks for "Output (a)" or "Output (b)" alone.
func (OutputVerdict) FormatHint() string {
	return `Reply with "Output (a)" or "Output (b)" only, and nothing else.`
}

// ---- JSON objects: schema-constrained output or a function call ----

// JSONVerdict reads a verdict given as a JSON object: the reply's text when
// the server was asked for JSON output (a JSON schema), or the arguments of
// the reply's first tool call (a function call). The object's Field holds
// one of the verdict labels ParseVerdict knows, without brackets ("A", "B",
// "C" or "tie", "A>>B", ...); Values, if set, maps other strings to labels
// ({"model_1": "A", "model_2": "B"}).
//
// Strict: text that is not one JSON object (a ```json fence around it is
// allowed), an object cut off before its end, a missing field, an unknown
// value, or the field given twice with different values are *ParseErrors.
type JSONVerdict struct {
	Field  string            // default "verdict"
	Values map[string]string // optional: value -> verdict label
	// Tool, if set, asks for the verdict as a forced call of a function of
	// this name whose parameters are [JSONVerdict.Schema].
	Tool string
	// Scale, if set (ThreeWay or FiveLevel as 1+scale), restricts the
	// labels; zero accepts both. Use [JSONVerdictFor] to build one.
	scale *VerdictScale
}

// JSONVerdictFor returns the JSONVerdict the default judges use for scale:
// field "verdict" with the scale's labels only.
func JSONVerdictFor(scale VerdictScale) JSONVerdict {
	return JSONVerdict{Field: "verdict", scale: &scale}
}

func (p JSONVerdict) field() string {
	if p.Field == "" {
		return "verdict"
	}
	return p.Field
}

// Fingerprint covers the field, the value map and the scale.
func (p JSONVerdict) Fingerprint() string {
	return prefdata.Hash("filter.JSONVerdict", p.field(), p.Values, p.scale, p.Tool)
}

// Parse reads the first tool call's arguments if the reply has one, else the
// text.
func (p JSONVerdict) Parse(reply prefdata.Response) (Verdict, error) {
	raw := structuredText(reply)
	obj, err := jsonObject(raw)
	if err != nil {
		return Verdict{}, err
	}
	vals := obj[p.field()]
	if len(vals) == 0 {
		return Verdict{}, &ParseError{Kind: ErrNoVerdict, Detail: fmt.Sprintf("no %q field", p.field()), Raw: raw}
	}
	var first Verdict
	for i, rv := range vals {
		var s string
		if err := json.Unmarshal(rv, &s); err != nil {
			return Verdict{}, &ParseError{Kind: ErrNoVerdict, Detail: fmt.Sprintf("%q is %s, not a string", p.field(), rv), Raw: raw}
		}
		label := s
		if m, ok := p.Values[s]; ok {
			label = m
		}
		key := verdictKey(label)
		if !knownVerdict(key) || (p.scale != nil && (len(canonicalVerdict(key).Label) > 1) != (*p.scale == FiveLevel)) {
			return Verdict{}, &ParseError{Kind: ErrNoVerdict, Detail: fmt.Sprintf("%q is %q, not a verdict", p.field(), s), Raw: raw}
		}
		v := canonicalVerdict(key)
		if i == 0 {
			first = v
		} else if v != first {
			return Verdict{}, &ParseError{Kind: ErrContradictory, Detail: fmt.Sprintf("%q given twice: %s and %s", p.field(), first.Label, v.Label), Raw: raw}
		}
	}
	return first, nil
}

// FormatHint asks for the JSON object.
func (p JSONVerdict) FormatHint() string {
	labels := `"A" (A is better), "B" (B is better) or "C" (a tie)`
	if p.scale != nil && *p.scale == FiveLevel {
		labels = `"A>>B" (A is much better), "A>B", "A=B" (about the same), "B>A" or "B>>A" (B is much better)`
	}
	// Built on every judge call: concatenated, not formatted (the same text).
	return `Reply with a JSON object only: {"explanation": "<a few sentences>", ` + strconv.Quote(p.field()) + `: <one of ` + labels + `>}.`
}

// GenerateOptions asks for the verdict as a forced call of Tool when it is
// set; otherwise for a reply matching [JSONVerdict.Schema] when the parser
// came from [JSONVerdictFor]. A JSONVerdict built by hand without Tool reads
// whatever JSON the judge writes and asks for nothing.
func (p JSONVerdict) GenerateOptions() *prefdata.GenerateOptions {
	if p.Tool == "" && p.scale == nil {
		return nil // plain JSON in the text: nothing to ask for
	}
	schema := encodedSchema("verdict\x00"+p.field()+"\x00"+strings.Join(p.labels(), "\x00"), p.Schema)
	switch {
	case p.Tool != "":
		return &prefdata.GenerateOptions{
			Tools:      []prefdata.Tool{{Name: p.Tool, Description: "Give the verdict on the two answers.", Parameters: schema}},
			ToolChoice: p.Tool,
		}
	case p.scale != nil:
		return &prefdata.GenerateOptions{JSONSchema: &prefdata.JSONSchema{Name: "verdict", Schema: schema, Strict: true}}
	}
	return nil
}

// labels are the verdicts the schema allows.
func (p JSONVerdict) labels() []string {
	switch {
	case len(p.Values) > 0:
		labels := make([]string, 0, len(p.Values))
		for v := range p.Values {
			labels = append(labels, v)
		}
		sort.Strings(labels)
		return labels
	case p.scale != nil && *p.scale == FiveLevel:
		return []string{"A>>B", "A>B", "A=B", "B>A", "B>>A"}
	}
	return []string{"A", "B", "C"}
}

// Schema returns the JSON schema of the object JSONVerdictFor's parser
// reads, for a server's structured output (response_format json_schema).
func (p JSONVerdict) Schema() map[string]any {
	labels := p.labels()
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			"explanation": map[string]any{"type": "string"},
			p.field():     map[string]any{"type": "string", "enum": labels},
		},
		"required":             []string{"explanation", p.field()},
		"additionalProperties": false,
	}
}

// RankingVerdict reads a ranking of the two responses given as a JSON object
// (text or a tool call's arguments), as AlpacaEval's function-call judges
// return it: {"ordered_models": [{"model": "M", "rank": 1}, {"model": "m",
// "rank": 2}]}. A and B are the names the prompt gave the responses shown
// as A and B ("m" and "M" in AlpacaEval's prompts, whose mapping to outputs
// its referenced_models records).
//
// The response ranked first (lower rank) is preferred, with preference ±1;
// equal ranks are a tie. A ranking that names a model twice, misses A or
// B, names another model, or gives a rank that is not a positive whole
// number is a *ParseError.
type RankingVerdict struct {
	A, B  string
	Field string // default "ordered_models"
	// ModelKey and RankKey name the entries' fields (default "model" and
	// "rank").
	ModelKey, RankKey string
	// Tool, if set, asks for the ranking as a forced call of a function of
	// this name, whose parameters are the ranking's schema (AlpacaEval's
	// "make_partial_leaderboard"); otherwise nothing is asked and the
	// ranking is read from the text or any tool call.
	Tool string
}

// GenerateOptions forces a call of Tool, when set.
func (p RankingVerdict) GenerateOptions() *prefdata.GenerateOptions {
	if p.Tool == "" {
		return nil
	}
	field, mk, rk := orDefault(p.Field, "ordered_models"), orDefault(p.ModelKey, "model"), orDefault(p.RankKey, "rank")
	schema, _ := json.Marshal(map[string]any{
		"type": "object",
		"properties": map[string]any{
			field: map[string]any{
				"type": "array",
				"items": map[string]any{
					"type": "object",
					"properties": map[string]any{
						mk: map[string]any{"type": "string", "enum": []string{p.A, p.B}},
						rk: map[string]any{"type": "integer"},
					},
					"required":             []string{mk, rk},
					"additionalProperties": false,
				},
			},
		},
		"required":             []string{field},
		"additionalProperties": false,
	})
	return &prefdata.GenerateOptions{
		Tools:      []prefdata.Tool{{Name: p.Tool, Description: "Rank the models' outputs, the best first.", Parameters: schema}},
		ToolChoice: p.Tool,
	}
}

// Fingerprint covers the names and fields.
func (p RankingVerdict) Fingerprint() string {
	return prefdata.Hash("filter.RankingVerdict", p.A, p.B, p.Field, p.ModelKey, p.RankKey, p.Tool)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Parse reads the first tool call's arguments if the reply has one, else the
// text.
func (p RankingVerdict) Parse(reply prefdata.Response) (Verdict, error) {
	field, mk, rk := orDefault(p.Field, "ordered_models"), orDefault(p.ModelKey, "model"), orDefault(p.RankKey, "rank")
	raw := structuredText(reply)
	fail := func(kind error, format string, args ...any) (Verdict, error) {
		return Verdict{}, &ParseError{Kind: kind, Detail: fmt.Sprintf(format, args...), Raw: raw}
	}
	if p.A == "" || p.B == "" || p.A == p.B {
		return Verdict{}, fmt.Errorf("RankingVerdict: names A %q and B %q must be set and differ", p.A, p.B)
	}
	obj, err := jsonObject(raw)
	if err != nil {
		return Verdict{}, err
	}
	vals := obj[field]
	switch {
	case len(vals) == 0:
		return fail(ErrNoVerdict, "no %q field", field)
	case len(vals) > 1:
		return fail(ErrContradictory, "%q given %d times", field, len(vals))
	}
	var entries []map[string]json.RawMessage
	if err := json.Unmarshal(vals[0], &entries); err != nil {
		return fail(ErrNoVerdict, "%q is not a list of objects: %v", field, err)
	}
	ranks := map[string]int{}
	for i, e := range entries {
		var name string
		if err := json.Unmarshal(e[mk], &name); err != nil || name == "" {
			return fail(ErrNoVerdict, "entry %d: no %q string", i, mk)
		}
		var rank float64
		if err := json.Unmarshal(e[rk], &rank); err != nil || rank < 1 || rank != math.Trunc(rank) {
			return fail(ErrNoVerdict, "entry %d (%s): %q is %s, not a positive whole number", i, name, rk, e[rk])
		}
		if name != p.A && name != p.B {
			return fail(ErrNoVerdict, "entry %d names %q, neither %q nor %q", i, name, p.A, p.B)
		}
		if _, dup := ranks[name]; dup {
			return fail(ErrContradictory, "%q ranked twice", name)
		}
		ranks[name] = int(rank)
	}
	ra, okA := ranks[p.A]
	rb, okB := ranks[p.B]
	if !okA || !okB {
		return fail(ErrNoVerdict, "ranking misses %q or %q", p.A, p.B)
	}
	switch {
	case ra < rb:
		return Verdict{Label: "A", Preference: 1}, nil
	case rb < ra:
		return Verdict{Label: "B", Preference: -1}, nil
	}
	return Verdict{Label: "C", Preference: 0}, nil
}

// FormatHint asks for the ranking.
func (p RankingVerdict) FormatHint() string {
	field, mk, rk := orDefault(p.Field, "ordered_models"), orDefault(p.ModelKey, "model"), orDefault(p.RankKey, "rank")
	return fmt.Sprintf(`Reply with a JSON object only: {%q: [{%q: "<%s or %s>", %q: 1}, {%q: "<the other>", %q: 2}]}, the better one ranked 1.`, field, mk, p.A, p.B, rk, mk, rk)
}

// structuredText is the JSON a structured reply carries: the first tool
// call's arguments when there is one, else the text.
func structuredText(r prefdata.Response) string {
	if args, ok := toolArguments(r); ok {
		return args
	}
	return r.Text
}

// jsonObject decodes raw as one JSON object, keeping every value of a key
// given more than once, in order. A ```json fence around the object is
// allowed.
func jsonObject(raw string) (map[string][]json.RawMessage, error) {
	text := strings.TrimSpace(raw)
	if strings.HasPrefix(text, "```") {
		body := strings.TrimPrefix(strings.TrimPrefix(text, "```"), "json")
		var closed bool
		if body, closed = strings.CutSuffix(strings.TrimSpace(body), "```"); !closed {
			return nil, &ParseError{Kind: ErrTruncated, Detail: "``` fence not closed", Raw: raw}
		}
		text = strings.TrimSpace(body)
	}
	if text == "" {
		return nil, &ParseError{Kind: ErrNoVerdict, Detail: "empty reply where a JSON object was asked", Raw: raw}
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	bad := func(err error) error {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return &ParseError{Kind: ErrTruncated, Detail: "JSON object cut off", Raw: raw}
		}
		return &ParseError{Kind: ErrNoVerdict, Detail: "not a JSON object: " + err.Error(), Raw: raw}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, bad(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &ParseError{Kind: ErrNoVerdict, Detail: "not a JSON object", Raw: raw}
	}
	out := map[string][]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad(err)
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, bad(err)
		}
		out[key] = append(out[key], v)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, bad(err)
	}
	rest, _ := io.ReadAll(dec.Buffered())
	if len(bytes.TrimSpace(rest)) > 0 || dec.More() {
		return nil, &ParseError{Kind: ErrNoVerdict, Detail: "text after the JSON object", Raw: raw}
	}
	return out, nil
}

// ---- one-token verdicts with log-probabilities ----

// LogprobVerdict reads a one-token verdict and its log-probabilities, as in
// AlpacaEval's weighted judges (the reply is "m" or "M") or RLAIF: the
// preference is (P(A) - P(B)) / (P(A) + P(B) + P(Tie)) over the verdict
// token's top alternatives, a soft preference in [-1, 1] whose strength is
// the winning token's normalized probability. Tokens are compared after
// trimming spaces, case kept ("m" and "M" differ).
//
// The verdict token is the first generated token that is A, B or Tie,
// after the text After if set (such as "[[", to skip a rationale). A reply
// with no log-probabilities (ask for them: Sampling.Logprobs and
// TopLogprobs), no verdict token, or whose verdict token's alternatives give
// the verdicts no probability, is a *ParseError.
type LogprobVerdict struct {
	A, B, Tie string
	After     string
}

// Fingerprint covers the tokens.
func (p LogprobVerdict) Fingerprint() string {
	return prefdata.Hash("filter.LogprobVerdict", p.A, p.B, p.Tie, p.After)
}

// Parse reads reply.Logprobs.
func (p LogprobVerdict) Parse(reply prefdata.Response) (Verdict, error) {
	if p.A == "" || p.B == "" || p.A == p.B {
		return Verdict{}, fmt.Errorf("LogprobVerdict: tokens A %q and B %q must be set and differ", p.A, p.B)
	}
	fail := func(kind error, detail string) (Verdict, error) {
		return Verdict{}, &ParseError{Kind: kind, Detail: detail, Raw: reply.Text}
	}
	if len(reply.Logprobs) == 0 {
		if strings.TrimSpace(reply.Text) == "" {
			return fail(ErrNoVerdict, "empty reply")
		}
		return fail(ErrNoVerdict, "reply has no log-probabilities")
	}
	is := func(tok string) bool {
		t := strings.TrimSpace(tok)
		return t == p.A || t == p.B || (p.Tie != "" && t == p.Tie)
	}
	var text strings.Builder
	seen := p.After == ""
	for _, t := range reply.Logprobs {
		if !seen {
			text.WriteString(t.Token)
			seen = strings.HasSuffix(strings.TrimRight(text.String(), " "), p.After)
			continue
		}
		if !is(t.Token) {
			continue
		}
		alts := t.Top
		if len(alts) == 0 {
			alts = []prefdata.TokenLogprob{t}
		}
		probs := map[string]float64{}
		for _, alt := range alts {
			if is(alt.Token) {
				probs[strings.TrimSpace(alt.Token)] += math.Exp(alt.Logprob)
			}
		}
		total := probs[p.A] + probs[p.B]
		if p.Tie != "" {
			total += probs[p.Tie]
		}
		if total == 0 || math.IsNaN(total) {
			return fail(ErrNoVerdict, "verdict tokens have no probability")
		}
		pref := (probs[p.A] - probs[p.B]) / total
		label := "C"
		switch strings.TrimSpace(t.Token) {
		case p.A:
			label = "A"
		case p.B:
			label = "B"
		}
		return Verdict{Label: label, Preference: pref}, nil
	}
	if !seen {
		return fail(ErrNoVerdict, fmt.Sprintf("no %q before a verdict token", p.After))
	}
	return fail(ErrNoVerdict, fmt.Sprintf("no %q or %q token", p.A, p.B))
}

// GenerateOptions asks for the log-probabilities of 5 alternatives at each
// token.
func (p LogprobVerdict) GenerateOptions() *prefdata.GenerateOptions {
	return &prefdata.GenerateOptions{Logprobs: true, TopLogprobs: 5}
}

// FormatHint asks for the one token.
func (p LogprobVerdict) FormatHint() string {
	if p.Tie != "" {
		return fmt.Sprintf("Answer with one token only: %q, %q or %q (a tie).", p.A, p.B, p.Tie)
	}
	return fmt.Sprintf("Answer with one token only: %q or %q.", p.A, p.B)
}

// ---- ratings ----

// BracketRating reads a rating written "[[N]]", with [ParseRating], and
// checks it is a whole number in Min..Max (default 1..10).
type BracketRating struct{ Min, Max int }

func scale(lo, hi int) (int, int) {
	if lo == 0 && hi == 0 {
		return 1, 10
	}
	return lo, hi
}

// Parse reads reply.Text.
func (p BracketRating) Parse(reply prefdata.Response) (float64, error) {
	v, err := ParseRating(reply.Text)
	if err != nil {
		return 0, err
	}
	return inScale(v, p.Min, p.Max, reply.Text)
}

// FormatHint asks for "Rating: [[N]]".
func (p BracketRating) FormatHint() string {
	lo, hi := scale(p.Min, p.Max)
	return fmt.Sprintf("End with the grade on its own line as: Rating: [[N]] (N from %d to %d).", lo, hi)
}

func inScale(v float64, lo, hi int, raw string) (float64, error) {
	lo, hi = scale(lo, hi)
	if v < float64(lo) || v > float64(hi) || v != math.Trunc(v) {
		return 0, &ParseError{Kind: ErrOutOfRange, Detail: fmt.Sprintf("rating %g not an integer in %d..%d", v, lo, hi), Raw: raw}
	}
	return v, nil
}

// PlainRating reads a rating however a judge commonly writes it: "8/10"
// (the denominator must be Max), "8 out of 10", "Rating: 8" (also "Score:"
// and "Grade:", any case, "**Rating:** 8"), or "[[8]]". The same rating may
// appear in several forms; two different ones, none, or a reply ending
// inside one ("Rating: [[1", "8/1" with Max 10) are *ParseErrors, and a
// rating outside Min..Max (default 1..10) or not whole is ErrOutOfRange.
type PlainRating struct{ Min, Max int }

// ParsePlainRating reads text with PlainRating{1, 10}.
func ParsePlainRating(text string) (float64, error) {
	return PlainRating{}.Parse(prefdata.Response{Text: text})
}

// Parse reads reply.Text.
func (p PlainRating) Parse(reply prefdata.Response) (float64, error) {
	text := reply.Text
	lo, hi := scale(p.Min, p.Max)
	var vals []float64
	var forms []string
	add := func(v float64, form string) {
		vals = append(vals, v)
		forms = append(forms, form)
	}
	// "[[N]]", strict as ParseRating; "no verdict" is fine here.
	if v, err := ParseRating(text); err == nil {
		add(v, fmt.Sprintf("[[%g]]", v))
	} else if !errors.Is(err, ErrNoVerdict) {
		return 0, err
	}
	low := strings.ToLower(text)
	den := strconv.Itoa(hi)
	// "N/10" and "N out of 10".
	for _, sep := range []string{"/", " out of "} {
		for i := 0; ; {
			k := strings.Index(low[i:], sep)
			if k < 0 {
				break
			}
			at := i + k
			i = at + len(sep)
			num := trailingNumber(low[:at])
			if num == "" {
				continue
			}
			after := low[at+len(sep):]
			d := leadingDigits(after)
			switch {
			case d == den && !continuesNumber(after[len(d):]):
				v, _ := strconv.ParseFloat(num, 64)
				add(v, num+sep+d)
			case strings.TrimSpace(after[len(d):]) == "" && strings.HasPrefix(den, d):
				return 0, &ParseError{Kind: ErrTruncated, Detail: "reply ends with " + strconv.Quote(num+sep+d), Raw: text}
			}
		}
	}
	// "Rating: N".
	for _, label := range []string{"rating", "score", "grade"} {
		for i := 0; ; {
			k := strings.Index(low[i:], label)
			if k < 0 {
				break
			}
			at := i + k
			i = at + len(label)
			if at > 0 && isWordByte(low[at-1]) {
				continue
			}
			after := strings.TrimLeft(low[i:], "*_ ")
			if !strings.HasPrefix(after, ":") {
				continue
			}
			after = strings.TrimLeft(after[1:], "*_ \t")
			if strings.HasPrefix(after, "[") {
				continue // "[[N]]", read above
			}
			num := leadingNumber(after)
			if num == "" {
				if strings.TrimSpace(after) == "" {
					return 0, &ParseError{Kind: ErrTruncated, Detail: `reply ends after "` + label + `:"`, Raw: text}
				}
				continue
			}
			if strings.HasPrefix(after[len(num):], "/") || strings.HasPrefix(after[len(num):], " out of") {
				continue // "Rating: 8/10", read above
			}
			v, _ := strconv.ParseFloat(num, 64)
			add(v, label+": "+num)
		}
	}
	if len(vals) == 0 {
		return 0, &ParseError{Kind: ErrNoVerdict, Detail: fmt.Sprintf(`no "N/%d", "Rating: N" or "[[N]]" rating`, hi), Raw: text}
	}
	for i := range vals[1:] {
		if vals[i+1] != vals[0] {
			return 0, &ParseError{Kind: ErrContradictory, Detail: fmt.Sprintf("ratings %s and %s", forms[0], forms[i+1]), Raw: text}
		}
	}
	return inScale(vals[0], lo, hi, text)
}

// FormatHint asks for "Rating: N".
func (p PlainRating) FormatHint() string {
	lo, hi := scale(p.Min, p.Max)
	return fmt.Sprintf("End with the grade on its own line as: Rating: N (N from %d to %d).", lo, hi)
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

func leadingDigits(s string) string {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return s[:n]
}

// leadingNumber returns the decimal number s starts with ("8", "7.5").
func leadingNumber(s string) string {
	d := leadingDigits(s)
	if d == "" {
		return ""
	}
	if rest := s[len(d):]; len(rest) > 1 && rest[0] == '.' && rest[1] >= '0' && rest[1] <= '9' {
		d += "." + leadingDigits(rest[1:])
	}
	return d
}

// trailingNumber returns the decimal number s ends with, if it is not part
// of a longer word or number ("x8", "1.2.8", "2026-08").
func trailingNumber(s string) string {
	n := len(s)
	for n > 0 && (s[n-1] >= '0' && s[n-1] <= '9' || s[n-1] == '.') {
		n--
	}
	num := strings.TrimLeft(s[n:], ".")
	n = len(s) - len(num)
	if num == "" || strings.Count(num, ".") > 1 || strings.HasSuffix(num, ".") {
		return ""
	}
	if n > 0 && (isWordByte(s[n-1]) || s[n-1] == '-' || s[n-1] == '/' || s[n-1] == '.') {
		return ""
	}
	return num
}

// continuesNumber reports whether s goes on with the number just read
// ("0" of "100", ".5", "/").
func continuesNumber(s string) bool {
	return s != "" && (s[0] >= '0' && s[0] <= '9' || s[0] == '/' || (s[0] == '.' && len(s) > 1 && s[1] >= '0' && s[1] <= '9') || isWordByte(s[0]))
}

// JSONRating reads a rating given as a JSON object ({"explanation": "...",
// "rating": 8}): the reply's text, or its first tool call's arguments. It
// asks for a reply matching its schema (structured output). The rating
// must be a whole number in Min..Max (default 1..10); an object cut off, a
// missing or non-numeric field, or the field given twice with different
// values is a *ParseError.
type JSONRating struct {
	Field    string // default "rating"
	Min, Max int
}

func (p JSONRating) field() string { return orDefault(p.Field, "rating") }

// Parse reads the first tool call's arguments if the reply has one, else the
// text.
func (p JSONRating) Parse(reply prefdata.Response) (float64, error) {
	raw := structuredText(reply)
	obj, err := jsonObject(raw)
	if err != nil {
		return 0, err
	}
	vals := obj[p.field()]
	if len(vals) == 0 {
		return 0, &ParseError{Kind: ErrNoVerdict, Detail: fmt.Sprintf("no %q field", p.field()), Raw: raw}
	}
	var first float64
	for i, rv := range vals {
		v, ok := number(string(rv))
		if !ok {
			return 0, &ParseError{Kind: ErrNoVerdict, Detail: fmt.Sprintf("%q is %s, not a number", p.field(), rv), Raw: raw}
		}
		if i == 0 {
			first = v
		} else if v != first {
			return 0, &ParseError{Kind: ErrContradictory, Detail: fmt.Sprintf("%q given twice: %g and %g", p.field(), first, v), Raw: raw}
		}
	}
	return inScale(first, p.Min, p.Max, raw)
}

// Schema returns the JSON schema of the object JSONRating reads.
func (p JSONRating) Schema() map[string]any {
	lo, hi := scale(p.Min, p.Max)
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			"explanation": map[string]any{"type": "string"},
			p.field():     map[string]any{"type": "integer", "minimum": lo, "maximum": hi},
		},
		"required":             []string{"explanation", p.field()},
		"additionalProperties": false,
	}
}

// GenerateOptions asks for a reply matching the schema.
func (p JSONRating) GenerateOptions() *prefdata.GenerateOptions {
	lo, hi := scale(p.Min, p.Max)
	schema := encodedSchema(fmt.Sprintf("rating\x00%s\x00%d\x00%d", p.field(), lo, hi), p.Schema)
	return &prefdata.GenerateOptions{JSONSchema: &prefdata.JSONSchema{Name: "rating", Schema: schema, Strict: true}}
}

// FormatHint asks for the JSON object.
func (p JSONRating) FormatHint() string {
	lo, hi := scale(p.Min, p.Max)
	return fmt.Sprintf(`Reply with a JSON object only: {"explanation": "<a few sentences>", %q: <a whole number from %d to %d>}.`, p.field(), lo, hi)
}

// schemas holds the schemas parsers ask for, encoded, by what they are
// built from: a judge asks with the same schema on every call, and encoding
// it each time cost more than the rest of building the request. At most
// maxSchemas are kept.
var schemas sync.Map // string -> json.RawMessage

var nSchemas atomic.Int64

const maxSchemas = 256

// encodedSchema returns the JSON of build(), the schema known by key. The
// slice is shared: its capacity is cut to its length, so an append copies.
func encodedSchema(key string, build func() map[string]any) json.RawMessage {
	if s, ok := schemas.Load(key); ok {
		return s.(json.RawMessage)
	}
	b, _ := json.Marshal(build())
	schema := json.RawMessage(b[:len(b):len(b)])
	if nSchemas.Load() < maxSchemas {
		if _, loaded := schemas.LoadOrStore(key, schema); !loaded {
			nSchemas.Add(1)
		}
	}
	return schema
}
