package prefdata

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// A resumed run reads back the done record of every prompt it replays. The
// record is decoded by hand, without reflection, when it is the shape this
// package writes; anything else (an unknown or repeated field, a value of
// another type, an escape or a byte it does not handle, invalid JSON) makes
// the hand decoder give up, and encoding/json decodes the line instead.
// When the hand decoder succeeds, its value is the one encoding/json gives
// (TestDecodePairsRecordMatchesEncodingJSON).

// unmarshalPairsRecord decodes line into rec as json.Unmarshal does.
func unmarshalPairsRecord(line []byte, rec *PairsRecord) error {
	d := dec{b: line}
	var r PairsRecord
	if d.pairsRecord(&r) && d.end() {
		*rec = r
		return nil
	}
	return json.Unmarshal(line, rec)
}

// DecodePairsRecord decodes a line of the pairs journal ([FilePairs]) by
// hand, as [DecodeResponsesLine] does: when ok, rec is what encoding/json
// gives; ok false leaves the line to encoding/json.
func DecodePairsRecord(line []byte) (rec PairsRecord, ok bool) {
	d := dec{b: line}
	if !d.pairsRecord(&rec) || !d.end() {
		return PairsRecord{}, false
	}
	return rec, true
}

// dec reads JSON from b at i; ok false means it gave up.
type dec struct {
	b []byte
	i int
}

func (d *dec) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// end reports whether only white space is left.
func (d *dec) end() bool {
	d.ws()
	return d.i == len(d.b)
}

// peek returns the next byte after white space, 0 at the end.
func (d *dec) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *dec) byte(c byte) bool {
	if d.peek() == c {
		d.i++
		return true
	}
	return false
}

// null reads a null, if the next value is one.
func (d *dec) null() bool {
	if d.peek() == 'n' && len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

// object reads an object, calling field for each key (its value next);
// field returns false to give up. seen guards against repeated keys: field
// returns the key's bit.
func (d *dec) object(field func(key string) (bit uint64, ok bool)) bool {
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return true
	}
	var seen uint64
	for {
		var key string
		if d.peek() != '"' || !d.str(&key) || !d.byte(':') {
			return false
		}
		bit, ok := field(key)
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		if d.byte(',') {
			continue
		}
		return d.byte('}')
	}
}

// array reads an array, calling elem for each element.
func (d *dec) array(elem func() bool) bool {
	if !d.byte('[') {
		return false
	}
	if d.byte(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.byte(',') {
			continue
		}
		return d.byte(']')
	}
}

// str reads a string value into *s; null leaves it.
func (d *dec) str(s *string) bool {
	if d.null() {
		return true
	}
	if !d.byte('"') {
		return false
	}
	start := d.i
	var out []byte // set once an escape is met
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			if out == nil {
				*s = string(d.b[start:d.i])
			} else {
				*s = string(append(out, d.b[start:d.i]...))
			}
			d.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			out = append(out, d.b[start:d.i]...)
			if d.i+1 >= len(d.b) {
				return false
			}
			e := d.b[d.i+1]
			d.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				if d.i+4 > len(d.b) {
					return false
				}
				r, err := strconv.ParseUint(string(d.b[d.i:d.i+4]), 16, 32)
				if err != nil || (r >= 0xd800 && r < 0xe000) {
					return false // surrogates: left to encoding/json
				}
				out = utf8.AppendRune(out, rune(r))
				d.i += 4
			default:
				return false
			}
			start = d.i
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d.b[d.i:])
			if r == utf8.RuneError && size == 1 {
				return false // invalid UTF-8: left to encoding/json
			}
			d.i += size
		default:
			d.i++
		}
	}
	return false
}

// number returns the literal of a JSON number, checked against JSON's
// grammar.
func (d *dec) number() (string, bool) {
	d.ws()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.i < len(d.b) && d.b[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return "", false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return "", false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return "", false
		}
	}
	return string(d.b[start:d.i]), true
}

