package prefdatatest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
)

// Label picks the pair a stable sort of the responses by summed score would
// (labelSorted): the first of the best, the last of the worst, over
// candidates with ties, shared IDs, scores of unknown responses and no
// scores at all.
func TestLabelerMatchesSortedOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 2000 {
		c := prefdata.Candidate{Prompt: NewPrompt(fmt.Sprint("p", n))}
		k := 2 + rng.IntN(11)
		for i := range k {
			c.Responses = append(c.Responses, prefdata.Response{ID: fmt.Sprint("r", rng.IntN(k+1)), Sample: i, Text: fmt.Sprint(i)})
		}
		for range rng.IntN(3 * k) {
			v := float64(rng.IntN(4))
			if rng.IntN(50) == 0 {
				v = math.Inf(1 - 2*rng.IntN(2))
			}
			c.Scores = append(c.Scores, prefdata.Score{ResponseID: fmt.Sprint("r", rng.IntN(k+2)), Value: v})
		}
		l := Labeler{HumanBelow: float64(rng.IntN(3))}
		got, err := l.Label(context.Background(), c)
		require.NoError(t, err)
		want, err := l.labelSorted(c)
		require.NoError(t, err)
		// Printed: NaN (an infinite best and worst) is not equal to itself.
		require.Equal(t, fmt.Sprintf("%+v", want), fmt.Sprintf("%+v", got), "candidate %d: %+v", n, c)
	}
}

// A NaN total, which a comparison cannot order, is labeled as the sort
// orders it.
func TestLabelerNaNTotal(t *testing.T) {
	c := prefdata.Candidate{Prompt: NewPrompt("p"), Responses: []prefdata.Response{{ID: "a"}, {ID: "b"}, {ID: "c"}},
		Scores: []prefdata.Score{{ResponseID: "a", Value: 1}, {ResponseID: "b", Value: math.NaN()}, {ResponseID: "c", Value: 3}}}
	got, err := Labeler{}.Label(context.Background(), c)
	require.NoError(t, err)
	want, err := Labeler{}.labelSorted(c)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%+v", want), fmt.Sprintf("%+v", got))
}
