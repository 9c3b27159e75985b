package filter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
)

// reward is the fake reward model: a raw logit that depends on the words in
// the text, negative for poor answers.
func reward(text string) float64 {
	switch {
	case strings.Contains(text, "excellent"):
		return 3.25
	case strings.Contains(text, "poor"):
		return -2.5
	}
	return 0.5
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// rmServer is a fake reward-model server. handle gets the decoded request
// body and returns the JSON answer.
type rmServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	faults []int // HTTP status of request i, 0 for a normal answer
	// refuse, if set, answers 400 to the requests it returns true for.
	refuse func(body map[string]any) bool
}

func newRMServer(t *testing.T, path string, handle func(t *testing.T, body map[string]any) any) *rmServer {
	s := &rmServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != path {
			http.Error(w, `{"detail":"Not Found"}`, http.StatusNotFound)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		i := len(s.bodies)
		s.bodies = append(s.bodies, body)
		fault := 0
		if i < len(s.faults) {
			fault = s.faults[i]
		}
		s.mu.Unlock()
		if fault == 0 && s.refuse != nil && s.refuse(body) {
			fault = http.StatusBadRequest
		}
		if fault != 0 {
			if fault == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "3")
			}
			w.WriteHeader(fault)
			fmt.Fprintf(w, `{"object":"error","message":"fault %d","type":"x","code":%d}`, fault, fault)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		require.NoError(t, json.NewEncoder(w).Encode(handle(t, body)))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *rmServer) requests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...)
}

func strs(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			out = append(out, e.(string))
		}
	}
	return out
}

// inputs returns the texts of a vLLM pooling/classify request: "input", or
// the messages' contents joined.
func inputs(body map[string]any) []string {
	if in, ok := body["input"]; ok {
		return strs(in)
	}
	var b strings.Builder
	for _, m := range body["messages"].([]any) {
		b.WriteString(m.(map[string]any)["content"].(string) + "\n")
	}
	return []string{b.String()}
}

func activation(body map[string]any) bool { b, _ := body["use_activation"].(bool); return b }

// vLLM 0.11-0.19 /pooling: data[i].data is [reward] (or per-token rows).
func vllmPooling(perToken bool) func(t *testing.T, body map[string]any) any {
	return func(t *testing.T, body map[string]any) any {
		var data []map[string]any
		for i, in := range inputs(body) {
			v := reward(in)
			if activation(body) {
				v = sigmoid(v)
			}
			var d any = []float64{v}
			if perToken {
				d = [][]float64{{-9}, {-9}, {v}}
			}
			data = append(data, map[string]any{"index": i, "object": "pooling", "data": d})
		}
		return map[string]any{"id": "pool-1", "object": "list", "created": 1, "model": body["model"], "data": data,
			"usage": map[string]any{"prompt_tokens": 7, "total_tokens": 7, "completion_tokens": 0, "prompt_tokens_details": nil}}
	}
}

// vLLM /classify: data[i].probs holds logits when use_activation is false.
func vllmClassify(classes int) func(t *testing.T, body map[string]any) any {
	return func(t *testing.T, body map[string]any) any {
		var data []map[string]any
		for i, in := range inputs(body) {
			probs := []float64{reward(in)}
			if classes == 2 {
				probs = []float64{-reward(in), reward(in)}
			}
			if activation(body) {
				probs = []float64{sigmoid(probs[len(probs)-1])}
			}
			data = append(data, map[string]any{"index": i, "label": "LABEL_0", "probs": probs, "num_classes": len(probs)})
		}
		return map[string]any{"id": "classify-1", "object": "list", "created": 1, "model": body["model"], "data": data,
			"usage": map[string]any{"prompt_tokens": 7, "total_tokens": 7, "completion_tokens": 0, "prompt_tokens_details": nil}}
	}
}

// vLLM /score: text_1 against each of text_2.
func vllmScore(t *testing.T, body map[string]any) any {
	assert.Equal(t, []string{"Rate this"}, strs(body["text_1"]))
	var data []map[string]any
	for i, d := range strs(body["text_2"]) {
		data = append(data, map[string]any{"index": i, "object": "score", "score": reward(d)})
	}
	return map[string]any{"id": "score-1", "object": "list", "created": 1, "model": body["model"], "data": data,
		"usage": map[string]any{"prompt_tokens": 7, "total_tokens": 7}}
}

