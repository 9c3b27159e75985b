package prefdata

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"

	"github.com/prefdata/prefdata/internal/jsonw"
)

// The journal's hot records are encoded by hand, without reflection: the
// bytes are the ones encoding/json writes for the same value (TestJSONEncoder
// checks them against json.Marshal on varied and fuzzed values), so cache
// keys, which hash these encodings, are the same as before. A value the hand
// encoders do not know goes to json.Marshal.

// errNotFinite is a float JSON cannot hold (NaN, ±Inf): the caller falls
// back to json.Marshal, which reports it.
var errNotFinite = errors.New("prefdata: float not finite")

// enc appends JSON to b; the first failure is kept in err.
type enc struct {
	b   []byte
	err error
}

// marshal returns the JSON encoding of v: json.Marshal's bytes. The
// caller may give the buffer back with putBuf when done with it.
func marshal(v any) ([]byte, error) {
	e := enc{b: getBuf()}
	if e.value(v) && e.err == nil {
		return e.b, nil
	}
	putBuf(e.b)
	return json.Marshal(v)
}

// bufs holds encoding buffers for reuse (as *[]byte), boxes the empty
// boxes putBuf fills, so that neither allocates. A sync.Pool, kept per
// processor: a free list under one lock had the two cores of a run
// waiting on each other several times a prompt. A GC empties a pool only at
// the second GC, and a buffer comes back within a prompt's work.
var bufs, boxes sync.Pool

func getBuf() []byte {
	if p, ok := bufs.Get().(*[]byte); ok {
		b := *p
		*p = nil
		boxes.Put(p)
		return b[:0]
	}
	return make([]byte, 0, 1024)
}

// putBuf gives b back for reuse; the caller no longer uses it.
func putBuf(b []byte) {
	if cap(b) > 64<<10 {
		return
	}
	p, _ := boxes.Get().(*[]byte)
	if p == nil {
		p = new([]byte)
	}
	*p = b
	bufs.Put(p)
}

// value appends v when its type has a hand encoder; false when it has none.
func (e *enc) value(v any) bool {
	switch x := v.(type) {
	case string:
		e.str(x)
	case int:
		e.b = strconv.AppendInt(e.b, int64(x), 10)
	case int64:
		e.b = strconv.AppendInt(e.b, x, 10)
	case bool:
		e.bool(x)
	case Prompt:
		e.prompt(&x)
	case []Message:
		e.messages(x)
	case Sampling:
		e.sampling(&x)
	case Response:
		e.response(&x, nil)
	case []Response:
		e.responses(x, nil)
	case Candidate:
		e.candidate(&x, nil)
	case Pair:
		e.pair(&x, nil)
	case []Pair:
		e.pairs(x, nil)
	case PairsRecord:
		e.pairsRecord(&x, newRefSet(nil))
	case PromptRecord:
		e.promptRecord(&x)
	case *GenerateOptions:
		e.options(x)
	case *JSONSchema:
		e.jsonSchema(x)
	case []Tool:
		e.tools(x)
	default:
		return false
	}
	return true
}

// str appends s as a JSON string, escaped as encoding/json escapes it.
func (e *enc) str(s string) { e.b = jsonw.String(e.b, s) }

func (e *enc) bool(v bool) {
	if v {
		e.b = append(e.b, "true"...)
	} else {
		e.b = append(e.b, "false"...)
	}
}

// float appends f as encoding/json does (jsonw.Float); a NaN or an
// infinity is errNotFinite.
func (e *enc) float(f float64) {
	b, ok := jsonw.Float(e.b, f)
	if !ok && e.err == nil {
		e.err = errNotFinite
	}
	e.b = b
}

func (e *enc) int(v int) { e.b = strconv.AppendInt(e.b, int64(v), 10) }

// key appends a field name: `,"name":` (or without the comma for the first).
func (e *enc) key(k string) { e.b = append(e.b, k...) }

func (e *enc) strings(ss []string) {
	if ss == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i, s := range ss {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.str(s)
	}
	e.b = append(e.b, ']')
}

