package prefdata

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

// gen makes varied values of the records the hand encoders write: unicode,
// control and HTML characters, invalid UTF-8, empty and nil fields, floats
// of every magnitude.
type gen struct{ r *rand.Rand }

var strPieces = []string{"", "a", "plain text", "héllo", "日本語", "<b>&amp;</b>", "\x00\x01\x1f", "\n\t\r\b\f", `"\`, "\u2028\u2029", "\xff\xfe", "\U0001F600", "\x7f", "é"[:1], "'", "/"}

func (g gen) str() string {
	var b []byte
	for range g.r.Intn(4) {
		b = append(b, strPieces[g.r.Intn(len(strPieces))]...)
	}
	return string(b)
}

var floats = []float64{0, math.Copysign(0, -1), 1, -1.5, 1e-7, 1e-6, 9.99e-7, 123456789, 1e20, 1e21, -1e21, 1.5e300, math.Pi, 5e-324, 0.1, 2.5e-5, 1e100}

func (g gen) float() float64 { return floats[g.r.Intn(len(floats))] }

func (g gen) maybe() bool { return g.r.Intn(3) == 0 }

func (g gen) strs() []string {
	switch g.r.Intn(3) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	out := make([]string, 1+g.r.Intn(3))
	for i := range out {
		out[i] = g.str()
	}
	return out
}

func (g gen) prompt() Prompt {
	p := Prompt{ID: g.str(), Source: g.str(), Category: g.str()}
	if !g.maybe() {
		p.Messages = []Message{}
		for range g.r.Intn(3) {
			p.Messages = append(p.Messages, Message{Role: g.str(), Content: g.str()})
		}
	}
	if g.maybe() {
		p.Meta = map[string]string{}
		for range g.r.Intn(4) {
			p.Meta[g.str()] = g.str()
		}
	}
	if g.maybe() {
		t := g.float()
		p.Options = &GenerateOptions{MaxTokens: g.r.Intn(3), Temperature: &t, Tools: []Tool{{Name: g.str()}}}
	}
	return p
}

func (g gen) logprobs(depth int) []TokenLogprob {
	if g.maybe() || depth > 1 {
		return nil
	}
	out := make([]TokenLogprob, g.r.Intn(3))
	for i := range out {
		out[i] = TokenLogprob{Token: g.str(), Logprob: g.float(), Top: g.logprobs(depth + 1)}
	}
	return out
}

func (g gen) response() Response {
	r := Response{ID: g.str(), PromptID: g.str(), Model: g.str(), System: g.str(), Sample: g.r.Intn(3) - 1,
		Text: g.str(), FinishReason: g.str(), Latency: time.Duration(g.r.Intn(3)) * time.Millisecond,
		Reasoning: g.str(), Refusal: g.str(), Logprobs: g.logprobs(0)}
	if g.maybe() {
		t := g.float()
		r.Sampling.Temperature = &t
	}
	if g.maybe() {
		t := g.float()
		r.Sampling.TopP = &t
	}
	if g.maybe() {
		s := g.r.Intn(5) - 2
		r.Sampling.Seed = &s
	}
	r.Sampling.MaxTokens = g.r.Intn(2) * 100
	r.Sampling.Stop = g.strs()
	r.Sampling.Logprobs = g.maybe()
	r.Sampling.TopLogprobs = g.r.Intn(2)
	r.Sampling.ReasoningEffort = g.str()
	r.Usage = Usage{Requests: g.r.Intn(2), PromptTokens: g.r.Intn(100), CompletionTokens: g.r.Intn(100), ReasoningTokens: g.r.Intn(2), Cost: g.float()}
	if g.maybe() {
		r.ToolCalls = []ToolCall{{ID: g.str(), Name: g.str(), Arguments: g.str()}, {Name: g.str()}}
	}
	if g.r.Intn(5) == 0 {
		r = Response{ID: r.ID} // a reference
	}
	return r
}

func (g gen) scores() []Score {
	if g.maybe() {
		return nil
	}
	out := make([]Score, g.r.Intn(3))
	for i := range out {
		out[i] = Score{ResponseID: g.str(), Scorer: g.str(), Aspect: g.str(), Value: g.float(), Rationale: g.str(), Raw: g.str()}
	}
	return out
}

func (g gen) candidate() Candidate {
	c := Candidate{Prompt: g.prompt(), Scores: g.scores()}
	if !g.maybe() {
		c.Responses = []Response{}
		for range g.r.Intn(4) {
			c.Responses = append(c.Responses, g.response())
		}
	}
	for range g.r.Intn(3) {
		cmp := Comparison{A: g.str(), B: g.str(), Scorer: g.str(), Preference: g.float(), Consistent: g.maybe(), Raw: g.strs()}
		if g.maybe() {
			f := g.float()
			cmp.Orders = []*float64{&f, nil}
		}
		c.Comparisons = append(c.Comparisons, cmp)
	}
	for range g.r.Intn(3) {
		c.Dropped = append(c.Dropped, Drop{ResponseID: g.str(), Filter: g.str(), Reason: g.str()})
	}
	return c
}

func (g gen) pair() Pair {
	return Pair{ID: g.str(), Prompt: g.prompt(), Chosen: g.response(), Rejected: g.response(), Margin: g.float(),
		ScoreChosen: g.float(), ScoreRejected: g.float(), Scores: g.scores(), NeedsHuman: g.maybe(),
		Provenance: Provenance{Stage: Stage(g.r.Intn(5)), Labeler: g.str(), Judge: g.str(), Annotators: g.strs(),
			Confidence: g.float(), Reason: g.str(), Audit: g.maybe(), AuditWeight: g.float(), Value: g.float()}}
}

func (g gen) sources() []RecordRef {
	if g.maybe() {
		return nil
	}
	out := make([]RecordRef, g.r.Intn(3))
	for i := range out {
		out[i] = RecordRef{Key: g.str(), Offset: int64(g.r.Intn(1 << 20))}
	}
	return out
}

func (g gen) pairs() []Pair {
	if g.maybe() {
		return nil
	}
	out := []Pair{}
	for range g.r.Intn(3) {
		out = append(out, g.pair())
	}
	return out
}

func (g gen) values() []any {
	return []any{
		g.str(), g.r.Intn(1000) - 500, int64(g.r.Intn(1000)), g.maybe(),
		g.prompt(), g.prompt().Messages, g.response().Sampling, g.response(),
		[]Response{g.response(), g.response()}, []Response(nil), g.candidate(), g.pair(), g.pairs(),
		PairsRecord{V: g.r.Intn(3), Key: g.str(), PromptID: g.str(), Pos: int64(g.r.Intn(3)), RunKey: g.str(), Run: g.str(), Pairs: g.pairs(), Sources: g.sources()},
		PromptRecord{V: g.r.Intn(3), Key: g.str(), Prompt: g.prompt(), DroppedBy: g.str(), Reason: g.str()},
	}
}

// The hand encoders write encoding/json's bytes, or fall back to it (a
// value it cannot encode: the same error).
func TestJSONEncoderMatchesEncodingJSON(t *testing.T) {
	g := gen{rand.New(rand.NewSource(1))}
	for i := range 3000 {
		for _, v := range g.values() {
			want, wantErr := json.Marshal(v)
			got, err := marshal(v)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("%d: %T: error %v, encoding/json's %v", i, v, err, wantErr)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%d: %T:\n got %s\nwant %s", i, v, got, want)
			}
		}
	}
	// Cache records, their value written as it is.
	for i := range 1000 {
		val, _ := json.Marshal(g.candidate())
		if g.maybe() {
			val = nil
		}
		rec := CacheRecord{V: 1 + g.r.Intn(2), Key: g.str(), PromptID: g.str(), Component: g.str(), Run: g.str(), Refs: g.maybe(), Value: val}
		want, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if got := rec.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("%d: CacheRecord:\n got %s\nwant %s", i, got, want)
		}
	}
	// Values encoding/json refuses are refused.
	for _, v := range []any{Pair{Margin: math.NaN()}, Candidate{Scores: []Score{{Value: math.Inf(1)}}}, Pair{Provenance: Provenance{Stage: 9}}} {
		if _, err := marshal(v); err == nil {
			t.Errorf("%#v encoded", v)
		}
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range strPieces {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		var e enc
		e.str(s)
		if !bytes.Equal(e.b, want) {
			t.Fatalf("%q: got %s, want %s", s, e.b, want)
		}
	})
}

// oldHash is Hash as it was: the JSON encodings of parts by encoding/json.
func oldHash(parts ...any) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, p := range parts {
		if err := enc.Encode(p); err != nil {
			fmt.Fprintf(h, "%#v\n", p)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Cache keys are what they were: a run directory written before resumes
// without paying again.
func TestHashUnchanged(t *testing.T) {
	g := gen{rand.New(rand.NewSource(2))}
	for range 1000 {
		vs := g.values()
		if got, want := Hash(vs...), oldHash(vs...); got != want {
			t.Fatalf("Hash(%#v) = %s, was %s", vs, got, want)
		}
	}
	odd := []any{math.NaN(), make(chan int), map[string]int{"b": 1, "a": 2}, Pair{Margin: math.Inf(-1)}, nil, 1.5, struct{ X int }{3}}
	if got, want := Hash(odd...), oldHash(odd...); got != want {
		t.Errorf("Hash of odd values = %s, was %s", got, want)
	}
}

// responsesEqual is reflect.DeepEqual on responses, and it looks at every
// field: one that differs in any field (nested ones too) is not equal.
func TestResponsesEqual(t *testing.T) {
	g := gen{rand.New(rand.NewSource(3))}
	for range 5000 {
		a, b := g.response(), g.response()
		if g.maybe() {
			b = a
			if g.maybe() && a.Sampling.Temperature != nil {
				f := *a.Sampling.Temperature
				b.Sampling.Temperature = &f // equal through another pointer
			}
		}
		if got, want := responsesEqual(&a, &b), reflect.DeepEqual(a, b); got != want {
			t.Fatalf("responsesEqual = %v, DeepEqual %v:\n%#v\n%#v", got, want, a, b)
		}
		if got, want := IsRef(a), reflect.DeepEqual(a, Response{ID: a.ID}) && a.ID != ""; got != want {
			t.Fatalf("IsRef(%#v) = %v", a, got)
		}
	}
	// Every field, set on one side only, makes the two differ.
	var r Response
	walkResponse(t, reflect.ValueOf(&r).Elem(), "")
}

func withID(r Response) Response { r.ID = "x"; return r }

// walkResponse sets each leaf field of the response root in turn.
func walkResponse(t *testing.T, root reflect.Value, path string) {
	t.Helper()
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		for i := range v.NumField() {
			f := v.Field(i)
			name := path + v.Type().Field(i).Name
			if f.Kind() == reflect.Struct {
				walk(f, name+".")
				continue
			}
			f.Set(nonZero(f.Type()))
			b := root.Interface().(Response)
			var a Response
			if responsesEqual(&a, &b) {
				t.Errorf("responsesEqual ignores %s", name)
			}
			if name != "ID" && IsRef(withID(b)) {
				t.Errorf("IsRef ignores %s", name)
			}
			f.Set(reflect.Zero(f.Type()))
		}
	}
	walk(root, path)
}

// nonZero returns a value of type t that is not its zero value.
func nonZero(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Float64:
		v.SetFloat(1)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(t.Elem()))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(t, 1, 1))
	default:
		panic("nonZero: " + t.String())
	}
	return v
}

// oldEncodeOutput is how a component's output was stored before: responses
// the input has unchanged (reflect.DeepEqual) replaced by references, the
// value encoded by encoding/json and the references cut to their IDs.
func oldEncodeOutput(v any, input []any) ([]byte, bool, error) {
	known := map[string]*Response{}
	for i, r := range inputResponses(input) {
		if r.ID != "" {
			known[r.ID] = &inputResponses(input)[i]
		}
	}
	ref := func(r Response) (Response, bool) {
		k, ok := known[r.ID]
		if !ok || !reflect.DeepEqual(*k, r) {
			return r, false
		}
		return Response{ID: r.ID}, true
	}
	found := false
	stored := v
	if len(known) > 0 {
		switch x := v.(type) {
		case Candidate:
			out := x
			out.Responses = make([]Response, len(x.Responses))
			for i, r := range x.Responses {
				var ok bool
				out.Responses[i], ok = ref(r)
				found = found || ok
			}
			if x.Responses == nil {
				out.Responses = nil
			}
			stored = out
		case []Pair:
			out := make([]Pair, len(x))
			for i, p := range x {
				var ok1, ok2 bool
				p.Chosen, ok1 = ref(p.Chosen)
				p.Rejected, ok2 = ref(p.Rejected)
				out[i] = p
				found = found || ok1 || ok2
			}
			if x == nil {
				out = nil
			}
			stored = out
		}
	}
	raw, err := json.Marshal(stored)
	if found && err == nil {
		tail, _ := json.Marshal(Response{ID: "x"})
		raw = bytes.ReplaceAll(raw, tail[len(`{"id":"x"`):], []byte("}"))
	}
	return raw, found, err
}

// A filter's or labeler's output is stored as it was before, references
// and all.
func TestEncodeOutputUnchanged(t *testing.T) {
	g := gen{rand.New(rand.NewSource(4))}
	for i := range 3000 {
		in := g.candidate()
		out := in
		out.Responses = append([]Response(nil), in.Responses...)
		for k := range out.Responses {
			if g.maybe() {
				out.Responses[k].Text += "!"
			}
		}
		if g.maybe() {
			out.Responses = append(out.Responses, g.response())
		}
		out.Scores = append(out.Scores, g.scores()...)
		var pairs []Pair
		if len(out.Responses) >= 2 {
			p := g.pair()
			p.Chosen, p.Rejected = out.Responses[0], out.Responses[1]
			pairs = []Pair{p, g.pair()}
		}
		inputs := [][]any{{in}, {in, "x"}, {"x"}, {Candidate{}}}
		for _, input := range inputs {
			for _, v := range []any{out, pairs, in.Responses} {
				want, wantRefs, wantErr := oldEncodeOutput(v, input)
				got, refs, err := encodeOutputOf(v, input)
				if (err != nil) != (wantErr != nil) || refs != wantRefs || !bytes.Equal(got, want) {
					t.Fatalf("%d: %T:\n got %s %v %v\nwant %s %v %v", i, v, got, refs, err, want, wantRefs, wantErr)
				}
			}
		}
	}
}

// encodeOutputOf calls encodeOutput with v's own type, as cached does.
func encodeOutputOf(v any, input []any) ([]byte, bool, error) {
	switch x := v.(type) {
	case Candidate:
		return encodeOutput(&x, input)
	case []Pair:
		return encodeOutput(&x, input)
	case []Response:
		return encodeOutput(&x, input)
	}
	panic(fmt.Sprintf("encodeOutputOf: %T", v))
}

// oldContentID is ContentID as it was written first.
func oldContentID(msgs []Message) string {
	h := sha256.New()
	for _, m := range msgs {
		h.Write([]byte(m.Role))
		h.Write([]byte{0})
		h.Write([]byte(strings.ToLower(strings.Join(strings.Fields(norm.NFC.String(m.Content)), " "))))
		h.Write([]byte{0})
	}
	return "p-" + hex.EncodeToString(h.Sum(nil)[:8])
}

var spacePieces = []string{" ", "  ", "\t", "\n", "\v", "\f", "\r", "\u00a0", "\u0085", "\u2003", "A", "Zz", "É", "e\u0301", "ß", "İ"}

// ContentID's one-pass path for ASCII text gives the IDs it always gave.
func TestContentIDUnchanged(t *testing.T) {
	g := gen{rand.New(rand.NewSource(8))}
	for range 20000 {
		var msgs []Message
		for range g.r.Intn(3) {
			var b strings.Builder
			for range g.r.Intn(6) {
				if g.maybe() {
					b.WriteString(g.str())
				} else {
					b.WriteString(spacePieces[g.r.Intn(len(spacePieces))])
				}
			}
			msgs = append(msgs, Message{Role: g.str(), Content: b.String()})
		}
		if got, want := ContentID(msgs), oldContentID(msgs); got != want {
			t.Fatalf("ContentID(%q) = %s, was %s", msgs, got, want)
		}
	}
}

func FuzzContentID(f *testing.F) {
	for _, s := range append(spacePieces, strPieces...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		msgs := []Message{{Role: "user", Content: s}}
		if got, want := ContentID(msgs), oldContentID(msgs); got != want {
			t.Fatalf("ContentID(%q) = %s, was %s", s, got, want)
		}
	})
}

type fingerprint string

func (f fingerprint) Fingerprint() string { return string(f) }

// cacheKey is the key it was: the first 32 hex digits of the hash of the
// file, the fingerprint and the input, each JSON.
func TestCacheKeyUnchanged(t *testing.T) {
	g := gen{rand.New(rand.NewSource(4))}
	for i := range 1000 {
		file, fp := []string{FileResponses, FileScores, "a<b>&\u2028é"}[i%3], fingerprint(fmt.Sprintf("fp/%d \"x\"\n", i))
		vs := g.values()
		if got, want := cacheKey(file, fp, vs), oldHash(append([]any{file, string(fp)}, vs...)...)[:32]; got != want {
			t.Fatalf("cacheKey(%q, %q, %#v) = %s, was %s", file, fp, vs, got, want)
		}
	}
}
