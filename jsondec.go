package prefdata

import (
	"encoding/json"
	"time"

	"github.com/prefdata/prefdata/internal/jsonw"
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
	d := dec{jsonw.Dec{B: line}}
	var r PairsRecord
	if d.pairsRecord(&r) && d.End() {
		*rec = r
		return nil
	}
	return json.Unmarshal(line, rec)
}

// DecodePairsRecord decodes a line of the pairs journal ([FilePairs]) by
// hand, as [DecodeResponsesLine] does: when ok, rec is what encoding/json
// gives; ok false leaves the line to encoding/json.
func DecodePairsRecord(line []byte) (rec PairsRecord, ok bool) {
	d := dec{jsonw.Dec{B: line}}
	if !d.pairsRecord(&rec) || !d.End() {
		return PairsRecord{}, false
	}
	return rec, true
}

// dec is the hand decoder of the journal's records: jsonw.Dec's reading of
// values, with this package's records on it.
type dec struct{ jsonw.Dec }

// list is jsonw.List on d.
func list[T any](d *dec, out *[]T, elem func(*T) bool) bool { return jsonw.List(&d.Dec, out, elem) }

func (d *dec) strings(ss *[]string) bool { return list(d, ss, d.Str) }

func (d *dec) pairsRecord(r *PairsRecord) bool {
	return d.Object(func(k string) (uint64, bool) {
		switch k {
		case "v":
			return 1 << 0, d.Int(&r.V)
		case "key":
			return 1 << 1, d.Str(&r.Key)
		case "prompt_id":
			return 1 << 2, d.Str(&r.PromptID)
		case "pos":
			return 1 << 3, d.Int64(&r.Pos)
		case "run_key":
			return 1 << 4, d.Str(&r.RunKey)
		case "run":
			return 1 << 5, d.Str(&r.Run)
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
		return d.Object(func(k string) (uint64, bool) {
			switch k {
			case "key":
				return 1 << 0, d.Str(&ref.Key)
			case "offset":
				return 1 << 1, d.Int64(&ref.Offset)
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
	return d.Object(func(k string) (uint64, bool) {
		switch k {
		case "v":
			return 1 << 0, d.Int(&rec.V)
		case "key":
			return 1 << 1, d.Str(&rec.Key)
		case "prompt_id":
			return 1 << 2, d.Str(&rec.PromptID)
		case "component":
			return 1 << 3, d.Str(&rec.Component)
		case "run":
			return 1 << 4, d.Str(&rec.Run)
		case "refs":
			return 1 << 5, d.Bool(&rec.Refs)
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
	d := dec{jsonw.Dec{B: line}}
	if !d.cacheRecord(&rec, func() bool { return d.responses(&rs) }) || !d.End() {
		return CacheRecord{}, nil, false
	}
	return rec, rs, true
}

// DecodeCandidateLine is [DecodeResponsesLine] for a line of a filter's
// journal ([FileScores]), whose value is a [Candidate]: c is nil when the
// value is null, as encoding/json leaves a *Candidate.
func DecodeCandidateLine(line []byte) (rec CacheRecord, c *Candidate, ok bool) {
	d := dec{jsonw.Dec{B: line}}
	if !d.cacheRecord(&rec, func() bool {
		if d.Null() {
			c = nil
			return true
		}
		c = new(Candidate)
		return d.candidate(c)
	}) || !d.End() {
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
	d := dec{jsonw.Dec{B: b}}
	switch x := any(v).(type) {
	case *Stage1Result:
		var r Stage1Result
		if d.stage1Result(&r) && d.End() {
			*x = r
			return true
		}
	case *[]Response:
		var rs []Response
		if d.responses(&rs) && d.End() {
			*x = rs
			return true
		}
	case *Candidate:
		var c Candidate
		if d.candidate(&c) && d.End() {
			*x = c
			return true
		}
	}
	return false
}

func (d *dec) stage1Result(r *Stage1Result) bool {
	return d.Object(func(k string) (uint64, bool) {
		switch k {
		case "prompt":
			return 1 << 0, d.prompt(&r.Prompt)
		case "rejected":
			return 1 << 1, d.Bool(&r.Rejected)
		case "reason":
			return 1 << 2, d.Str(&r.Reason)
		}
		return 0, false
	})
}

func (d *dec) candidate(c *Candidate) bool {
	return d.Object(func(k string) (uint64, bool) {
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
		if d.Null() {
			return true
		}
		return d.Object(func(k string) (uint64, bool) {
			switch k {
			case "a":
				return 1 << 0, d.Str(&c.A)
			case "b":
				return 1 << 1, d.Str(&c.B)
			case "scorer":
				return 1 << 2, d.Str(&c.Scorer)
			case "preference":
				return 1 << 3, d.Float(&c.Preference)
			case "consistent":
				return 1 << 4, d.Bool(&c.Consistent)
			case "raw":
				return 1 << 5, d.strings(&c.Raw)
			case "orders":
				return 1 << 6, list(d, &c.Orders, func(p **float64) bool {
					if d.Null() {
						return true
					}
					var f float64
					if !d.Float(&f) {
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
		if d.Null() {
			return true
		}
		return d.Object(func(k string) (uint64, bool) {
			switch k {
			case "response_id":
				return 1 << 0, d.Str(&dr.ResponseID)
			case "filter":
				return 1 << 1, d.Str(&dr.Filter)
			case "reason":
				return 1 << 2, d.Str(&dr.Reason)
			}
			return 0, false
		})
	})
}

func (d *dec) responses(rs *[]Response) bool { return list(d, rs, d.response) }

func (d *dec) pairs(ps *[]Pair) bool { return list(d, ps, d.pair) }

func (d *dec) pair(p *Pair) bool {
	if d.Null() {
		return true
	}
	return d.Object(func(k string) (uint64, bool) { return d.pairField(p, k) })
}

// pairField decodes the value of a pair's field k (false for a field a
// pair does not have), with its bit for jsonw.Dec.Object.
func (d *dec) pairField(p *Pair, k string) (uint64, bool) {
	switch k {
	case "id":
		return 1 << 0, d.Str(&p.ID)
	case "prompt":
		return 1 << 1, d.prompt(&p.Prompt)
	case "chosen":
		return 1 << 2, d.response(&p.Chosen)
	case "rejected":
		return 1 << 3, d.response(&p.Rejected)
	case "margin":
		return 1 << 4, d.Float(&p.Margin)
	case "score_chosen":
		return 1 << 5, d.Float(&p.ScoreChosen)
	case "score_rejected":
		return 1 << 6, d.Float(&p.ScoreRejected)
	case "scores":
		return 1 << 7, d.scores(&p.Scores)
	case "needs_human":
		return 1 << 8, d.Bool(&p.NeedsHuman)
	case "provenance":
		return 1 << 9, d.provenance(&p.Provenance)
	}
	return 0, false
}

// DecodeQueueRecord decodes a line of the queue journal ([FileQueue]) by
// hand, as [DecodePairsRecord] does: when ok, q is what encoding/json gives;
// ok false leaves the line to encoding/json.
func DecodeQueueRecord(line []byte) (q QueueRecord, ok bool) {
	d := dec{jsonw.Dec{B: line}}
	if !d.Object(func(k string) (uint64, bool) {
		switch k {
		case "v":
			return 1 << 10, d.Int(&q.V)
		case "sources":
			return 1 << 11, d.recordRefs(&q.Sources)
		}
		return d.pairField(&q.Pair, k)
	}) || !d.End() {
		return QueueRecord{}, false
	}
	return q, true
}

// DecodePromptRecord decodes a line of the prompts journal ([FilePrompts])
// by hand, as [DecodePairsRecord] does: when ok, rec is what encoding/json
// gives; ok false leaves the line to encoding/json.
func DecodePromptRecord(line []byte) (rec PromptRecord, ok bool) {
	d := dec{jsonw.Dec{B: line}}
	if !d.Object(func(k string) (uint64, bool) {
		switch k {
		case "v":
			return 1 << 0, d.Int(&rec.V)
		case "key":
			return 1 << 1, d.Str(&rec.Key)
		case "prompt":
			return 1 << 2, d.prompt(&rec.Prompt)
		case "dropped_by":
			return 1 << 3, d.Str(&rec.DroppedBy)
		case "reason":
			return 1 << 4, d.Str(&rec.Reason)
		}
		return 0, false
	}) || !d.End() {
		return PromptRecord{}, false
	}
	return rec, true
}

func (d *dec) prompt(p *Prompt) bool {
	if d.Null() {
		return true
	}
	return d.Object(func(k string) (uint64, bool) {
		switch k {
		case "id":
			return 1 << 0, d.Str(&p.ID)
		case "messages":
			return 1 << 1, d.messages(&p.Messages)
		case "source":
			return 1 << 2, d.Str(&p.Source)
		case "category":
			return 1 << 3, d.Str(&p.Category)
		case "meta":
			return 1 << 4, d.Sub(&p.Meta)
		case "options":
			return 1 << 5, d.Sub(&p.Options)
		}
		return 0, false
	})
}

func (d *dec) messages(ms *[]Message) bool {
	return list(d, ms, func(m *Message) bool {
		if d.Null() {
			return true
		}
		return d.Object(func(k string) (uint64, bool) {
			switch k {
			case "role":
				return 1 << 0, d.Str(&m.Role)
			case "content":
				return 1 << 1, d.Str(&m.Content)
			}
			return 0, false
		})
	})
}

func (d *dec) response(r *Response) bool {
	if d.Null() {
		return true
	}
	return d.Object(func(k string) (uint64, bool) {
		switch k {
		case "id":
			return 1 << 0, d.Str(&r.ID)
		case "prompt_id":
			return 1 << 1, d.Str(&r.PromptID)
		case "model":
			return 1 << 2, d.Str(&r.Model)
		case "system":
			return 1 << 3, d.Str(&r.System)
		case "sampling":
			return 1 << 4, d.sampling(&r.Sampling)
		case "sample":
			return 1 << 5, d.Int(&r.Sample)
		case "text":
			return 1 << 6, d.Str(&r.Text)
		case "finish_reason":
			return 1 << 7, d.Str(&r.FinishReason)
		case "usage":
			return 1 << 8, d.usage(&r.Usage)
		case "latency_ns":
			n := int64(r.Latency)
			ok := d.Int64(&n)
			r.Latency = time.Duration(n)
			return 1 << 9, ok
		case "logprobs":
			return 1 << 10, d.Sub(&r.Logprobs)
		case "reasoning":
			return 1 << 11, d.Str(&r.Reasoning)
		case "refusal":
			return 1 << 12, d.Str(&r.Refusal)
		case "tool_calls":
			return 1 << 13, d.Sub(&r.ToolCalls)
		}
		return 0, false
	})
}

func (d *dec) usage(u *Usage) bool {
	if d.Null() {
		return true
	}
	return d.Object(func(k string) (uint64, bool) {
		switch k {
		case "requests":
			return 1 << 0, d.Int(&u.Requests)
		case "prompt_tokens":
			return 1 << 1, d.Int(&u.PromptTokens)
		case "completion_tokens":
			return 1 << 2, d.Int(&u.CompletionTokens)
		case "reasoning_tokens":
			return 1 << 3, d.Int(&u.ReasoningTokens)
		case "cost_usd":
			return 1 << 4, d.Float(&u.Cost)
		}
		return 0, false
	})
}

func (d *dec) scores(ss *[]Score) bool {
	return list(d, ss, func(s *Score) bool {
		if d.Null() {
			return true
		}
		return d.Object(func(k string) (uint64, bool) {
			switch k {
			case "response_id":
				return 1 << 0, d.Str(&s.ResponseID)
			case "scorer":
				return 1 << 1, d.Str(&s.Scorer)
			case "aspect":
				return 1 << 2, d.Str(&s.Aspect)
			case "value":
				return 1 << 3, d.Float(&s.Value)
			case "rationale":
				return 1 << 4, d.Str(&s.Rationale)
			case "raw":
				return 1 << 5, d.Str(&s.Raw)
			}
			return 0, false
		})
	})
}

func (d *dec) provenance(p *Provenance) bool {
	if d.Null() {
		return true
	}
	return d.Object(func(k string) (uint64, bool) {
		switch k {
		case "stage":
			if d.Null() {
				return 1 << 0, true
			}
			if d.Peek() != '"' {
				return 0, false
			}
			var s string
			return 1 << 0, d.Str(&s) && p.Stage.UnmarshalText([]byte(s)) == nil
		case "labeler":
			return 1 << 1, d.Str(&p.Labeler)
		case "judge":
			return 1 << 2, d.Str(&p.Judge)
		case "annotators":
			return 1 << 3, d.strings(&p.Annotators)
		case "confidence":
			return 1 << 4, d.Float(&p.Confidence)
		case "reason":
			return 1 << 5, d.Str(&p.Reason)
		case "audit":
			return 1 << 6, d.Bool(&p.Audit)
		case "value":
			return 1 << 7, d.Float(&p.Value)
		case "audit_weight":
			return 1 << 8, d.Float(&p.AuditWeight)
		}
		return 0, false
	})
}

func (d *dec) sampling(s *Sampling) bool {
	if d.Null() {
		return true
	}
	float := func(p **float64) bool {
		if d.Null() {
			*p = nil
			return true
		}
		var f float64
		if !d.Float(&f) {
			return false
		}
		*p = &f
		return true
	}
	return d.Object(func(k string) (uint64, bool) {
		switch k {
		case "temperature":
			return 1 << 0, float(&s.Temperature)
		case "top_p":
			return 1 << 1, float(&s.TopP)
		case "max_tokens":
			return 1 << 2, d.Int(&s.MaxTokens)
		case "seed":
			if d.Null() {
				s.Seed = nil
				return 1 << 3, true
			}
			var n int
			if !d.Int(&n) {
				return 0, false
			}
			s.Seed = &n
			return 1 << 3, true
		case "stop":
			return 1 << 4, d.strings(&s.Stop)
		case "logprobs":
			return 1 << 5, d.Bool(&s.Logprobs)
		case "top_logprobs":
			return 1 << 6, d.Int(&s.TopLogprobs)
		case "reasoning_effort":
			return 1 << 7, d.Str(&s.ReasoningEffort)
		}
		return 0, false
	})
}