func (d *dec) int64(v *int64) bool {
	if d.null() {
		return true
	}
	lit, ok := d.number()
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(lit, 10, 64)
	if err != nil {
		return false
	}
	*v = n
	return true
}

func (d *dec) int(v *int) bool {
	n := int64(*v)
	if !d.int64(&n) || int64(int(n)) != n {
		return false
	}
	*v = int(n)
	return true
}

func (d *dec) float(v *float64) bool {
	if d.null() {
		return true
	}
	lit, ok := d.number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return false
	}
	*v = f
	return true
}

func (d *dec) bool(v *bool) bool {
	if d.null() {
		return true
	}
	d.ws()
	switch {
	case len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "true":
		*v = true
		d.i += 4
	case len(d.b)-d.i >= 5 && string(d.b[d.i:d.i+5]) == "false":
		*v = false
		d.i += 5
	default:
		return false
	}
	return true
}

// skip passes over one value and returns it, for encoding/json to decode.
func (d *dec) skip() ([]byte, bool) {
	d.ws()
	start := d.i
	var ok bool
	switch d.peek() {
	case '{':
		ok = d.object(func(string) (uint64, bool) { _, ok := d.skip(); return 0, ok })
	case '[':
		ok = d.array(func() bool { _, ok := d.skip(); return ok })
	case '"':
		var s string
		ok = d.str(&s)
	case 'n':
		ok = d.null()
	case 't', 'f':
		var b bool
		ok = d.bool(&b)
	default:
		_, ok = d.number()
	}
	return d.b[start:d.i], ok
}

// sub decodes the next value into v with encoding/json (a rare field).
func (d *dec) sub(v any) bool {
	raw, ok := d.skip()
	return ok && json.Unmarshal(raw, v) == nil
}

// list decodes a JSON array into *out, each element by elem; null decodes
// to nil, as encoding/json does.
func list[T any](d *dec, out *[]T, elem func(*T) bool) bool {
	if d.null() {
		*out = nil
		return true
	}
	vs := []T{}
	ok := d.array(func() bool {
		vs = append(vs, *new(T))
		return elem(&vs[len(vs)-1])
	})
	*out = vs
	return ok
}

func (d *dec) strings(ss *[]string) bool { return list(d, ss, d.str) }

func (d *dec) pairsRecord(r *PairsRecord) bool {
	return d.object(func(k string) (uint64, bool) {
		switch k {
		case "v":
			return 1 << 0, d.int(&r.V)
		case "key":
			return 1 << 1, d.str(&r.Key)
		case "prompt_id":
			return 1 << 2, d.str(&r.PromptID)
		case "pos":
			return 1 << 3, d.int64(&r.Pos)
		case "run_key":
			return 1 << 4, d.str(&r.RunKey)
		case "run":
			return 1 << 5, d.str(&r.Run)
		case "pairs":
			return 1 << 6, d.pairs(&r.Pairs)
		case "sources":
			return 1 << 7, d.recordRefs(&r.Sources)
		}
		return 0, false
	})
}

func (d *dec) recordRefs(refs *[]RecordRef) bool {
	return list(d, refs, func(ref *RecordRef) bool {
		return d.object(func(k string) (uint64, bool) {
			switch k {
			case "key":
				return 1 << 0, d.str(&ref.Key)
			case "offset":
				return 1 << 1, d.int64(&ref.Offset)
			}
			return 0, false
		})
	})
}

// responsesRecord decodes a FileResponses line: its key and its value, the
// generator's responses.
func (d *dec) responsesRecord(key *string, rs *[]Response) bool {
	var rec CacheRecord
	ok := d.cacheRecord(&rec, func() bool { return d.responses(rs) })
	*key = rec.Key
	return ok
}

