package filter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prefdata/prefdata"
)

// RMAPI selects the HTTP API a [RewardModel] speaks. The request and
// response shapes each follows are written next to the constant; servers
// change them between versions, so each names the version it was taken
// from.
type RMAPI int

const (
	// VLLMPooling is vLLM's POST /pooling (`vllm serve <rm> --runner
	// pooling`). Shape of vLLM 0.11 to 0.19 (vllm/entrypoints/pooling/pooling/
	// protocol.py): request {"model", "input": [text...], "use_activation":
	// false} or, without Render, {"model", "messages": [...]} one
	// conversation a request; response {"data": [{"index", "object":
	// "pooling", "data": [reward] | [[per-token]...]}]}. For per-token
	// output the last token's row is used.
	VLLMPooling RMAPI = iota
	// VLLMClassify is vLLM's POST /classify for *ForSequenceClassification
	// reward models. Same request as VLLMPooling; response {"data":
	// [{"index", "label", "probs": [...], "num_classes"}]}, where "probs"
	// holds raw logits when use_activation is false (vLLM >= 0.11; older
	// servers called the flag "activation" or "softmax": pass it in Extra).
	VLLMClassify
	// VLLMScore is vLLM's POST /score (cross-encoder form): request
	// {"model", "text_1": prompt text, "text_2": [response...],
	// "use_activation": false}; response {"data": [{"index", "object":
	// "score", "score"}]}. text_1/text_2 are accepted by vLLM 0.6 to 0.19
	// (newer servers also take queries/documents). The server joins the two
	// texts with the tokenizer's pair template, not the chat template.
	VLLMScore
	// SGLangClassify is SGLang's native POST /classify for reward models
	// (`--is-embedding`), as in SGLang 0.4.x-0.5.x docs: request {"model",
	// "text": [rendered conversation...]}; response [{"embedding":
	// [reward...], "meta_info": {...}}], raw values. (SGLang's
	// OpenAI-style /v1/classify always applies a softmax, which turns a
	// one-logit reward model's output into 1.0: do not use it for rewards.)
	SGLangClassify
	// GenericJSON posts whatever Generic.Encode builds and reads rewards
	// with Generic.Decode.
	GenericJSON
)

func (a RMAPI) String() string {
	switch a {
	case VLLMPooling:
		return "vllm-pooling"
	case VLLMClassify:
		return "vllm-classify"
	case VLLMScore:
		return "vllm-score"
	case SGLangClassify:
		return "sglang-classify"
	case GenericJSON:
		return "generic-json"
	}
	return fmt.Sprintf("rmapi(%d)", int(a))
}

func (a RMAPI) path() string {
	switch a {
	case VLLMPooling:
		return "/pooling"
	case VLLMClassify, SGLangClassify:
		return "/classify"
	case VLLMScore:
		return "/score"
	}
	return ""
}

// GenericAPI describes a reward-model API by two functions.
type GenericAPI struct {
	// Encode builds the JSON body for a batch of responses to one prompt.
	Encode func(p prefdata.Prompt, rs []prefdata.Response) (any, error)
	// Decode reads one reward per response, in order, from the response
	// body. n is the number of responses sent.
	Decode func(body []byte, n int) ([]float64, error)
}

// RMRetry bounds the retries of a reward-model request. 429 and 5xx answers
// and network errors are retried with exponential backoff (with jitter), or
// after the server's Retry-After; other answers are not.
type RMRetry struct {
	Attempts int           // the most attempts, the first included (default 5)
	Base     time.Duration // first backoff (default 500ms), doubled each retry
	Max      time.Duration // backoff cap, and cap on Retry-After (default 30s)
}

