// Package rmtest is a fake reward-model server for tests: it speaks the
// request and response shapes of vLLM's /pooling, /classify and /score and
// SGLang's /classify, as documented on [filter.RMAPI], on loopback, with
// rewards from a function and scripted HTTP faults.
package rmtest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/prefdata/prefdata/filter"
)

// Config sets up a Server.
type Config struct {
	// API is the API served (not GenericJSON).
	API filter.RMAPI
	// Reward is the raw reward of one input: the rendered text (or, for a
	// vLLM "messages" request, the messages' contents joined by newlines;
	// for /score, the response text). Default: the number of words.
	Reward func(input string) float64
	// Classes is the number of outputs per input for the classify APIs
	// (default 1); output k is Reward(input) + k.
	Classes int
	// Faults scripts failures: request i is answered with HTTP status
	// Faults[i] when it is non-zero (429 comes with Retry-After: 1).
	Faults []int
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	URL string // base URL for RewardModelConfig.BaseURL

	cfg    Config
	ts     *httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

// NewServer starts a fake server; Close it when done.
func NewServer(cfg Config) *Server {
	if cfg.Reward == nil {
		cfg.Reward = func(s string) float64 { return float64(len(strings.Fields(s))) }
	}
	if cfg.Classes <= 0 {
		cfg.Classes = 1
	}
	s := &Server{cfg: cfg}
	mux := http.NewServeMux()
	switch cfg.API {
	case filter.VLLMPooling:
		mux.HandleFunc("POST /pooling", s.handle(s.pooling))
	case filter.VLLMClassify:
		mux.HandleFunc("POST /classify", s.handle(s.vllmClassify))
	case filter.VLLMScore:
		mux.HandleFunc("POST /score", s.handle(s.score))
	case filter.SGLangClassify:
		mux.HandleFunc("POST /classify", s.handle(s.sglangClassify))
	default:
		panic(fmt.Sprintf("rmtest: API %v is not served", cfg.API))
	}
	s.ts = httptest.NewServer(mux)
	s.URL = s.ts.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// Requests returns the decoded bodies of the requests received, in order.
func (s *Server) Requests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...)
}

func (s *Server) handle(answer func(body map[string]any) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
			return
		}
		s.mu.Lock()
		i := len(s.bodies)
		s.bodies = append(s.bodies, body)
		s.mu.Unlock()
		if i < len(s.cfg.Faults) && s.cfg.Faults[i] != 0 {
			if s.cfg.Faults[i] == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "1")
			}
			writeError(w, s.cfg.Faults[i], "scripted fault")
			return
		}
		out, err := answer(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "error", "message": msg, "type": "BadRequestError", "code": status})
}

func strs(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("input[%d] is not a string", i)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("input is %T, not a string or a list of strings", v)
}

// vllmInputs reads "input", or the contents of "messages".
func vllmInputs(body map[string]any) ([]string, error) {
	if in, ok := body["input"]; ok {
		return strs(in)
	}
	msgs, ok := body["messages"].([]any)
	if !ok {
		return nil, fmt.Errorf(`neither "input" nor "messages" given`)
	}
	var b strings.Builder
	for _, m := range msgs {
		mm, _ := m.(map[string]any)
		c, _ := mm["content"].(string)
		b.WriteString(c + "\n")
	}
	return []string{b.String()}, nil
}

func activate(body map[string]any) bool { b, _ := body["use_activation"].(bool); return b }

func usage() map[string]any {
	return map[string]any{"prompt_tokens": 1, "total_tokens": 1, "completion_tokens": 0, "prompt_tokens_details": nil}
}

func (s *Server) outputs(in string, act bool) []float64 {
	out := make([]float64, s.cfg.Classes)
	for k := range out {
		out[k] = s.cfg.Reward(in) + float64(k)
	}
	if act {
		if len(out) == 1 {
			out[0] = 1 / (1 + math.Exp(-out[0]))
		} else {
			var sum float64
			for _, v := range out {
				sum += math.Exp(v)
			}
			for k, v := range out {
				out[k] = math.Exp(v) / sum
			}
		}
	}
	return out
}

func (s *Server) pooling(body map[string]any) (any, error) {
	ins, err := vllmInputs(body)
	if err != nil {
		return nil, err
	}
	data := make([]map[string]any, len(ins))
	for i, in := range ins {
		data[i] = map[string]any{"index": i, "object": "pooling", "data": s.outputs(in, activate(body))[:1]}
	}
	return map[string]any{"id": "pool-rmtest", "object": "list", "created": 0, "model": body["model"], "data": data, "usage": usage()}, nil
}

func (s *Server) vllmClassify(body map[string]any) (any, error) {
	ins, err := vllmInputs(body)
	if err != nil {
		return nil, err
	}
	data := make([]map[string]any, len(ins))
	for i, in := range ins {
		probs := s.outputs(in, activate(body))
		data[i] = map[string]any{"index": i, "label": "LABEL_0", "probs": probs, "num_classes": len(probs)}
	}
	return map[string]any{"id": "classify-rmtest", "object": "list", "created": 0, "model": body["model"], "data": data, "usage": usage()}, nil
}

func (s *Server) score(body map[string]any) (any, error) {
	if _, err := strs(body["text_1"]); err != nil {
		return nil, fmt.Errorf("text_1: %w", err)
	}
	docs, err := strs(body["text_2"])
	if err != nil {
		return nil, fmt.Errorf("text_2: %w", err)
	}
	data := make([]map[string]any, len(docs))
	for i, d := range docs {
		data[i] = map[string]any{"index": i, "object": "score", "score": s.outputs(d, activate(body))[0]}
	}
	return map[string]any{"id": "score-rmtest", "object": "list", "created": 0, "model": body["model"], "data": data, "usage": usage()}, nil
}

// sglangClassify answers as SGLang's native /classify: raw values, no
// activation.
func (s *Server) sglangClassify(body map[string]any) (any, error) {
	ins, err := strs(body["text"])
	if err != nil {
		return nil, fmt.Errorf("text: %w", err)
	}
	out := make([]map[string]any, len(ins))
	for i, in := range ins {
		out[i] = map[string]any{"embedding": s.outputs(in, false), "meta_info": map[string]any{"id": fmt.Sprint(i), "prompt_tokens": 1}}
	}
	return out, nil
}