// cacheRecord decodes a cache journal line into rec, its value by value
// (rec.Value is left nil); it gives up on a line without a value.
func (d *dec) cacheRecord(rec *CacheRecord, value func() bool) bool {
	hasValue := false
	return d.object(func(k string) (uint64, bool) {
		switch k {
		case "v":
			return 1 << 0, d.int(&rec.V)
		case "key":
			return 1 << 1, d.str(&rec.Key)
		case "prompt_id":
			return 1 << 2, d.str(&rec.PromptID)
		case "component":
			return 1 << 3, d.str(&rec.Component)
		case "run":
			return 1 << 4, d.str(&rec.Run)
		case "refs":
			return 1 << 5, d.bool(&rec.Refs)
		case "value":
			hasValue = true
			return 1 << 6, value()
		}
		return 0, false
	}) && hasValue
}

// DecodeResponsesLine decodes a line of the responses journal
// ([FileResponses]) by hand, without reflection: the record (its Value left
// nil) and its value, the generator's responses. When ok, they are what
// encoding/json gives for the line and then its value. A line that is not
// the shape this package writes (an unknown or repeated field, a value of
// another type, an escape or a byte the hand decoder does not handle,
// invalid JSON, no value) gives ok false: decode it with encoding/json,
// which also says what is wrong with it.
func DecodeResponsesLine(line []byte) (rec CacheRecord, rs []Response, ok bool) {
	d := dec{b: line}
	if !d.cacheRecord(&rec, func() bool { return d.responses(&rs) }) || !d.end() {
		return CacheRecord{}, nil, false
	}
	return rec, rs, true
}

// DecodeCandidateLine is [DecodeResponsesLine] for a line of a filter's
// journal ([FileScores]), whose value is a [Candidate]: c is nil when the
// value is null, as encoding/json leaves a *Candidate.
func DecodeCandidateLine(line []byte) (rec CacheRecord, c *Candidate, ok bool) {
	d := dec{b: line}
	if !d.cacheRecord(&rec, func() bool {
		if d.null() {
			c = nil
			return true
		}
		c = new(Candidate)
		return d.candidate(c)
	}) || !d.end() {
		return CacheRecord{}, nil, false
	}
	return rec, c, true
}

// decodeOutput decodes a component's cached output by hand, without
// reflection, for the outputs the pipeline reads back most (a prompt
// filter's, a generator's, a filter's): when it returns true, *v is what
// encoding/json gives for b. False (another type, or a value the hand
// decoder does not take) leaves *v as it was: decode it with encoding/json.
func decodeOutput[T any](b []byte, v *T) bool {
	d := dec{b: b}
	switch x := any(v).(type) {
	case *Stage1Result:
		var r Stage1Result
		if d.stage1Result(&r) && d.end() {
			*x = r
			return true
		}
	case *[]Response:
		var rs []Response
		if d.responses(&rs) && d.end() {
			*x = rs
			return true
		}
	case *Candidate:
		var c Candidate
		if d.candidate(&c) && d.end() {
			*x = c
			return true
		}
	}
	return false
}

func (d *dec) stage1Result(r *Stage1Result) bool {
	return d.object(func(k string) (uint64, bool) {
		switch k {
		case "prompt":
			return 1 << 0, d.prompt(&r.Prompt)
		case "rejected":
			return 1 << 1, d.bool(&r.Rejected)
		case "reason":
			return 1 << 2, d.str(&r.Reason)
		}
		return 0, false
	})
}

func (d *dec) candidate(c *Candidate) bool {
	return d.object(func(k string) (uint64, bool) {
		switch k {
		case "prompt":
			return 1 << 0, d.prompt(&c.Prompt)
		case "responses":
			return 1 << 1, d.responses(&c.Responses)
		case "scores":
			return 1 << 2, d.scores(&c.Scores)
		case "comparisons":
			return 1 << 3, d.comparisons(&c.Comparisons)
		case "dropped":
			return 1 << 4, d.drops(&c.Dropped)
		}
		return 0, false
	})
}