// RewardModelConfig configures [NewRewardModel].
type RewardModelConfig struct {
	API RMAPI
	// BaseURL is the server's root, e.g. "http://127.0.0.1:8000" (the
	// endpoint path is appended; vLLM and SGLang serve these endpoints
	// outside /v1).
	BaseURL string
	// Path overrides the API's endpoint path.
	Path  string
	Model string
	// Name is the scorer name in Score.Scorer (default "rm:" + Model).
	Name   string
	APIKey string // sent as a Bearer token when set
	// Render turns a prompt and one response into the text the reward
	// model reads: its chat template, applied by the caller. Required by
	// SGLangClassify; with VLLMPooling and VLLMClassify, nil sends the
	// conversation as "messages" (one request per response) and the server
	// applies the model's chat template.
	Render func(p prefdata.Prompt, r prefdata.Response) string
	// RenderName identifies Render in the fingerprint: change it when
	// Render changes.
	RenderName string
	// Label is the output index read as the reward when the model has
	// several outputs (default 0).
	Label int
	// Probability asks for a probability (the server's activation, or a
	// sigmoid/softmax here) instead of the raw reward. Off by default: a
	// Bradley-Terry reward model's raw logit is its reward.
	Probability bool
	// BatchSize is the number of responses per request for APIs that take
	// batches (default 16).
	BatchSize int
	// Concurrency bounds the requests in flight for one prompt (default 4).
	Concurrency int
	Retry       RMRetry
	// Extra fields are merged into every request body (for server options
	// this client does not know, or older names of known ones).
	Extra   map[string]any
	Generic GenericAPI // for GenericJSON
	// HTTPClient sends the requests (default: a client with a 2-minute
	// timeout).
	HTTPClient *http.Client
	// Sleep waits d or until ctx is done (default: a timer); tests inject
	// one to see the backoff without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// RewardModel is a [prefdata.Scorer] that asks a reward model served over
// HTTP for one scalar per (prompt, response). It keeps the raw reward unless
// Probability is set. It is safe for concurrent use.
type RewardModel struct {
	cfg RewardModelConfig
	url string
}

var _ prefdata.Scorer = (*RewardModel)(nil)

// NewRewardModel checks cfg and returns the scorer.
func NewRewardModel(cfg RewardModelConfig) (*RewardModel, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("filter: RewardModelConfig.BaseURL is empty")
	}
	if cfg.API < VLLMPooling || cfg.API > GenericJSON {
		return nil, fmt.Errorf("filter: RewardModelConfig.API: unknown API %d", int(cfg.API))
	}
	if cfg.API == SGLangClassify && cfg.Render == nil {
		return nil, errors.New("filter: RewardModelConfig.Render is required for SGLangClassify (its /classify takes text with the chat template applied)")
	}
	if cfg.API == GenericJSON && (cfg.Generic.Encode == nil || cfg.Generic.Decode == nil) {
		return nil, errors.New("filter: RewardModelConfig.Generic needs Encode and Decode for GenericJSON")
	}
	if cfg.Label < 0 {
		return nil, fmt.Errorf("filter: RewardModelConfig.Label %d is negative", cfg.Label)
	}
	if cfg.Name == "" {
		cfg.Name = "rm:" + cfg.Model
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 16
	}
	if cfg.Retry.Attempts <= 0 {
		cfg.Retry.Attempts = 5
	}
	if cfg.Retry.Base <= 0 {
		cfg.Retry.Base = 500 * time.Millisecond
	}
	if cfg.Retry.Max <= 0 {
		cfg.Retry.Max = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 2 * time.Minute}
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	path := cfg.Path
	if path == "" {
		path = cfg.API.path()
	}
	return &RewardModel{cfg: cfg, url: strings.TrimRight(cfg.BaseURL, "/") + path}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Name returns the scorer name ("rm:" + model by default).
func (m *RewardModel) Name() string { return m.cfg.Name }

// Fingerprint covers what decides the rewards: API, path, model, label,
// probability, render name and extra fields (not the URL or the key).
func (m *RewardModel) Fingerprint() string {
	return prefdata.Hash("filter.RewardModel", m.cfg.API.String(), m.cfg.Path, m.cfg.Model, m.cfg.Name, m.cfg.Label, m.cfg.Probability, m.cfg.Render != nil, m.cfg.RenderName, m.cfg.Extra)
}

// Score asks for the reward of each response. Requests are batched where
// the API allows; a failed batch fails only its responses, reported as
// *ResponseErrors joined. A batch the server refuses for its content (400,
// 413 or 422, as vLLM answers when one input is too long for the model) is
// sent again one response at a time, so that one bad input fails alone.
func (m *RewardModel) Score(ctx context.Context, p prefdata.Prompt, rs []prefdata.Response) ([]prefdata.Score, error) {
	var batches [][]prefdata.Response
	batched := m.cfg.API == VLLMScore || m.cfg.API == SGLangClassify || m.cfg.API == GenericJSON || m.cfg.Render != nil
	size := m.cfg.BatchSize
	if !batched {
		size = 1
	}
	for i := 0; i < len(rs); i += size {
		batches = append(batches, rs[i:min(i+size, len(rs))])
	}
	vals := make([][]float64, len(batches))
	errs := make([][]error, len(batches))
	forEach(ctx, len(batches), m.cfg.Concurrency, func(i int) {
		vals[i], errs[i] = m.scoreBatch(ctx, p, batches[i])
	})
	var out []prefdata.Score
	var all []error
	for i, b := range batches {
		for k, r := range b {
			switch {
			case errs[i] == nil && vals[i] == nil:
				all = append(all, &ResponseError{r.ID, ctx.Err()})
			case errs[i] != nil && errs[i][k] != nil:
				all = append(all, &ResponseError{r.ID, errs[i][k]})
			default:
				out = append(out, prefdata.Score{ResponseID: r.ID, Scorer: m.cfg.Name, Value: vals[i][k]})
			}
		}
	}
	return out, errors.Join(all...)
}

// scoreBatch returns one value per response, or per-response errors (nil
// where the value is good).
func (m *RewardModel) scoreBatch(ctx context.Context, p prefdata.Prompt, rs []prefdata.Response) ([]float64, []error) {
	fail := func(err error) ([]float64, []error) {
		errs := make([]error, len(rs))
		for i := range errs {
			errs[i] = err
		}
		return make([]float64, len(rs)), errs
	}
	body, err := m.request(p, rs)
	if err != nil {
		return fail(err)
	}
	raw, err := m.post(ctx, body)
	if err != nil {
		var se *statusError
		if len(rs) > 1 && errors.As(err, &se) && se.refusesInput() {
			// The server refused the batch, likely for one input (too long
			// for the model): send each response alone, so only it fails.
			return m.oneByOne(ctx, p, rs)
		}
		return fail(err)
	}
	vecs, err := m.decode(raw, len(rs))
	if err != nil {
		return fail(fmt.Errorf("%s %s: %w", m.cfg.API, m.url, err))
	}
	vals := make([]float64, len(rs))
	errs := make([]error, len(rs))
	bad := false
	for i, v := range vecs {
		vals[i], errs[i] = m.pick(v)
		if errs[i] == nil && (math.IsNaN(vals[i]) || math.IsInf(vals[i], 0)) {
			errs[i] = fmt.Errorf("reward %v is not a number", vals[i])
		}
		bad = bad || errs[i] != nil
	}
	if !bad {
		errs = nil
	}
	return vals, errs
}

// oneByOne scores each response in a request of its own.
func (m *RewardModel) oneByOne(ctx context.Context, p prefdata.Prompt, rs []prefdata.Response) ([]float64, []error) {
	vals := make([]float64, len(rs))
	errs := make([]error, len(rs))
	bad := false
	for i := range rs {
		v, e := m.scoreBatch(ctx, p, rs[i:i+1])
		vals[i] = v[0]
		if e != nil {
			errs[i], bad = e[0], true
		}
	}
	if !bad {
		errs = nil
	}
	return vals, errs
}

func (m *RewardModel) request(p prefdata.Prompt, rs []prefdata.Response) (any, error) {
	body := map[string]any{}
	if m.cfg.Model != "" {
		body["model"] = m.cfg.Model
	}
	texts := func() []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = m.cfg.Render(p, r)
		}
		return out
	}
	switch m.cfg.API {
	case VLLMPooling, VLLMClassify:
		if m.cfg.Render != nil {
			body["input"] = texts()
		} else {
			msgs := append(append([]prefdata.Message(nil), p.Messages...), prefdata.Message{Role: prefdata.RoleAssistant, Content: rs[0].Text})
			body["messages"] = msgs
		}
		body["use_activation"] = m.cfg.Probability
	case VLLMScore:
		text2 := make([]string, len(rs))
		for i, r := range rs {
			text2[i] = r.Text
		}
		body["text_1"], body["text_2"] = p.Text(), text2
		body["use_activation"] = m.cfg.Probability
	case SGLangClassify:
		body["text"] = texts()
	case GenericJSON:
		v, err := m.cfg.Generic.Encode(p, rs)
		if err != nil {
			return nil, fmt.Errorf("generic encode: %w", err)
		}
		if len(m.cfg.Extra) == 0 {
			return v, nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("generic encode: %w", err)
		}
		body = map[string]any{}
		if err := json.Unmarshal(b, &body); err != nil {
			return nil, fmt.Errorf("generic encode: Extra needs a JSON object body: %w", err)
		}
	}
	for k, v := range m.cfg.Extra {
		body[k] = v
	}
	return body, nil
}