func (e *enc) messages(ms []Message) {
	if ms == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i := range ms {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.key(`{"role":`)
		e.str(ms[i].Role)
		e.key(`,"content":`)
		e.str(ms[i].Content)
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ']')
}

func (e *enc) prompt(p *Prompt) {
	e.key(`{"id":`)
	e.str(p.ID)
	e.key(`,"messages":`)
	e.messages(p.Messages)
	if p.Source != "" {
		e.key(`,"source":`)
		e.str(p.Source)
	}
	if p.Category != "" {
		e.key(`,"category":`)
		e.str(p.Category)
	}
	if len(p.Meta) > 0 {
		e.key(`,"meta":{`)
		keys := make([]string, 0, len(p.Meta))
		for k := range p.Meta {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.str(k)
			e.b = append(e.b, ':')
			e.str(p.Meta[k])
		}
		e.b = append(e.b, '}')
	}
	if p.Options != nil {
		e.key(`,"options":`)
		e.options(p.Options)
	}
	e.b = append(e.b, '}')
}

func (e *enc) sampling(s *Sampling) {
	e.b = append(e.b, '{')
	first := true
	sep := func(k string) {
		if !first {
			e.b = append(e.b, ',')
		}
		first = false
		e.key(k)
	}
	if s.Temperature != nil {
		sep(`"temperature":`)
		e.float(*s.Temperature)
	}
	if s.TopP != nil {
		sep(`"top_p":`)
		e.float(*s.TopP)
	}
	if s.MaxTokens != 0 {
		sep(`"max_tokens":`)
		e.int(s.MaxTokens)
	}
	if s.Seed != nil {
		sep(`"seed":`)
		e.int(*s.Seed)
	}
	if len(s.Stop) > 0 {
		sep(`"stop":`)
		e.strings(s.Stop)
	}
	if s.Logprobs {
		sep(`"logprobs":true`)
	}
	if s.TopLogprobs != 0 {
		sep(`"top_logprobs":`)
		e.int(s.TopLogprobs)
	}
	if s.ReasoningEffort != "" {
		sep(`"reasoning_effort":`)
		e.str(s.ReasoningEffort)
	}
	e.b = append(e.b, '}')
}

func (e *enc) usage(u *Usage) {
	e.b = append(e.b, '{')
	if u.Requests != 0 {
		e.key(`"requests":`)
		e.int(u.Requests)
		e.b = append(e.b, ',')
	}
	e.key(`"prompt_tokens":`)
	e.int(u.PromptTokens)
	e.key(`,"completion_tokens":`)
	e.int(u.CompletionTokens)
	if u.ReasoningTokens != 0 {
		e.key(`,"reasoning_tokens":`)
		e.int(u.ReasoningTokens)
	}
	if u.Cost != 0 {
		e.key(`,"cost_usd":`)
		e.float(u.Cost)
	}
	e.b = append(e.b, '}')
}

func (e *enc) logprobs(ts []TokenLogprob) {
	if ts == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i := range ts {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.key(`{"token":`)
		e.str(ts[i].Token)
		e.key(`,"logprob":`)
		e.float(ts[i].Logprob)
		if len(ts[i].Top) > 0 {
			e.key(`,"top":`)
			e.logprobs(ts[i].Top)
		}
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ']')
}

