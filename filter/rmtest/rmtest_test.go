package rmtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
	"github.com/prefdata/prefdata/filter/rmtest"
)

func TestServerWithRewardModel(t *testing.T) {
	reward := func(s string) float64 {
		if strings.Contains(s, "good") {
			return 1.5
		}
		return -0.5
	}
	render := func(p prefdata.Prompt, r prefdata.Response) string { return p.Text() + "\n" + r.Text }
	for _, api := range []filter.RMAPI{filter.VLLMPooling, filter.VLLMClassify, filter.VLLMScore, filter.SGLangClassify} {
		t.Run(api.String(), func(t *testing.T) {
			srv := rmtest.NewServer(rmtest.Config{API: api, Reward: reward, Faults: []int{503}})
			defer srv.Close()
			m, err := filter.NewRewardModel(filter.RewardModelConfig{API: api, BaseURL: srv.URL, Model: "rm", Render: render,
				Retry: filter.RMRetry{Base: 1}})
			require.NoError(t, err)
			p := prefdata.Prompt{ID: "p", Messages: []prefdata.Message{{Role: "user", Content: "q"}}}
			scores, err := m.Score(context.Background(), p, []prefdata.Response{{ID: "a", Text: "a good answer"}, {ID: "b", Text: "a weak answer"}})
			require.NoError(t, err)
			require.Len(t, scores, 2)
			assert.Equal(t, 1.5, scores[0].Value)
			assert.Equal(t, -0.5, scores[1].Value)
			assert.Len(t, srv.Requests(), 2, "one 503, then the batch")
		})
	}
}