// post sends body with retries and returns the response body of a 200.
func (m *RewardModel) post(ctx context.Context, body any) ([]byte, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	backoff := m.cfg.Retry.Base
	for attempt := 1; ; attempt++ {
		raw, retryAfter, err := m.once(ctx, payload)
		if err == nil {
			return raw, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var se *statusError
		retryable := !errors.As(err, &se) || se.retryable()
		if !retryable || attempt >= m.cfg.Retry.Attempts {
			if retryable {
				return nil, fmt.Errorf("after %d attempts: %w", attempt, err)
			}
			return nil, err
		}
		wait := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
		if retryAfter > 0 {
			wait = min(retryAfter, m.cfg.Retry.Max)
		}
		if err := m.cfg.Sleep(ctx, wait); err != nil {
			return nil, err
		}
		backoff = min(2*backoff, m.cfg.Retry.Max)
	}
}

type statusError struct {
	url    string
	status int
	body   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("POST %s: HTTP %d: %s", e.url, e.status, e.body)
}

func (e *statusError) retryable() bool { return e.status == 429 || e.status >= 500 }

// refusesInput reports whether the answer blames the request's content (400
// Bad Request, 413 Content Too Large, 422 Unprocessable), not the key, the
// path or the server.
func (e *statusError) refusesInput() bool {
	return e.status == http.StatusBadRequest || e.status == http.StatusRequestEntityTooLarge || e.status == http.StatusUnprocessableEntity
}

func (m *RewardModel) once(ctx context.Context, payload []byte) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.url, bytes.NewReader(payload))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if m.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+m.cfg.APIKey)
	}
	resp, err := m.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("POST %s: read body: %w", m.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		var wait time.Duration
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
			wait = time.Duration(s) * time.Second
		}
		return nil, wait, &statusError{m.url, resp.StatusCode, strings.TrimSpace(string(raw[:min(len(raw), 300)]))}
	}
	return raw, 0, nil
}

