package prefdata_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

// perSample is a Generator that pays for one call per sample, journaling
// each answer as it arrives.
type perSample struct {
	calls int
	fail  bool // the last sample's call fails
}

func (g *perSample) Fingerprint() string { return "per-sample/v1" }

func (g *perSample) Generate(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
	j := prefdata.CallJournalFrom(ctx) // nil outside a pipeline with a run directory
	var out []prefdata.Response
	for i := range 3 {
		key := prefdata.Hash("per-sample/v1", p.ID, p.Messages, i)
		var r prefdata.Response
		if ok, err := j.Get(key, &r); err != nil {
			return out, err
		} else if ok {
			out = append(out, r) // paid for by an earlier run
			continue
		}
		g.calls++ // the paid call
		if g.fail && i == 2 {
			return out, errors.New("server error")
		}
		r = prefdata.NewResponse("per-sample", p, i, fmt.Sprintf("answer %d", i))
		if err := j.Put(key, p.ID, "per-sample", r); err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// A component that pays for several calls per item journals each answer in
// the run's call journal: a run that fails (or is killed) halfway pays
// again only for what it did not get.
func ExampleCallJournalFrom() {
	root, _ := os.MkdirTemp("", "run")
	defer os.RemoveAll(root)
	run := func(g *perSample) {
		d, _ := prefdata.OpenRunDir(root)
		defer d.Close()
		st, err := (&prefdata.Pipeline{
			Source:     prefdata.Prompts(prefdatatest.NewPrompt("Name a prime.")),
			Generators: []prefdata.Generator{g}, Labeler: prefdatatest.Labeler{}, Dir: d,
		}).Run(context.Background())
		fmt.Println("paid calls:", g.calls, "from the journal:", st.Cached.Calls, "responses:", st.Responses, err)
	}
	run(&perSample{fail: true})
	run(&perSample{})
	// Output:
	// paid calls: 3 from the journal: 0 responses: 2 <nil>
	// paid calls: 1 from the journal: 2 responses: 3 <nil>
}
