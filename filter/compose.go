package filter

import (
	"context"
	"fmt"
	"strings"

	"github.com/prefdata/prefdata"
)

// Named gives f a name for stats and drop records; it is [prefdata.Named],
// here so that compositions read in one package.
func Named(name string, f prefdata.Filter) prefdata.Filter { return prefdata.Named(name, f) }

// AllOf keeps a response only if every filter keeps it: it runs the filters
// in order, each on the output of the one before, as the pipeline does. Each
// inner filter's drops keep that filter's name, so the run's stats still
// count them one by one. Scores and comparisons added by inner filters are
// kept. A rejection or error by any filter ends the chain.
//
// If every inner filter has a Fingerprint, so has the chain, and the
// pipeline caches its output; rule filters have none (they are cheaper to
// run again than to read back), so put judges and reward models at the top
// level of Pipeline.Filters, where each is cached on its own.
func AllOf(fs ...prefdata.Filter) prefdata.Filter {
	chain := prefdata.FilterFunc(func(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
		for i, f := range fs {
			if len(c.Responses) == 0 {
				break
			}
			before := len(c.Dropped)
			next, err := f.Filter(ctx, c)
			if err != nil {
				return c, wrapInner(err, f, i)
			}
			name := filterName(f, i)
			for k := before; k < len(next.Dropped); k++ {
				if next.Dropped[k].Filter == "" {
					next.Dropped[k].Filter = name
				}
			}
			c = next
		}
		return c, nil
	})
	var fps []string
	for _, f := range fs {
		fp, ok := f.(prefdata.Fingerprinter)
		if !ok {
			return prefdata.Named(composedName("all", fs), chain)
		}
		fps = append(fps, filterName(f, len(fps))+"="+fp.Fingerprint())
	}
	return prefdata.Named(composedName("all", fs), fingerprinted{chain, prefdata.Hash("filter.AllOf", fps)})
}

type fingerprinted struct {
	prefdata.FilterFunc
	fp string
}

func (f fingerprinted) Fingerprint() string { return f.fp }

// AnyOf keeps a response if at least one filter keeps it, and drops it when
// every filter would, with their reasons joined. It uses only the filters'
// keep-or-drop decisions (scores they add are discarded); a filter that
// rejects the whole candidate counts as dropping every response.
func AnyOf(fs ...prefdata.Filter) prefdata.Filter {
	name := composedName("any", fs)
	return prefdata.Named(name, prefdata.FilterFunc(func(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
		if len(fs) == 0 {
			return c, nil
		}
		reasons := make(map[string][]string, len(c.Responses)) // response ID → one reason per filter that dropped it
		for i, f := range fs {
			drops, err := decisions(ctx, f, i, c)
			if err != nil {
				return c, err
			}
			for id, why := range drops {
				reasons[id] = append(reasons[id], why)
			}
		}
		out := c
		for _, r := range c.Responses {
			if why := reasons[r.ID]; len(why) == len(fs) {
				out = out.Without(r.ID, name, strings.Join(why, "; "))
			}
		}
		return out, nil
	}))
}

// Not keeps exactly the responses f would drop, and drops the others, with
// the reason "kept by <f's name>". It is for inverting a rule (keep only
// refusals, to study them); like AnyOf it uses only f's decisions.
func Not(f prefdata.Filter) prefdata.Filter {
	inner := filterName(f, 0)
	name := "not(" + inner + ")"
	return prefdata.Named(name, prefdata.FilterFunc(func(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
		drops, err := decisions(ctx, f, 0, c)
		if err != nil {
			return c, err
		}
		out := c
		for _, r := range c.Responses {
			if _, dropped := drops[r.ID]; !dropped {
				out = out.Without(r.ID, name, "kept by "+inner)
			}
		}
		return out, nil
	}))
}

// decisions runs f on c and returns, for each response f removed, the
// filter-qualified reason.
func decisions(ctx context.Context, f prefdata.Filter, i int, c prefdata.Candidate) (map[string]string, error) {
	name := filterName(f, i)
	next, err := f.Filter(ctx, c)
	if reason, ok := prefdata.Rejection(err); ok {
		all := make(map[string]string, len(c.Responses))
		for _, r := range c.Responses {
			all[r.ID] = name + ": candidate rejected: " + reason
		}
		return all, nil
	}
	if err != nil {
		return nil, wrapInner(err, f, i)
	}
	why := make(map[string]string)
	for _, d := range next.Dropped[min(len(c.Dropped), len(next.Dropped)):] {
		why[d.ResponseID] = name + ": " + d.Reason
	}
	kept := make(map[string]bool, len(next.Responses))
	for _, r := range next.Responses {
		kept[r.ID] = true
	}
	for _, r := range c.Responses {
		if _, ok := why[r.ID]; !ok && !kept[r.ID] {
			why[r.ID] = name + ": removed"
		}
	}
	return why, nil
}

func filterName(f prefdata.Filter, i int) string {
	if n, ok := f.(prefdata.Namer); ok {
		return n.Name()
	}
	return fmt.Sprintf("filter[%d]", i)
}

func composedName(op string, fs []prefdata.Filter) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = filterName(f, i)
	}
	return op + "(" + strings.Join(names, ",") + ")"
}

// wrapInner names the inner filter in an error, keeping rejections
// recognizable by prefdata.Rejection.
func wrapInner(err error, f prefdata.Filter, i int) error {
	if _, ok := prefdata.Rejection(err); ok {
		return err
	}
	return fmt.Errorf("%s: %w", filterName(f, i), err)
}
