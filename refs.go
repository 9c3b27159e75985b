package prefdata

import "encoding/json"

// Responses are stored once. A cache record of a filter's or a labeler's
// output (FileScores, FileLabels) refers to each response of its input it
// returns unchanged by ID: the response is written as {"id": ...} and the
// record's Refs is set. The pipeline fills the references in from the input
// (the record's key covers the whole input, so it is the same input);
// package runstore fills them in from FileResponses.

// inputResponses returns the responses of a component's input, for a
// Candidate input; nil otherwise.
func inputResponses(input []any) []Response {
	if len(input) != 1 {
		return nil
	}
	c, ok := input[0].(Candidate)
	if !ok {
		return nil
	}
	return c.Responses
}

// refSet decides, while a component's output is encoded, which responses
// are written as references: those the input has unchanged, and (as a
// record with references always had them) those that are references
// already.
type refSet struct {
	known []Response
	// marked are responses written as references whatever they hold: the
	// very ones (pointers) the encoder is given, found stored by refer.
	marked  []*Response
	byID    map[string]*Response // for large inputs
	found   bool                 // a response of the input was replaced
	cutOnly bool                 // a response that only has an ID was written as one
}

func newRefSet(known []Response) *refSet {
	s := &refSet{known: known}
	if len(known) > 16 {
		s.byID = make(map[string]*Response, len(known))
		for i := range known {
			if known[i].ID != "" {
				s.byID[known[i].ID] = &known[i]
			}
		}
	}
	return s
}

func (s *refSet) lookup(id string) *Response {
	if id == "" {
		return nil
	}
	if s.byID != nil {
		return s.byID[id]
	}
	for i := len(s.known) - 1; i >= 0; i-- { // the last, as byID has it
		if s.known[i].ID == id {
			return &s.known[i]
		}
	}
	return nil
}

// ref reports whether r is written as a reference.
func (s *refSet) ref(r *Response) bool {
	for _, m := range s.marked {
		if m == r {
			s.found = true
			return true
		}
	}
	if k := s.lookup(r.ID); k != nil && responsesEqual(k, r) {
		s.found = true
		return true
	}
	if idOnly(r) {
		s.cutOnly = true
		return true
	}
	return false
}

// encodeOutput returns the JSON of a component's output v with the
// responses its input has unchanged written as references, and whether it
// wrote any.
func encodeOutput[T any](v *T, input []any) (raw []byte, refs bool, err error) {
	known := inputResponses(input)
	var rs *refSet
	if len(known) > 0 {
		rs = newRefSet(known)
	}
	e := enc{b: getBuf()}
	// Through a pointer: the output is not copied into an interface.
	switch x := any(v).(type) {
	case *Candidate:
		e.candidate(x, rs)
	case *[]Pair:
		e.pairs(*x, rs)
	default:
		putBuf(e.b)
		raw, err = marshal(*v)
		return raw, false, err
	}
	if e.err != nil {
		putBuf(e.b)
		_, err = json.Marshal(*v)
		if err == nil {
			err = e.err
		}
		return nil, false, err
	}
	if rs != nil && !rs.found && rs.cutOnly {
		// Nothing was replaced: the output is written whole.
		putBuf(e.b)
		raw, err = marshal(*v)
		return raw, false, err
	}
	return e.b, rs != nil && rs.found, nil
}

// responsesEqual reports whether a and b are the same response, as
// reflect.DeepEqual would.
func responsesEqual(a, b *Response) bool {
	return a.ID == b.ID && a.PromptID == b.PromptID && a.Model == b.Model && a.System == b.System &&
		samplingEqual(&a.Sampling, &b.Sampling) && a.Sample == b.Sample && a.Text == b.Text &&
		a.FinishReason == b.FinishReason && a.Usage == b.Usage && a.Latency == b.Latency &&
		logprobsEqual(a.Logprobs, b.Logprobs) && a.Reasoning == b.Reasoning && a.Refusal == b.Refusal &&
		toolCallsEqual(a.ToolCalls, b.ToolCalls)
}

func floatPtrEqual(a, b *float64) bool {
	return a == b || (a != nil && b != nil && *a == *b)
}

func samplingEqual(a, b *Sampling) bool {
	return floatPtrEqual(a.Temperature, b.Temperature) && floatPtrEqual(a.TopP, b.TopP) &&
		a.MaxTokens == b.MaxTokens && (a.Seed == b.Seed || (a.Seed != nil && b.Seed != nil && *a.Seed == *b.Seed)) &&
		stringsEqual(a.Stop, b.Stop) && a.Logprobs == b.Logprobs && a.TopLogprobs == b.TopLogprobs &&
		a.ReasoningEffort == b.ReasoningEffort
}

// stringsEqual, like reflect.DeepEqual, tells a nil slice from an empty one.
func stringsEqual(a, b []string) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func logprobsEqual(a, b []TokenLogprob) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Token != b[i].Token || a[i].Logprob != b[i].Logprob || !logprobsEqual(a[i].Top, b[i].Top) {
			return false
		}
	}
	return true
}

func toolCallsEqual(a, b []ToolCall) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// IsRef reports whether r is a reference to a stored response: only its ID
// is set.
func IsRef(r Response) bool { return r.ID != "" && idOnly(&r) }

// idOnly reports whether no field of r but its ID is set.
func idOnly(r *Response) bool {
	return r.PromptID == "" && r.Model == "" && r.System == "" &&
		samplingEqual(&r.Sampling, &Sampling{}) && r.Sample == 0 && r.Text == "" && r.FinishReason == "" &&
		r.Usage == (Usage{}) && r.Latency == 0 && r.Logprobs == nil && r.Reasoning == "" && r.Refusal == "" &&
		r.ToolCalls == nil
}

// ExpandRefs fills in the references of v (a *Candidate, *[]Pair or
// *[]Response) from get; a reference get does not know is left as it is.
func ExpandRefs(v any, get func(id string) (Response, bool)) {
	fill := func(r *Response) {
		if IsRef(*r) {
			if full, ok := get(r.ID); ok {
				*r = full
			}
		}
	}
	switch x := v.(type) {
	case *Candidate:
		for i := range x.Responses {
			fill(&x.Responses[i])
		}
	case *[]Pair:
		for i := range *x {
			fill(&(*x)[i].Chosen)
			fill(&(*x)[i].Rejected)
		}
	case *[]Response:
		for i := range *x {
			fill(&(*x)[i])
		}
	}
}