// SGLang native /classify: a list of {embedding, meta_info}, raw values.
func sglangClassify(t *testing.T, body map[string]any) any {
	var out []map[string]any
	for _, in := range strs(body["text"]) {
		assert.True(t, strings.HasPrefix(in, "<|user|>"), "rendered text expected: %q", in)
		out = append(out, map[string]any{"embedding": []float64{reward(in)}, "meta_info": map[string]any{"id": "x", "prompt_tokens": 9, "e2e_latency": 0.01}})
	}
	return out
}

func render(p prefdata.Prompt, r prefdata.Response) string {
	return "<|user|>" + p.Text() + "<|assistant|>" + r.Text
}

func rmCandidate() prefdata.Candidate {
	return candidate("Rate this", resp("e", "An excellent answer."), resp("o", "An ordinary answer."), resp("p", "A poor answer."))
}

func TestRewardModelAPIs(t *testing.T) {
	raw := map[string]float64{"e": 3.25, "o": 0.5, "p": -2.5}
	prob := map[string]float64{"e": sigmoid(3.25), "o": sigmoid(0.5), "p": sigmoid(-2.5)}
	tests := []struct {
		name     string
		path     string
		handle   func(*testing.T, map[string]any) any
		cfg      filter.RewardModelConfig
		want     map[string]float64
		requests int
		check    func(t *testing.T, body map[string]any)
	}{
		{"vllm pooling batched", "/pooling", vllmPooling(false), filter.RewardModelConfig{API: filter.VLLMPooling, Render: render}, raw, 1,
			func(t *testing.T, body map[string]any) {
				assert.Equal(t, false, body["use_activation"])
				assert.Len(t, body["input"], 3)
			}},
		{"vllm pooling messages", "/pooling", vllmPooling(false), filter.RewardModelConfig{API: filter.VLLMPooling}, raw, 3,
			func(t *testing.T, body map[string]any) {
				msgs := body["messages"].([]any)
				require.Len(t, msgs, 2)
				assert.Equal(t, "assistant", msgs[1].(map[string]any)["role"])
			}},
		{"vllm pooling per-token rows", "/pooling", vllmPooling(true), filter.RewardModelConfig{API: filter.VLLMPooling, Render: render}, raw, 1, nil},
		{"vllm pooling probability", "/pooling", vllmPooling(false), filter.RewardModelConfig{API: filter.VLLMPooling, Render: render, Probability: true}, prob, 1,
			func(t *testing.T, body map[string]any) { assert.Equal(t, true, body["use_activation"]) }},
		{"vllm classify one logit", "/classify", vllmClassify(1), filter.RewardModelConfig{API: filter.VLLMClassify, Render: render, BatchSize: 2}, raw, 2, nil},
		{"vllm classify two classes, label 1", "/classify", vllmClassify(2), filter.RewardModelConfig{API: filter.VLLMClassify, Render: render, Label: 1}, raw, 1, nil},
		{"vllm score", "/score", vllmScore, filter.RewardModelConfig{API: filter.VLLMScore}, raw, 1,
			func(t *testing.T, body map[string]any) { assert.Equal(t, false, body["use_activation"]) }},
		{"sglang classify raw", "/classify", sglangClassify, filter.RewardModelConfig{API: filter.SGLangClassify, Render: render}, raw, 1,
			func(t *testing.T, body map[string]any) { assert.NotContains(t, body, "use_activation") }},
		{"sglang classify probability computed here", "/classify", sglangClassify, filter.RewardModelConfig{API: filter.SGLangClassify, Render: render, Probability: true}, prob, 1, nil},
		{"generic json", "/reward", func(t *testing.T, body map[string]any) any {
			var out []float64
			for _, c := range body["pairs"].([]any) {
				out = append(out, reward(c.([]any)[1].(string)))
			}
			return map[string]any{"rewards": out}
		}, filter.RewardModelConfig{API: filter.GenericJSON, Path: "/reward", Extra: map[string]any{"flag": 1}, Generic: filter.GenericAPI{
			Encode: func(p prefdata.Prompt, rs []prefdata.Response) (any, error) {
				var pairs [][2]string
				for _, r := range rs {
					pairs = append(pairs, [2]string{p.Text(), r.Text})
				}
				return map[string]any{"pairs": pairs}, nil
			},
			Decode: func(body []byte, n int) ([]float64, error) {
				var r struct{ Rewards []float64 }
				err := json.Unmarshal(body, &r)
				return r.Rewards, err
			},
		}}, raw, 1, func(t *testing.T, body map[string]any) { assert.Equal(t, 1.0, body["flag"]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRMServer(t, tt.path, tt.handle)
			cfg := tt.cfg
			cfg.BaseURL, cfg.Model = srv.URL, "rm-test"
			m, err := filter.NewRewardModel(cfg)
			require.NoError(t, err)
			c := rmCandidate()
			scores, err := m.Score(context.Background(), c.Prompt, c.Responses)
			require.NoError(t, err)
			got := map[string]float64{}
			for _, s := range scores {
				assert.Equal(t, "rm:rm-test", s.Scorer)
				got[s.ResponseID] = s.Value
			}
			assert.InDeltaMapValues(t, tt.want, got, 1e-12)
			assert.Len(t, got, 3)
			reqs := srv.requests()
			assert.Len(t, reqs, tt.requests)
			for _, body := range reqs {
				if tt.cfg.API != filter.GenericJSON {
					assert.Equal(t, "rm-test", body["model"])
				}
				if tt.check != nil {
					tt.check(t, body)
				}
			}
		})
	}
}

func TestRewardModelFailures(t *testing.T) {
	type sleepLog struct {
		mu    sync.Mutex
		waits []time.Duration
	}
	tests := []struct {
		name     string
		faults   []int
		handle   func(*testing.T, map[string]any) any
		cfg      filter.RewardModelConfig
		scored   []string
		errs     map[string]string // response ID → error substring
		requests int
		waits    int
	}{
		{"503 twice then fine", []int{503, 503}, vllmPooling(false), filter.RewardModelConfig{}, []string{"e", "o", "p"}, nil, 3, 2},
		{"429 honours Retry-After", []int{429}, vllmPooling(false), filter.RewardModelConfig{}, []string{"e", "o", "p"}, nil, 2, 1},
		{"retries exhausted", []int{500, 500, 500}, vllmPooling(false), filter.RewardModelConfig{Retry: filter.RMRetry{Attempts: 3}}, nil,
			map[string]string{"e": "after 3 attempts: POST", "o": "HTTP 500", "p": "fault 500"}, 3, 2},
		{"400 on one response is not retried", []int{400}, vllmPooling(false), filter.RewardModelConfig{BatchSize: 1, Concurrency: 1}, []string{"o", "p"},
			map[string]string{"e": "HTTP 400"}, 3, 0},
		{"400 on a batch: each response sent alone", []int{400}, vllmPooling(false), filter.RewardModelConfig{}, []string{"e", "o", "p"}, nil, 4, 0},
		{"401 on a batch is not split", []int{401}, vllmPooling(false), filter.RewardModelConfig{}, nil,
			map[string]string{"e": "HTTP 401", "o": "HTTP 401", "p": "HTTP 401"}, 1, 0},
		{"one batch fails, the other scores", []int{500}, vllmPooling(false), filter.RewardModelConfig{BatchSize: 2, Concurrency: 1, Retry: filter.RMRetry{Attempts: 1}}, []string{"p"},
			map[string]string{"e": "HTTP 500", "o": "HTTP 500"}, 2, 0},
		{"missing item", nil, func(t *testing.T, body map[string]any) any {
			out := vllmPooling(false)(t, body).(map[string]any)
			out["data"] = out["data"].([]map[string]any)[:2]
			return out
		}, filter.RewardModelConfig{}, []string{"e", "o"}, map[string]string{"p": "no reward"}, 1, 0},
		{"label out of range", nil, func(t *testing.T, body map[string]any) any {
			out := vllmPooling(false)(t, body).(map[string]any)
			for _, d := range out["data"].([]map[string]any) {
				d["data"] = []float64{0.1, 0.2}
			}
			return out
		}, filter.RewardModelConfig{Label: 3}, nil, map[string]string{"e": "label 3 asked, the model has 2 outputs"}, 1, 0},
		{"malformed body", nil, func(*testing.T, map[string]any) any { return "oops" }, filter.RewardModelConfig{}, nil,
			map[string]string{"e": "decode pooling response"}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRMServer(t, "/pooling", tt.handle)
			srv.faults = tt.faults
			var sl sleepLog
			cfg := tt.cfg
			cfg.API, cfg.BaseURL, cfg.Model, cfg.Render = filter.VLLMPooling, srv.URL, "rm", render
			cfg.Sleep = func(_ context.Context, d time.Duration) error {
				sl.mu.Lock()
				sl.waits = append(sl.waits, d)
				sl.mu.Unlock()
				return nil
			}
			m, err := filter.NewRewardModel(cfg)
			require.NoError(t, err)
			c := rmCandidate()
			scores, err := m.Score(context.Background(), c.Prompt, c.Responses)
			var got []string
			for _, s := range scores {
				got = append(got, s.ResponseID)
			}
			assert.Equal(t, tt.scored, got)
			for id, msg := range tt.errs {
				var found bool
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var re *filter.ResponseError
					if errors.As(e, &re) && re.ResponseID == id {
						found = true
						assert.Contains(t, re.Error(), msg)
					}
				}
				assert.True(t, found, "no error for %s in %v", id, err)
			}
			if tt.errs == nil {
				assert.NoError(t, err)
			}
			assert.Len(t, srv.requests(), tt.requests)
			assert.Len(t, sl.waits, tt.waits)
			if len(tt.faults) > 0 && tt.faults[0] == 429 {
				assert.Equal(t, []time.Duration{3 * time.Second}, sl.waits)
			}
		})
	}
}