func (d *dec) comparisons(cs *[]Comparison) bool {
	return list(d, cs, func(c *Comparison) bool {
		if d.null() {
			return true
		}
		return d.object(func(k string) (uint64, bool) {
			switch k {
			case "a":
				return 1 << 0, d.str(&c.A)
			case "b":
				return 1 << 1, d.str(&c.B)
			case "scorer":
				return 1 << 2, d.str(&c.Scorer)
			case "preference":
				return 1 << 3, d.float(&c.Preference)
			case "consistent":
				return 1 << 4, d.bool(&c.Consistent)
			case "raw":
				return 1 << 5, d.strings(&c.Raw)
			case "orders":
				return 1 << 6, list(d, &c.Orders, func(p **float64) bool {
					if d.null() {
						return true
					}
					var f float64
					if !d.float(&f) {
						return false
					}
					*p = &f
					return true
				})
			}
			return 0, false
		})
	})
}

func (d *dec) drops(ds *[]Drop) bool {
	return list(d, ds, func(dr *Drop) bool {
		if d.null() {
			return true
		}
		return d.object(func(k string) (uint64, bool) {
			switch k {
			case "response_id":
				return 1 << 0, d.str(&dr.ResponseID)
			case "filter":
				return 1 << 1, d.str(&dr.Filter)
			case "reason":
				return 1 << 2, d.str(&dr.Reason)
			}
			return 0, false
		})
	})
}

func (d *dec) responses(rs *[]Response) bool { return list(d, rs, d.response) }

func (d *dec) pairs(ps *[]Pair) bool { return list(d, ps, d.pair) }

func (d *dec) pair(p *Pair) bool {
	if d.null() {
		return true
	}
	return d.object(func(k string) (uint64, bool) {
		switch k {
		case "id":
			return 1 << 0, d.str(&p.ID)
		case "prompt":
			return 1 << 1, d.prompt(&p.Prompt)
		case "chosen":
			return 1 << 2, d.response(&p.Chosen)
		case "rejected":
			return 1 << 3, d.response(&p.Rejected)
		case "margin":
			return 1 << 4, d.float(&p.Margin)
		case "score_chosen":
			return 1 << 5, d.float(&p.ScoreChosen)
		case "score_rejected":
			return 1 << 6, d.float(&p.ScoreRejected)
		case "scores":
			return 1 << 7, d.scores(&p.Scores)
		case "needs_human":
			return 1 << 8, d.bool(&p.NeedsHuman)
		case "provenance":
			return 1 << 9, d.provenance(&p.Provenance)
		}
		return 0, false
	})
}

func (d *dec) prompt(p *Prompt) bool {
	if d.null() {
		return true
	}
	return d.object(func(k string) (uint64, bool) {
		switch k {
		case "id":
			return 1 << 0, d.str(&p.ID)
		case "messages":
			return 1 << 1, d.messages(&p.Messages)
		case "source":
			return 1 << 2, d.str(&p.Source)
		case "category":
			return 1 << 3, d.str(&p.Category)
		case "meta":
			return 1 << 4, d.sub(&p.Meta)
		case "options":
			return 1 << 5, d.sub(&p.Options)
		}
		return 0, false
	})
}

func (d *dec) messages(ms *[]Message) bool {
	return list(d, ms, func(m *Message) bool {
		if d.null() {
			return true
		}
		return d.object(func(k string) (uint64, bool) {
			switch k {
			case "role":
				return 1 << 0, d.str(&m.Role)
			case "content":
				return 1 << 1, d.str(&m.Content)
			}
			return 0, false
		})
	})
}

func (d *dec) response(r *Response) bool {
	if d.null() {
		return true
	}
	return d.object(func(k string) (uint64, bool) {
		switch k {
		case "id":
			return 1 << 0, d.str(&r.ID)
		case "prompt_id":
			return 1 << 1, d.str(&r.PromptID)
		case "model":
			return 1 << 2, d.str(&r.Model)
		case "system":
			return 1 << 3, d.str(&r.System)
		case "sampling":
			return 1 << 4, d.sampling(&r.Sampling)
		case "sample":
			return 1 << 5, d.int(&r.Sample)
		case "text":
			return 1 << 6, d.str(&r.Text)
		case "finish_reason":
			return 1 << 7, d.str(&r.FinishReason)
		case "usage":
			return 1 << 8, d.usage(&r.Usage)
		case "latency_ns":
			n := int64(r.Latency)
			ok := d.int64(&n)
			r.Latency = time.Duration(n)
			return 1 << 9, ok
		case "logprobs":
			return 1 << 10, d.sub(&r.Logprobs)
		case "reasoning":
			return 1 << 11, d.str(&r.Reasoning)
		case "refusal":
			return 1 << 12, d.str(&r.Refusal)
		case "tool_calls":
			return 1 << 13, d.sub(&r.ToolCalls)
		}
		return 0, false
	})
}