// decode reads one output vector per response sent.
func (m *RewardModel) decode(raw []byte, n int) ([][]float64, error) {
	var vecs [][]float64
	switch m.cfg.API {
	case VLLMPooling:
		var r struct {
			Data []struct {
				Index int             `json:"index"`
				Data  json.RawMessage `json:"data"`
			} `json:"data"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("decode pooling response: %w", err)
		}
		vecs = make([][]float64, n)
		for _, d := range r.Data {
			if d.Index < 0 || d.Index >= n {
				return nil, fmt.Errorf("data index %d outside the %d inputs sent", d.Index, n)
			}
			var flat []float64
			if err := json.Unmarshal(d.Data, &flat); err != nil {
				var rows [][]float64
				if err2 := json.Unmarshal(d.Data, &rows); err2 != nil || len(rows) == 0 {
					return nil, fmt.Errorf("data[%d].data is neither a list of numbers nor of lists: %w", d.Index, err)
				}
				flat = rows[len(rows)-1] // per-token output: the last token's
			}
			vecs[d.Index] = flat
		}
	case VLLMClassify:
		var r struct {
			Data []struct {
				Index int       `json:"index"`
				Probs []float64 `json:"probs"`
			} `json:"data"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("decode classify response: %w", err)
		}
		vecs = make([][]float64, n)
		for _, d := range r.Data {
			if d.Index < 0 || d.Index >= n {
				return nil, fmt.Errorf("data index %d outside the %d inputs sent", d.Index, n)
			}
			vecs[d.Index] = d.Probs
		}
	case VLLMScore:
		var r struct {
			Data []struct {
				Index int      `json:"index"`
				Score *float64 `json:"score"`
			} `json:"data"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("decode score response: %w", err)
		}
		vecs = make([][]float64, n)
		for _, d := range r.Data {
			if d.Index < 0 || d.Index >= n {
				return nil, fmt.Errorf("data index %d outside the %d inputs sent", d.Index, n)
			}
			if d.Score != nil {
				vecs[d.Index] = []float64{*d.Score}
			}
		}
	case SGLangClassify:
		var r []struct {
			Embedding []float64 `json:"embedding"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			// One input may come back as a single object.
			var one struct {
				Embedding []float64 `json:"embedding"`
			}
			if err2 := json.Unmarshal(raw, &one); err2 != nil {
				return nil, fmt.Errorf("decode classify response: %w", err)
			}
			r = append(r, one)
		}
		if len(r) > n {
			return nil, fmt.Errorf("%d results for the %d inputs sent", len(r), n)
		}
		vecs = make([][]float64, n)
		for i, e := range r {
			vecs[i] = e.Embedding
		}
	case GenericJSON:
		vals, err := m.cfg.Generic.Decode(raw, n)
		if err != nil {
			return nil, fmt.Errorf("generic decode: %w", err)
		}
		if len(vals) > n {
			return nil, fmt.Errorf("%d rewards for the %d inputs sent", len(vals), n)
		}
		vecs = make([][]float64, n)
		for i, v := range vals {
			vecs[i] = []float64{v}
		}
	}
	return vecs, nil
}

// pick reads the reward from one output vector.
func (m *RewardModel) pick(v []float64) (float64, error) {
	if len(v) == 0 {
		return 0, errors.New("no reward in the server's answer")
	}
	label := m.cfg.Label
	if len(v) == 1 {
		label = 0
	}
	if label >= len(v) {
		return 0, fmt.Errorf("label %d asked, the model has %d outputs", m.cfg.Label, len(v))
	}
	x := v[label]
	// vLLM applies the activation itself when asked (use_activation);
	// SGLang's /classify and generic APIs return raw values.
	if m.cfg.Probability && (m.cfg.API == SGLangClassify || m.cfg.API == GenericJSON) {
		if len(v) == 1 {
			return 1 / (1 + math.Exp(-x)), nil
		}
		hi := v[0]
		for _, y := range v {
			hi = math.Max(hi, y)
		}
		var sum float64
		for _, y := range v {
			sum += math.Exp(y - hi)
		}
		return math.Exp(x-hi) / sum, nil
	}
	return x, nil
}
