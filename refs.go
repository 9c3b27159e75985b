package prefdata

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// Responses are stored once. A cache record of a filter's or a labeler's
// output (FileScores, FileLabels) refers to each response of its input it
// returns unchanged by ID: the response is written as {"id": ...} and the
// record's Refs is set. The pipeline fills the references in from the input
// (the record's key covers the whole input, so it is the same input);
// package runstore fills them in from FileResponses.

// refsOf returns the responses of a component's input by ID, for a
// Candidate input; nil otherwise.
func refsOf(input []any) map[string]*Response {
	if len(input) != 1 {
		return nil
	}
	c, ok := input[0].(Candidate)
	if !ok {
		return nil
	}
	m := make(map[string]*Response, len(c.Responses))
	for i := range c.Responses {
		if id := c.Responses[i].ID; id != "" {
			m[id] = &c.Responses[i]
		}
	}
	return m
}

// ref returns r's reference when the input has r unchanged.
func ref(r Response, known map[string]*Response) (Response, bool) {
	k, ok := known[r.ID]
	if !ok || !reflect.DeepEqual(*k, r) {
		return r, false
	}
	return Response{ID: r.ID}, true
}

// IsRef reports whether r is a reference to a stored response: only its ID
// is set.
func IsRef(r Response) bool { return r.ID != "" && reflect.DeepEqual(r, Response{ID: r.ID}) }

// compact returns v with the responses the input has unchanged replaced by
// references, and whether it replaced any.
func compact(v any, known map[string]*Response) (any, bool) {
	if len(known) == 0 {
		return v, false
	}
	found := false
	switch x := v.(type) {
	case Candidate:
		out := x
		out.Responses = make([]Response, len(x.Responses))
		for i, r := range x.Responses {
			var ok bool
			out.Responses[i], ok = ref(r, known)
			found = found || ok
		}
		return out, found
	case []Pair:
		out := make([]Pair, len(x))
		for i, p := range x {
			var ok1, ok2 bool
			p.Chosen, ok1 = ref(p.Chosen, known)
			p.Rejected, ok2 = ref(p.Rejected, known)
			out[i] = p
			found = found || ok1 || ok2
		}
		return out, found
	}
	return v, false
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

// refTail is what encoding/json writes after the ID of a reference (the
// zero values of Response's other fields); encodeRefs cuts it, so that a
// reference is stored as {"id":"..."}.
var refTail = func() []byte {
	b, err := json.Marshal(Response{ID: "x"})
	if err != nil {
		panic(err)
	}
	return b[len(`{"id":"x"`):]
}()

// cutRefs rewrites the references in b, JSON, as {"id":"..."}.
func cutRefs(b []byte) []byte { return bytes.ReplaceAll(b, refTail, []byte("}")) }
