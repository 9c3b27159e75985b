package response

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prefdata/prefdata"
)

// NMode says how a generator asks an endpoint for several samples.
type NMode int

const (
	// NAuto sends one request with n = samples and falls back to separate
	// requests for the samples a server did not return (Ollama ignores n)
	// or when it refuses n > 1 (llama.cpp's server answers 400); after the
	// first such answer the generator sends separate requests to that
	// endpoint from then on.
	NAuto NMode = iota
	// NUse always sends n and never falls back: samples a server does not
	// return fail.
	NUse
	// NSeparate sends one request per sample (with seed+sample as the seed
	// when a seed is set, so samples differ).
	NSeparate
)

func (m NMode) String() string {
	switch m {
	case NAuto:
		return "auto"
	case NUse:
		return "use"
	case NSeparate:
		return "separate"
	}
	return fmt.Sprintf("nmode(%d)", int(m))
}

// MaxTokensField says which request field carries the completion limit
// (Sampling.MaxTokens).
type MaxTokensField int

const (
	// MaxTokensAuto sends max_completion_tokens to OpenAI's and Azure's
	// APIs (where max_tokens is deprecated and refused by reasoning models)
	// and max_tokens to other servers (vLLM, Ollama, llama.cpp and TGI read
	// it; Ollama ignores max_completion_tokens). A 400 answer that names the
	// field sent as unsupported switches that endpoint to the other field
	// for good, and the request is sent again at once.
	MaxTokensAuto MaxTokensField = iota
	// MaxCompletionTokens always sends max_completion_tokens.
	MaxCompletionTokens
	// MaxTokensLegacy always sends max_tokens.
	MaxTokensLegacy
)

func (f MaxTokensField) String() string {
	switch f {
	case MaxTokensAuto:
		return "auto"
	case MaxCompletionTokens:
		return "max_completion_tokens"
	case MaxTokensLegacy:
		return "max_tokens"
	}
	return fmt.Sprintf("maxtokensfield(%d)", int(f))
}

// Retry bounds the retries of one request. Zero fields take the defaults
// shown.
type Retry struct {
	// Attempts is the most attempts of one request, the first included
	// (default 6; 1 means no retry).
	Attempts int
	// Base is the first backoff (default 500ms); each retry doubles it, up to
	// Max (default 30s). The wait is drawn uniformly from [backoff/2,
	// backoff] (jitter), unless the server sent Retry-After, which is
	// honoured as is (up to MaxRetryAfter).
	Base, Max time.Duration
	// MaxRetryAfter caps the wait a server's Retry-After can ask for
	// (default 5m); a longer ask fails the request.
	MaxRetryAfter time.Duration
	// Timeout bounds one attempt (default 5m: long generations are slow,
	// and a hung request is retried after it). With the default HTTP
	// client it bounds the wait for the answer's headers (which a
	// non-streaming server sends once the generation is done) and, again,
	// the reading of the body after them; with a client of your own it
	// bounds the whole attempt.
	Timeout time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 6
	}
	if r.Base <= 0 {
		r.Base = 500 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 30 * time.Second
	}
	if r.MaxRetryAfter <= 0 {
		r.MaxRetryAfter = 5 * time.Minute
	}
	if r.Timeout <= 0 {
		r.Timeout = 5 * time.Minute
	}
	return r
}

// Prices are a model's prices in US dollars per million tokens.
type Prices struct {
	Input  float64 `json:"input"`
	Output float64 `json:"output"`
}

// Cost returns the price of u's tokens.
func (p Prices) Cost(u prefdata.Usage) float64 {
	return (float64(u.PromptTokens)*p.Input + float64(u.CompletionTokens)*p.Output) / 1e6
}