func TestNewRewardModelChecksConfig(t *testing.T) {
	tests := []struct {
		cfg filter.RewardModelConfig
		err string
	}{
		{filter.RewardModelConfig{}, "BaseURL is empty"},
		{filter.RewardModelConfig{BaseURL: "http://127.0.0.1:1", API: filter.SGLangClassify}, "Render is required for SGLangClassify"},
		{filter.RewardModelConfig{BaseURL: "http://127.0.0.1:1", API: filter.GenericJSON}, "Generic needs Encode and Decode"},
		{filter.RewardModelConfig{BaseURL: "http://127.0.0.1:1", API: 42}, "unknown API 42"},
		{filter.RewardModelConfig{BaseURL: "http://127.0.0.1:1", Label: -1}, "Label -1 is negative"},
	}
	for _, tt := range tests {
		_, err := filter.NewRewardModel(tt.cfg)
		assert.ErrorContains(t, err, tt.err)
	}
}

func TestRewardModelFingerprint(t *testing.T) {
	a, err := filter.NewRewardModel(filter.RewardModelConfig{BaseURL: "http://127.0.0.1:1", Model: "rm"})
	require.NoError(t, err)
	b, err := filter.NewRewardModel(filter.RewardModelConfig{BaseURL: "http://127.0.0.1:2", Model: "rm", APIKey: "k"})
	require.NoError(t, err)
	c, err := filter.NewRewardModel(filter.RewardModelConfig{BaseURL: "http://127.0.0.1:1", Model: "rm", Probability: true})
	require.NoError(t, err)
	assert.Equal(t, a.Fingerprint(), b.Fingerprint(), "URL and key do not change rewards")
	assert.NotEqual(t, a.Fingerprint(), c.Fingerprint())
	_, ok := filter.Scores(a).(prefdata.Fingerprinter)
	assert.True(t, ok, "Scores keeps the fingerprint so the pipeline caches rewards")
}

