package prefdata_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

// The budget counts prompts: with 8 samples a failed candidate is one failed
// prompt, not 8 failed items divided by the prompts read.
func TestErrorBudgetCountsPrompts(t *testing.T) {
	ps := testPrompts(100)
	bad := map[string]bool{}
	for i := 0; i < len(ps); i += 10 {
		bad[ps[i].ID] = true // 10% of the candidates
	}
	flaky := prefdata.FilterFunc(func(_ context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
		if bad[c.Prompt.ID] {
			return c, errors.New("judge down")
		}
		return c, nil
	})
	p := &prefdata.Pipeline{
		Source:     prefdata.Prompts(ps...),
		Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m", Samples: 8}},
		Filters:    []prefdata.Filter{flaky, lengthScores()},
		Labeler:    prefdatatest.Labeler{},
		Sink:       &prefdatatest.Sink{},
		Budget:     prefdata.ErrorBudget{MaxFraction: 0.5},
	}
	st, err := p.Run(context.Background())
	require.NoError(t, err, "10%% of the prompts failing is within a 50%% budget")
	assert.Equal(t, 10, st.FailedPrompts)
	assert.Equal(t, 80, st.Filter.Failed, "Filter.Failed still counts responses")

	// A prompt two of whose generators fail is one failed prompt.
	down := func(model string) prefdata.Generator {
		return &prefdatatest.Generator{Model: model, Fail: func(p prefdata.Prompt) error {
			if bad[p.ID] {
				return errors.New("503")
			}
			return nil
		}}
	}
	p.Source, p.Filters = prefdata.Prompts(ps...), []prefdata.Filter{lengthScores()}
	p.Generators = []prefdata.Generator{down("a"), down("b"), &prefdatatest.Generator{Model: "c"}}
	p.Budget = prefdata.ErrorBudget{MaxFailures: 10}
	st, err = p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 10, st.FailedPrompts)
	assert.Equal(t, 20, st.Generate.Failed)

	p.Source, p.Budget = prefdata.Prompts(ps...), prefdata.ErrorBudget{MaxFailures: 9}
	_, err = p.Run(context.Background())
	require.ErrorIs(t, err, prefdata.ErrBudgetExceeded)
	assert.Contains(t, err.Error(), "prompts failed")
}

// reverseGate makes generations finish in the reverse of their start order
// within each group of four prompts: prompt k waits for prompt k+1 of its
// group. Without a reorder buffer the pairs would reach the sink reversed.
type reverseGate struct {
	mu   sync.Mutex
	done map[int]chan struct{}
}

func (g *reverseGate) ch(k int) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done == nil {
		g.done = map[int]chan struct{}{}
	}
	if g.done[k] == nil {
		g.done[k] = make(chan struct{})
	}
	return g.done[k]
}

func (g *reverseGate) generator(model string) prefdata.Generator {
	inner := &prefdatatest.Generator{Model: model, Samples: 2}
	return prefdata.GeneratorFunc(func(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		k, err := strconv.Atoi(strings.TrimPrefix(p.Text(), "prompt "))
		if err != nil {
			return nil, err
		}
		if k%4 != 3 {
			select {
			case <-g.ch(k + 1):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		defer close(g.ch(k))
		return inner.Generate(ctx, p)
	})
}

func TestIdenticalRunsWriteIdenticalPairFiles(t *testing.T) {
	const n = 40
	runOnce := func() []byte {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		gate := &reverseGate{}
		_, err := (&prefdata.Pipeline{
			Source:     prefdatatest.CountingSource(n),
			Generators: []prefdata.Generator{gate.generator("m")},
			Filters:    []prefdata.Filter{lengthScores()},
			Labeler:    prefdatatest.Labeler{},
			Sink:       prefdata.SinkFunc(func(_ context.Context, p prefdata.Pair) error { return enc.Encode(p) }),
			Limits:     prefdata.Limits{Generate: 8, Filter: 4},
		}).Run(context.Background())
		require.NoError(t, err)
		return buf.Bytes()
	}
	first, second := runOnce(), runOnce()
	require.Equal(t, string(first), string(second), "identical runs wrote different pair files")

	// And the order is the source's (a prompt whose answers tie has no pair).
	last := -1
	lines := strings.Split(strings.TrimSpace(string(first)), "\n")
	require.Greater(t, len(lines), n/2)
	for _, line := range lines {
		var p prefdata.Pair
		require.NoError(t, json.Unmarshal([]byte(line), &p))
		k, err := strconv.Atoi(strings.TrimPrefix(p.Prompt.Text(), "prompt "))
		require.NoError(t, err)
		require.Greater(t, k, last, "pairs out of source order")
		last = k
	}
}
