package filter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/prefdata/prefdata"
)

// CheckFilter runs f on c and reports every way it breaks the
// [prefdata.Filter] contract, as one joined error (nil when it keeps it):
// it must not change c; it may only remove responses (never add or edit
// one), keeping their order; each removed response needs a
// [prefdata.Drop]; the drops, scores and comparisons c had must be kept as
// they were; scores and comparisons it adds must name responses of c; and
// running it again, concurrently, must give the same output. A rejection
// (prefdata.Reject) is a valid answer. Use it in the tests of custom
// filters.
func CheckFilter(ctx context.Context, f prefdata.Filter, c prefdata.Candidate) error {
	before, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("candidate cannot be encoded: %w", err)
	}
	var problems []error
	fail := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	const runs = 4
	outs := make([]prefdata.Candidate, runs)
	errs := make([]error, runs)
	outs[0], errs[0] = f.Filter(ctx, c)
	if after, _ := json.Marshal(c); string(after) != string(before) {
		return errors.New("the input candidate was changed")
	}
	forEach(ctx, runs-1, runs-1, func(i int) { outs[i+1], errs[i+1] = f.Filter(ctx, c) })
	for i := 1; i < runs; i++ {
		if fmt.Sprint(errs[i]) != fmt.Sprint(errs[0]) || !reflect.DeepEqual(outs[i], outs[0]) {
			fail("concurrent runs gave different results (run 0: %v, run %d: %v)", errs[0], i, errs[i])
			break
		}
	}
	if _, ok := prefdata.Rejection(errs[0]); ok || errs[0] != nil {
		return errors.Join(problems...)
	}
	out := outs[0]
	if !reflect.DeepEqual(out.Prompt, c.Prompt) {
		fail("the prompt was changed")
	}
	in := map[string]prefdata.Response{}
	for _, r := range c.Responses {
		in[r.ID] = r
	}
	dropped := map[string]bool{}
	if !samePrefix(out.Dropped, c.Dropped) {
		fail("earlier drop records were changed or removed")
	} else {
		for _, d := range out.Dropped[len(c.Dropped):] {
			dropped[d.ResponseID] = true
			if d.Reason == "" {
				fail("drop of %s has no reason", d.ResponseID)
			}
		}
	}
	kept := map[string]bool{}
	next := 0
	for _, r := range out.Responses {
		orig, ok := in[r.ID]
		switch {
		case !ok:
			fail("response %s was added", r.ID)
			continue
		case !reflect.DeepEqual(orig, r):
			fail("response %s was changed", r.ID)
		}
		kept[r.ID] = true
		for next < len(c.Responses) && c.Responses[next].ID != r.ID {
			next++
		}
		if next == len(c.Responses) {
			fail("responses were reordered at %s", r.ID)
		}
	}
	for _, r := range c.Responses {
		if !kept[r.ID] && !dropped[r.ID] {
			fail("response %s was removed without a drop record", r.ID)
		}
		if kept[r.ID] && dropped[r.ID] {
			fail("response %s has a drop record but was kept", r.ID)
		}
	}
	if !samePrefix(out.Scores, c.Scores) {
		fail("earlier scores were changed or removed")
	} else {
		for _, s := range out.Scores[len(c.Scores):] {
			if !kept[s.ResponseID] {
				fail("a new score names %q, not a kept response", s.ResponseID)
			}
		}
	}
	if !samePrefix(out.Comparisons, c.Comparisons) {
		fail("earlier comparisons were changed or removed")
	} else {
		for _, cmp := range out.Comparisons[len(c.Comparisons):] {
			if in[cmp.A].ID == "" || in[cmp.B].ID == "" || cmp.A == cmp.B {
				fail("a new comparison names %q and %q, not two responses of the candidate", cmp.A, cmp.B)
			}
		}
	}
	return errors.Join(problems...)
}

// samePrefix reports whether out starts with the elements of in.
func samePrefix[T any](out, in []T) bool {
	if len(out) < len(in) {
		return false
	}
	for i := range in {
		if !reflect.DeepEqual(out[i], in[i]) {
			return false
		}
	}
	return true
}