// A server refuses a whole batch for one bad input (vLLM answers 400 when
// one text exceeds the model's context): the batch is sent again one
// response at a time, so only the bad one fails.
func TestRewardModelRefusedBatchIsolatesTheBadInput(t *testing.T) {
	srv := newRMServer(t, "/pooling", vllmPooling(false))
	srv.refuse = func(body map[string]any) bool {
		for _, in := range inputs(body) {
			if strings.Contains(in, "poor") {
				return true
			}
		}
		return false
	}
	m, err := filter.NewRewardModel(filter.RewardModelConfig{API: filter.VLLMPooling, BaseURL: srv.URL, Model: "rm", Render: render,
		Sleep: func(context.Context, time.Duration) error { return nil }})
	require.NoError(t, err)
	c := rmCandidate()
	scores, err := m.Score(context.Background(), c.Prompt, c.Responses)
	got := map[string]float64{}
	for _, s := range scores {
		got[s.ResponseID] = s.Value
	}
	assert.Equal(t, map[string]float64{"e": 3.25, "o": 0.5}, got)
	var re *filter.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "p", re.ResponseID)
	assert.ErrorContains(t, re, "HTTP 400")
	assert.Len(t, srv.requests(), 1+3, "the refused batch, then one request per response")
	assert.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), 1, "only p failed")
}
