package response_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

// Batch lines carry what a synchronous request would: temperature 0 as 0,
// the limit in the endpoint's field, and the prompt's options; the answers
// read back carry the options' settings and IDs, and the reasoning apart.
func TestBatchLinesCarryTheWireAndOptions(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{Reply: func(req openaitest.Request, _ int) openaitest.Reply {
		if req.ResponseFormat != nil {
			return openaitest.Reply{Content: `{"winner":"A"}`, Reasoning: "A is right."}
		}
		return openaitest.Reply{Content: "plain"}
	}})
	defer srv.Close()
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	cfg := response.Config{BaseURL: srv.URL, Model: "gpt-x", MaxTokensField: response.MaxCompletionTokens,
		Sampling: prefdata.Sampling{Temperature: prefdata.Float(0), MaxTokens: 64},
		Sleep:    func(context.Context, time.Duration) error { return nil }}
	b, err := response.NewBatch(cfg, response.BatchConfig{Dir: dir})
	require.NoError(t, err)
	plain := prompt("plain question")
	judged := prompt("which is better?")
	judged.Options = &prefdata.GenerateOptions{JSONSchema: &prefdata.JSONSchema{Name: "verdict", Schema: verdictSchema}, MaxTokens: 16}
	ctx := context.Background()
	_, err = b.Submit(ctx, prefdata.Prompts(plain, judged))
	require.NoError(t, err)
	require.NoError(t, b.Wait(ctx))

	require.Len(t, srv.Uploads(), 1)
	sc := bufio.NewScanner(bytes.NewReader(srv.Uploads()[0].Content))
	var bodies []map[string]json.RawMessage
	for sc.Scan() {
		var l struct {
			Body map[string]json.RawMessage `json:"body"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
		bodies = append(bodies, l.Body)
	}
	require.Len(t, bodies, 2)
	for _, body := range bodies {
		assert.Equal(t, "0", string(body["temperature"]))
		assert.NotContains(t, body, "max_tokens")
	}
	assert.Equal(t, "64", string(bodies[0]["max_completion_tokens"]))
	assert.Equal(t, "16", string(bodies[1]["max_completion_tokens"]))
	assert.NotContains(t, bodies[0], "response_format")
	assert.Contains(t, string(bodies[1]["response_format"]), `"name":"verdict"`)

	g, err := response.New(cfg)
	require.NoError(t, err)
	rs, err := b.Generate(ctx, judged)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.JSONEq(t, `{"winner":"A"}`, rs[0].Text)
	assert.Equal(t, "A is right.", rs[0].Reasoning)
	assert.Equal(t, 16, rs[0].Sampling.MaxTokens)
	// The same prompt asked synchronously gets the same ID.
	sync, err := g.Generate(ctx, judged)
	require.NoError(t, err)
	assert.Equal(t, sync[0].ID, rs[0].ID)
	assert.Equal(t, sync[0].Sampling, rs[0].Sampling)
	prs, err := b.Generate(ctx, plain)
	require.NoError(t, err)
	assert.NotEqual(t, prs[0].ID, rs[0].ID)
}
