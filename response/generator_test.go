package response_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

func prompt(text string) prefdata.Prompt {
	msgs := []prefdata.Message{{Role: prefdata.RoleUser, Content: text}}
	return prefdata.Prompt{ID: prefdata.ContentID(msgs), Messages: msgs}
}

func newGen(t *testing.T, cfg response.Config) *response.Generator {
	t.Helper()
	g, err := response.New(cfg)
	require.NoError(t, err)
	return g
}

func TestGenerateFillsEveryField(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{APIKey: "k"})
	defer srv.Close()
	s := prefdata.Sampling{Temperature: prefdata.Float(0.7), TopP: prefdata.Float(0.9), MaxTokens: 50, Seed: prefdata.Int(7), Stop: []string{"\n\n"}, Logprobs: true, TopLogprobs: 2}
	g := newGen(t, response.Config{BaseURL: srv.URL, APIKey: "k", Model: "m1", Samples: 3, Sampling: s, System: "Be brief.", Prices: &response.Prices{Input: 1, Output: 2}})
	p := prompt("What is 2+2?")
	rs, err := g.Generate(context.Background(), p)
	require.NoError(t, err)
	require.Len(t, rs, 3)
	texts := map[string]bool{}
	for i, r := range rs {
		assert.Equal(t, prefdata.ResponseID(p.ID, "m1", "Be brief.", s, i), r.ID)
		assert.Equal(t, p.ID, r.PromptID)
		assert.Equal(t, "m1", r.Model)
		assert.Equal(t, "Be brief.", r.System)
		assert.Equal(t, s, r.Sampling)
		assert.Equal(t, i, r.Sample)
		assert.NotEmpty(t, r.Text)
		assert.Equal(t, "stop", r.FinishReason)
		assert.Positive(t, r.Usage.CompletionTokens)
		assert.Positive(t, r.Usage.Cost)
		assert.Positive(t, r.Latency)
		assert.NotEmpty(t, r.Logprobs)
		assert.Len(t, r.Logprobs[0].Top, 2)
		texts[r.Text] = true
	}
	assert.Len(t, texts, 3, "samples differ")
	assert.Equal(t, 1, rs[0].Usage.Requests)
	assert.Positive(t, rs[0].Usage.PromptTokens)

	log := srv.Log()
	require.Len(t, log, 1, "one request with n=3")
	req := log[0]
	assert.Equal(t, 3, req.N)
	assert.Equal(t, "Bearer k", req.Auth)
	assert.Equal(t, []prefdata.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "What is 2+2?"}}, req.Messages)
	require.NotNil(t, req.Temperature)
	assert.InDelta(t, 0.7, *req.Temperature, 1e-6)
	assert.InDelta(t, 0.9, *req.TopP, 1e-6)
	assert.Equal(t, 50, req.MaxTokens)
	assert.Equal(t, 7, *req.Seed)
	assert.Equal(t, []string{"\n\n"}, req.Stop)
	assert.True(t, req.Logprobs)
	assert.Equal(t, 2, req.TopLogprobs)
}

func TestTemperatureZeroIsSent(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	g := newGen(t, response.Config{BaseURL: srv.URL, Model: "judge", Sampling: prefdata.Sampling{Temperature: prefdata.Float(0), TopP: prefdata.Float(0)}})
	_, err := g.Generate(context.Background(), prompt("x"))
	require.NoError(t, err)
	req := srv.Log()[0]
	require.NotNil(t, req.Temperature, "temperature 0 must be sent, not omitted")
	assert.InDelta(t, 0, *req.Temperature, 1e-30)
	require.NotNil(t, req.TopP)
	assert.InDelta(t, 0, *req.TopP, 1e-30)

	g2 := newGen(t, response.Config{BaseURL: srv.URL, Model: "judge"})
	_, err = g2.Generate(context.Background(), prompt("x"))
	require.NoError(t, err)
	assert.Nil(t, srv.Log()[1].Temperature, "unset temperature is left to the server")
}

func TestFingerprint(t *testing.T) {
	base := response.Config{BaseURL: "http://127.0.0.1:1/v1", APIKey: "a", Model: "m", Samples: 2, Sampling: prefdata.Sampling{Temperature: prefdata.Float(1)}, System: "s"}
	fp := newGen(t, base).Fingerprint()
	same := base
	same.APIKey, same.BaseURL, same.BaseURLs, same.Name = "b", "http://127.0.0.2:1/v1", []string{"http://x/v1", "http://y/v1"}, "other"
	assert.Equal(t, fp, newGen(t, same).Fingerprint(), "key, URLs and name do not change the output")
	for name, change := range map[string]func(*response.Config){
		"model":       func(c *response.Config) { c.Model = "m2" },
		"samples":     func(c *response.Config) { c.Samples = 3 },
		"temperature": func(c *response.Config) { c.Sampling.Temperature = prefdata.Float(0.5) },
		"max tokens":  func(c *response.Config) { c.Sampling.MaxTokens = 9 },
		"system":      func(c *response.Config) { c.System = "t" },
		"principles":  func(c *response.Config) { c.Principles = []string{"p"} },
	} {
		c := base
		change(&c)
		assert.NotEqual(t, fp, newGen(t, c).Fingerprint(), name)
	}
	assert.Equal(t, "m", newGen(t, base).Name())
	named := base
	named.Name = "gen-a"
	assert.Equal(t, "gen-a", newGen(t, named).Name())
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := response.New(response.Config{BaseURL: "ftp://x", Sampling: prefdata.Sampling{Temperature: prefdata.Float(3)}})
	require.Error(t, err)
	for _, want := range []string{"Model is empty", "ftp://x", "Temperature 3"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestEmptyPromptFails(t *testing.T) {
	g := newGen(t, response.Config{BaseURL: "http://127.0.0.1:1/v1", Model: "m"})
	_, err := g.Generate(context.Background(), prefdata.Prompt{ID: "p1"})
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), `"p1"`), err.Error())
	assert.False(t, errors.Is(err, context.Canceled))
}

func TestAzure(t *testing.T) {
	srv := openaitest.NewServer(openaitest.Config{APIKey: "azure-key"})
	defer srv.Close()
	root := strings.TrimSuffix(srv.URL, "/v1")
	g := newGen(t, response.Config{BaseURL: root, APIKey: "azure-key", Model: "my-deployment", AzureAPIVersion: "2024-06-01"})
	rs, err := g.Generate(context.Background(), prompt("hi"))
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Equal(t, "my-deployment", rs[0].Model)
	assert.Equal(t, "Bearer azure-key", srv.Log()[0].Auth, "sent as api-key")
}

func TestBudgetNeedsPrices(t *testing.T) {
	_, err := response.New(response.Config{BaseURL: "http://127.0.0.1:1/v1", Model: "m", Budget: response.NewBudget(1, nil)})
	assert.ErrorContains(t, err, "Budget is set but Prices are not")
}