// response appends r, or a reference to it ({"id": ...}) when refs holds
// it unchanged (see compact); refs nil writes every response whole.
func (e *enc) response(r *Response, refs *refSet) {
	if refs != nil && refs.ref(r) {
		e.key(`{"id":`)
		e.str(r.ID)
		e.b = append(e.b, '}')
		return
	}
	e.key(`{"id":`)
	e.str(r.ID)
	e.key(`,"prompt_id":`)
	e.str(r.PromptID)
	e.key(`,"model":`)
	e.str(r.Model)
	if r.System != "" {
		e.key(`,"system":`)
		e.str(r.System)
	}
	e.key(`,"sampling":`)
	e.sampling(&r.Sampling)
	e.key(`,"sample":`)
	e.int(r.Sample)
	e.key(`,"text":`)
	e.str(r.Text)
	if r.FinishReason != "" {
		e.key(`,"finish_reason":`)
		e.str(r.FinishReason)
	}
	e.key(`,"usage":`)
	e.usage(&r.Usage)
	if r.Latency != 0 {
		e.key(`,"latency_ns":`)
		e.b = strconv.AppendInt(e.b, int64(r.Latency), 10)
	}
	if len(r.Logprobs) > 0 {
		e.key(`,"logprobs":`)
		e.logprobs(r.Logprobs)
	}
	if r.Reasoning != "" {
		e.key(`,"reasoning":`)
		e.str(r.Reasoning)
	}
	if r.Refusal != "" {
		e.key(`,"refusal":`)
		e.str(r.Refusal)
	}
	if len(r.ToolCalls) > 0 {
		e.key(`,"tool_calls":[`)
		for i := range r.ToolCalls {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			c := &r.ToolCalls[i]
			e.b = append(e.b, '{')
			if c.ID != "" {
				e.key(`"id":`)
				e.str(c.ID)
				e.b = append(e.b, ',')
			}
			e.key(`"name":`)
			e.str(c.Name)
			e.key(`,"arguments":`)
			e.str(c.Arguments)
			e.b = append(e.b, '}')
		}
		e.b = append(e.b, ']')
	}
	e.b = append(e.b, '}')
}

func (e *enc) responses(rs []Response, refs *refSet) {
	if rs == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i := range rs {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.response(&rs[i], refs)
	}
	e.b = append(e.b, ']')
}

func (e *enc) scores(ss []Score) {
	e.b = append(e.b, '[')
	for i := range ss {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		s := &ss[i]
		e.key(`{"response_id":`)
		e.str(s.ResponseID)
		e.key(`,"scorer":`)
		e.str(s.Scorer)
		if s.Aspect != "" {
			e.key(`,"aspect":`)
			e.str(s.Aspect)
		}
		e.key(`,"value":`)
		e.float(s.Value)
		if s.Rationale != "" {
			e.key(`,"rationale":`)
			e.str(s.Rationale)
		}
		if s.Raw != "" {
			e.key(`,"raw":`)
			e.str(s.Raw)
		}
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ']')
}

func (e *enc) candidate(c *Candidate, refs *refSet) {
	e.key(`{"prompt":`)
	e.prompt(&c.Prompt)
	e.key(`,"responses":`)
	e.responses(c.Responses, refs)
	if len(c.Scores) > 0 {
		e.key(`,"scores":`)
		e.scores(c.Scores)
	}
	if len(c.Comparisons) > 0 {
		e.key(`,"comparisons":[`)
		for i := range c.Comparisons {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			x := &c.Comparisons[i]
			e.key(`{"a":`)
			e.str(x.A)
			e.key(`,"b":`)
			e.str(x.B)
			e.key(`,"scorer":`)
			e.str(x.Scorer)
			e.key(`,"preference":`)
			e.float(x.Preference)
			e.key(`,"consistent":`)
			e.bool(x.Consistent)
			if len(x.Raw) > 0 {
				e.key(`,"raw":`)
				e.strings(x.Raw)
			}
			if len(x.Orders) > 0 {
				e.key(`,"orders":[`)
				for k, o := range x.Orders {
					if k > 0 {
						e.b = append(e.b, ',')
					}
					if o == nil {
						e.b = append(e.b, "null"...)
					} else {
						e.float(*o)
					}
				}
				e.b = append(e.b, ']')
			}
			e.b = append(e.b, '}')
		}
		e.b = append(e.b, ']')
	}
	if len(c.Dropped) > 0 {
		e.key(`,"dropped":[`)
		for i := range c.Dropped {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			d := &c.Dropped[i]
			e.key(`{"response_id":`)
			e.str(d.ResponseID)
			e.key(`,"filter":`)
			e.str(d.Filter)
			e.key(`,"reason":`)
			e.str(d.Reason)
			e.b = append(e.b, '}')
		}
		e.b = append(e.b, ']')
	}
	e.b = append(e.b, '}')
}