// Config configures a [Generator]: one model on one OpenAI-compatible
// endpoint (or several replicas of it).
type Config struct {
	// Name names the generator in stats and failure records (default: the
	// model name). It is not part of the fingerprint, but a name other than
	// the model's is part of the response IDs: two deployments of one model
	// (fp16 and int4 on different endpoints) named apart never share IDs.
	Name string
	// BaseURL is the API's base URL, ending in "/v1" (default
	// "https://api.openai.com/v1"). BaseURLs, if set, lists replicas of the
	// same model: requests are spread over them and a replica that fails is
	// avoided for a while. Neither is part of the fingerprint.
	BaseURL  string
	BaseURLs []string
	// APIKey is sent as a Bearer token (not part of the fingerprint).
	APIKey string
	// AzureAPIVersion, if set, talks to Azure OpenAI: BaseURL is the
	// resource's endpoint, Model the deployment name, and APIKey is sent as
	// the api-key header.
	AzureAPIVersion string
	// Model is the model name sent to the server.
	Model string
	// Samples is the number of responses per prompt (default 1). Samples
	// asked one request each (see N) are asked at once, so a pipeline with
	// Limits.Generate calls in flight sends up to that many times Samples
	// requests at once.
	Samples  int
	Sampling prefdata.Sampling
	// System, if set, is sent as a system message before the prompt's
	// messages (a system message of the prompt's own follows it).
	System string
	// Principles, if set, are system prompts drawn one per sample,
	// reproducibly from Seed, the prompt ID and the sample index (the
	// UltraFeedback recipe); the drawn principle replaces System.
	Principles []string
	// Seed seeds the draws of principles.
	Seed int64
	// N says how several samples are asked for (default NAuto).
	N NMode
	// MaxTokensField says which field carries Sampling.MaxTokens (default
	// MaxTokensAuto). It is not part of the fingerprint.
	MaxTokensField MaxTokensField
	// ThinkInText leaves a leading <think>…</think> block in
	// Response.Text. By default, when the server gives no reasoning field,
	// such a block (the reasoning of a model served without a reasoning
	// parser) goes to Response.Reasoning, and an unclosed one (cut by the
	// limit) leaves Text empty: the reasoning is never taken for the
	// answer.
	ThinkInText bool
	// Retry bounds retries and the per-request timeout.
	Retry Retry
	// Limiter, if set, holds this generator's requests to a rate. Share one
	// Limiter between all generators that use the same endpoint and key.
	Limiter *Limiter
	// Prices, if set, are used to fill Usage.Cost and to charge Budget.
	Prices *Prices
	// Budget, if set (Prices must be too), is charged with each response's
	// cost; when a request would pass it, the generator stops asking (see
	// [ErrBudget]). Share one Budget between the generators of a run. Batch
	// mode does not charge it.
	Budget *Budget
	// Cache, if set, keeps every response by its inputs, so a sample asked
	// for again (by another pool draw, or after adding a model to a pool)
	// is read back rather than paid for again. Not used in batch mode.
	Cache *Cache
	// HTTPClient is the client requests go through. The default is
	// NewHTTPClient(MaxConns), on which Retry.Timeout is enforced by the
	// transport's response-header timeout and a timer on the body (cheaper
	// than a context deadline per request); a client given here gets a
	// context deadline per attempt.
	HTTPClient *http.Client
	// MaxConns is the most idle connections per host the default client
	// keeps (default 1024): at least the number of requests in flight, or
	// throughput collapses at high concurrency.
	MaxConns int
	// Sleep waits d or until ctx is done (default: a timer). Tests inject
	// one to observe backoff without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a uniform float in [0, 1) for jitter (default: a
	// generator seeded from the clock).
	Rand func() float64
	// Now is the clock behind latencies and replica cool-downs (default
	// time.Now).
	Now func() time.Time
}

func (c Config) baseURLs() []string {
	if len(c.BaseURLs) > 0 {
		return c.BaseURLs
	}
	if c.BaseURL != "" {
		return []string{c.BaseURL}
	}
	return []string{"https://api.openai.com/v1"}
}

func (c Config) validate() error {
	var errs []error
	if strings.TrimSpace(c.Model) == "" {
		errs = append(errs, errors.New("Model is empty"))
	}
	if c.Samples < 0 {
		errs = append(errs, fmt.Errorf("Samples is %d, want >= 0", c.Samples))
	}
	for i, u := range c.baseURLs() {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			errs = append(errs, fmt.Errorf("base URL %d %q is not an http(s) URL", i, u))
		}
	}
	s := c.Sampling
	if s.Temperature != nil && (*s.Temperature < 0 || *s.Temperature > 2) {
		errs = append(errs, fmt.Errorf("Sampling.Temperature %g is outside [0, 2]", *s.Temperature))
	}
	if s.TopP != nil && (*s.TopP < 0 || *s.TopP > 1) {
		errs = append(errs, fmt.Errorf("Sampling.TopP %g is outside [0, 1]", *s.TopP))
	}
	if s.MaxTokens < 0 {
		errs = append(errs, fmt.Errorf("Sampling.MaxTokens is %d, want >= 0", s.MaxTokens))
	}
	if s.TopLogprobs < 0 || s.TopLogprobs > 20 {
		errs = append(errs, fmt.Errorf("Sampling.TopLogprobs is %d, want 0..20", s.TopLogprobs))
	}
	if c.MaxTokensField < MaxTokensAuto || c.MaxTokensField > MaxTokensLegacy {
		errs = append(errs, fmt.Errorf("MaxTokensField is %d, not a known field", c.MaxTokensField))
	}
	if c.N < NAuto || c.N > NSeparate {
		errs = append(errs, fmt.Errorf("N is %d, not a known NMode", c.N))
	}
	if c.Budget != nil && c.Prices == nil {
		errs = append(errs, errors.New("Budget is set but Prices are not: the cost of a request is unknown"))
	}
	if c.Prices != nil && (c.Prices.Input < 0 || c.Prices.Output < 0) {
		errs = append(errs, errors.New("Prices are negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("response: config of model %q: %w", c.Model, err)
	}
	return nil
}

// NewHTTPClient returns an HTTP client fit for many concurrent requests to a
// few hosts: its transport keeps up to maxConns idle connections per host
// (Go's default of 2 makes throughput collapse at high concurrency).
func NewHTTPClient(maxConns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0
	t.MaxIdleConnsPerHost = maxConns
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t}
}