func (d *dec) usage(u *Usage) bool {
	if d.null() {
		return true
	}
	return d.object(func(k string) (uint64, bool) {
		switch k {
		case "requests":
			return 1 << 0, d.int(&u.Requests)
		case "prompt_tokens":
			return 1 << 1, d.int(&u.PromptTokens)
		case "completion_tokens":
			return 1 << 2, d.int(&u.CompletionTokens)
		case "reasoning_tokens":
			return 1 << 3, d.int(&u.ReasoningTokens)
		case "cost_usd":
			return 1 << 4, d.float(&u.Cost)
		}
		return 0, false
	})
}

func (d *dec) scores(ss *[]Score) bool {
	return list(d, ss, func(s *Score) bool {
		if d.null() {
			return true
		}
		return d.object(func(k string) (uint64, bool) {
			switch k {
			case "response_id":
				return 1 << 0, d.str(&s.ResponseID)
			case "scorer":
				return 1 << 1, d.str(&s.Scorer)
			case "aspect":
				return 1 << 2, d.str(&s.Aspect)
			case "value":
				return 1 << 3, d.float(&s.Value)
			case "rationale":
				return 1 << 4, d.str(&s.Rationale)
			case "raw":
				return 1 << 5, d.str(&s.Raw)
			}
			return 0, false
		})
	})
}

func (d *dec) provenance(p *Provenance) bool {
	if d.null() {
		return true
	}
	return d.object(func(k string) (uint64, bool) {
		switch k {
		case "stage":
			if d.null() {
				return 1 << 0, true
			}
			if d.peek() != '"' {
				return 0, false
			}
			var s string
			return 1 << 0, d.str(&s) && p.Stage.UnmarshalText([]byte(s)) == nil
		case "labeler":
			return 1 << 1, d.str(&p.Labeler)
		case "judge":
			return 1 << 2, d.str(&p.Judge)
		case "annotators":
			return 1 << 3, d.strings(&p.Annotators)
		case "confidence":
			return 1 << 4, d.float(&p.Confidence)
		case "reason":
			return 1 << 5, d.str(&p.Reason)
		case "audit":
			return 1 << 6, d.bool(&p.Audit)
		case "value":
			return 1 << 7, d.float(&p.Value)
		case "audit_weight":
			return 1 << 8, d.float(&p.AuditWeight)
		}
		return 0, false
	})
}

func (d *dec) sampling(s *Sampling) bool {
	if d.null() {
		return true
	}
	float := func(p **float64) bool {
		if d.null() {
			*p = nil
			return true
		}
		var f float64
		if !d.float(&f) {
			return false
		}
		*p = &f
		return true
	}
	return d.object(func(k string) (uint64, bool) {
		switch k {
		case "temperature":
			return 1 << 0, float(&s.Temperature)
		case "top_p":
			return 1 << 1, float(&s.TopP)
		case "max_tokens":
			return 1 << 2, d.int(&s.MaxTokens)
		case "seed":
			if d.null() {
				s.Seed = nil
				return 1 << 3, true
			}
			var n int
			if !d.int(&n) {
				return 0, false
			}
			s.Seed = &n
			return 1 << 3, true
		case "stop":
			return 1 << 4, d.strings(&s.Stop)
		case "logprobs":
			return 1 << 5, d.bool(&s.Logprobs)
		case "top_logprobs":
			return 1 << 6, d.int(&s.TopLogprobs)
		case "reasoning_effort":
			return 1 << 7, d.str(&s.ReasoningEffort)
		}
		return 0, false
	})
}