func (e *enc) provenance(p *Provenance) {
	e.key(`{"stage":`)
	s, err := p.Stage.MarshalText()
	if err != nil {
		if e.err == nil {
			e.err = err
		}
		return
	}
	e.str(string(s))
	if p.Labeler != "" {
		e.key(`,"labeler":`)
		e.str(p.Labeler)
	}
	if p.Judge != "" {
		e.key(`,"judge":`)
		e.str(p.Judge)
	}
	if len(p.Annotators) > 0 {
		e.key(`,"annotators":`)
		e.strings(p.Annotators)
	}
	if p.Confidence != 0 {
		e.key(`,"confidence":`)
		e.float(p.Confidence)
	}
	if p.Reason != "" {
		e.key(`,"reason":`)
		e.str(p.Reason)
	}
	if p.Audit {
		e.key(`,"audit":true`)
	}
	if p.AuditWeight != 0 {
		e.key(`,"audit_weight":`)
		e.float(p.AuditWeight)
	}
	if p.Value != 0 {
		e.key(`,"value":`)
		e.float(p.Value)
	}
	e.b = append(e.b, '}')
}

func (e *enc) pair(p *Pair, refs *refSet) {
	e.key(`{"id":`)
	e.str(p.ID)
	e.key(`,"prompt":`)
	e.prompt(&p.Prompt)
	e.key(`,"chosen":`)
	e.response(&p.Chosen, refs)
	e.key(`,"rejected":`)
	e.response(&p.Rejected, refs)
	e.key(`,"margin":`)
	e.float(p.Margin)
	e.key(`,"score_chosen":`)
	e.float(p.ScoreChosen)
	e.key(`,"score_rejected":`)
	e.float(p.ScoreRejected)
	if len(p.Scores) > 0 {
		e.key(`,"scores":`)
		e.scores(p.Scores)
	}
	if p.NeedsHuman {
		e.key(`,"needs_human":true`)
	}
	e.key(`,"provenance":`)
	e.provenance(&p.Provenance)
	e.b = append(e.b, '}')
}

func (e *enc) pairs(ps []Pair, refs *refSet) {
	if ps == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i := range ps {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.pair(&ps[i], refs)
	}
	e.b = append(e.b, ']')
}

// pairsRecord writes r with the responses refs decides to write as
// references (and those that only have an ID) as {"id": ...}.
func (e *enc) pairsRecord(r *PairsRecord, refs *refSet) {
	e.b = append(e.b, '{')
	if r.V != 0 {
		e.key(`"v":`)
		e.int(r.V)
		e.b = append(e.b, ',')
	}
	e.key(`"key":`)
	e.str(r.Key)
	e.key(`,"prompt_id":`)
	e.str(r.PromptID)
	if r.Pos != 0 {
		e.key(`,"pos":`)
		e.b = strconv.AppendInt(e.b, r.Pos, 10)
	}
	if r.RunKey != "" {
		e.key(`,"run_key":`)
		e.str(r.RunKey)
	}
	if r.Run != "" {
		e.key(`,"run":`)
		e.str(r.Run)
	}
	e.key(`,"pairs":`)
	e.pairs(r.Pairs, refs)
	if len(r.Sources) > 0 {
		e.key(`,"sources":`)
		e.recordRefs(r.Sources)
	}
	e.b = append(e.b, '}')
}

func (e *enc) recordRefs(refs []RecordRef) {
	e.b = append(e.b, '[')
	for i, src := range refs {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.key(`{"key":`)
		e.str(src.Key)
		e.key(`,"offset":`)
		e.b = strconv.AppendInt(e.b, src.Offset, 10)
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ']')
}

func (e *enc) promptRecord(r *PromptRecord) {
	e.b = append(e.b, '{')
	if r.V != 0 {
		e.key(`"v":`)
		e.int(r.V)
		e.b = append(e.b, ',')
	}
	if r.Key != "" {
		e.key(`"key":`)
		e.str(r.Key)
		e.b = append(e.b, ',')
	}
	e.key(`"prompt":`)
	e.prompt(&r.Prompt)
	if r.DroppedBy != "" {
		e.key(`,"dropped_by":`)
		e.str(r.DroppedBy)
	}
	if r.Reason != "" {
		e.key(`,"reason":`)
		e.str(r.Reason)
	}
	e.b = append(e.b, '}')
}
