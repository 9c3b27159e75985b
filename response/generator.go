package response

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/prefdata/prefdata"
)

// DefaultCompletionTokens is the completion length assumed, for rate limits
// and budgets, of a request without max_tokens.
const DefaultCompletionTokens = 256

// Generator answers prompts with one model over the OpenAI-compatible chat
// completions API. It implements [prefdata.Generator], [prefdata.Namer] and
// [prefdata.Fingerprinter]. Make one with [New]; it is safe for concurrent
// use.
type Generator struct {
	cfg   Config
	retry Retry
	name  string
	fp    string
	eps   []*endpoint
	next  atomic.Uint64 // round robin over eps
	// nBroken is set once an endpoint showed it does not honour n.
	nBroken atomic.Bool
	allIdx  []int // 0..Samples-1
	// transportTimeout: the HTTP transport enforces Retry.Timeout.
	transportTimeout bool
	ids              *idMaker
	doer             headerDoer

	randMu sync.Mutex
	rand   func() float64
}

var (
	_ prefdata.Generator     = (*Generator)(nil)
	_ prefdata.Namer         = (*Generator)(nil)
	_ prefdata.Fingerprinter = (*Generator)(nil)
)

// endpoint is one base URL (one replica).
type endpoint struct {
	url     string
	chatURL string
	client  *openai.Client // for the files and batches of batch mode
	// limitField is the field the completion limit goes in, as an int32
	// (limitMaxTokens or limitMaxCompletionTokens); a 400 naming it
	// switches it, in MaxTokensAuto mode.
	limitField atomic.Int32

	mu         sync.Mutex
	fails      int
	avoidUntil time.Time
}

// New checks cfg and returns a generator for it. It sends nothing.
func New(cfg Config) (*Generator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Samples == 0 {
		cfg.Samples = 1
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &Generator{cfg: cfg, retry: cfg.Retry.withDefaults(), rand: cfg.Rand}
	if cfg.HTTPClient == nil {
		// Our own transport bounds the wait for an answer itself, which
		// costs less per request than a context deadline.
		if g.cfg.MaxConns <= 0 {
			g.cfg.MaxConns = 1024
		}
		g.cfg.HTTPClient = NewHTTPClient(g.cfg.MaxConns)
		g.cfg.HTTPClient.Transport.(*http.Transport).ResponseHeaderTimeout = g.retry.Timeout
		g.transportTimeout = true
	}
	cfg = g.cfg
	if g.rand == nil {
		r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15))
		g.rand = r.Float64
	}
	g.name = cfg.Name
	if g.name == "" {
		g.name = cfg.Model
	}
	g.fp = fingerprint(cfg)
	g.ids = newIDMaker(cfg.identity(), cfg.Sampling)
	for i := range cfg.Samples {
		g.allIdx = append(g.allIdx, i)
	}
	doer := headerDoer{c: cfg.HTTPClient}
	if g.transportTimeout {
		doer.bodyTimeout = g.retry.Timeout
	}
	g.doer = doer
	for _, u := range cfg.baseURLs() {
		oc := openai.DefaultConfig(cfg.APIKey)
		if cfg.AzureAPIVersion != "" {
			oc = openai.DefaultAzureConfig(cfg.APIKey, u)
			oc.APIVersion = cfg.AzureAPIVersion
			oc.AzureModelMapperFunc = func(model string) string { return model }
		}
		oc.BaseURL = u
		oc.HTTPClient = doer
		ep := &endpoint{url: u, chatURL: g.chatURL(u), client: openai.NewClientWithConfig(oc)}
		ep.limitField.Store(g.initialLimitField(u))
		g.eps = append(g.eps, ep)
	}
	return g, nil
}

const (
	limitMaxTokens           int32 = 1
	limitMaxCompletionTokens int32 = 2
)

var openAIHost = regexp.MustCompile(`(^|\.)(api\.openai\.com|openai\.azure\.com)$`)

// initialLimitField returns the field an endpoint first sends the
// completion limit in.
func (g *Generator) initialLimitField(base string) int32 {
	switch g.cfg.MaxTokensField {
	case MaxTokensLegacy:
		return limitMaxTokens
	case MaxCompletionTokens:
		return limitMaxCompletionTokens
	}
	if g.cfg.AzureAPIVersion != "" {
		return limitMaxCompletionTokens
	}
	if u, err := url.Parse(base); err == nil && openAIHost.MatchString(strings.ToLower(u.Hostname())) {
		return limitMaxCompletionTokens
	}
	return limitMaxTokens
}

func (ep *endpoint) field() string {
	if ep.limitField.Load() == limitMaxCompletionTokens {
		return fieldMaxCompletionTokens
	}
	return fieldMaxTokens
}

func fingerprint(c Config) string {
	parts := []any{"response.Generator/1", c.Model, c.Samples, c.Sampling, c.System, c.N}
	if len(c.Principles) > 0 {
		parts = append(parts, c.Principles, c.Seed)
	}
	if c.ThinkInText {
		parts = append(parts, "think-in-text")
	}
	return prefdata.Hash(parts...)[:32]
}

// Name returns Config.Name, or the model name.
func (g *Generator) Name() string { return g.name }

// Model returns the model name.
func (g *Generator) Model() string { return g.cfg.Model }

// Config returns the generator's configuration, with defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// Fingerprint is a hash of everything that changes the generator's output:
// model, samples, sampling settings, system prompt, principles and their
// seed, and the n mode. It leaves out the API key, the base URLs, limits,
// prices and retries.
func (g *Generator) Fingerprint() string { return g.fp }

// headerDoer keeps the last response's header where the request's context
// says, so Retry-After can be read from error answers (go-openai does not
// expose their headers). With bodyTimeout set (the default client, whose
// transport bounds only the wait for headers), it also bounds the reading
// of the body that follows.
type headerDoer struct {
	c           *http.Client
	bodyTimeout time.Duration
}

type headerKey struct{}

func (d headerDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.c.Do(req)
	if resp != nil {
		if box, ok := req.Context().Value(headerKey{}).(*http.Header); ok {
			*box = resp.Header
		}
		if d.bodyTimeout > 0 && resp.Body != nil {
			resp.Body = newTimedBody(resp.Body, d.bodyTimeout)
		}
	}
	return resp, err
}

// errBodyStalled is a body read cut off by the body timeout. It matches
// context.DeadlineExceeded, so it is retried as a timeout.
var errBodyStalled = fmt.Errorf("response body not read within the timeout: %w", context.DeadlineExceeded)

// timedBody closes a response body that is not read to its end within a
// timeout, which ends a Read blocked on a stalled server. One timer per
// request costs less than a context deadline.
type timedBody struct {
	rc    io.ReadCloser
	t     *time.Timer
	fired atomic.Bool
}

func newTimedBody(rc io.ReadCloser, d time.Duration) *timedBody {
	b := &timedBody{rc: rc}
	b.t = time.AfterFunc(d, func() {
		b.fired.Store(true)
		rc.Close()
	})
	return b
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF && b.fired.Load() {
		err = errBodyStalled
	}
	return n, err
}

func (b *timedBody) Close() error {
	b.t.Stop()
	return b.rc.Close()
}

// systemFor returns the system prompt of sample i of p.
func (g *Generator) systemFor(p prefdata.Prompt, i int) string {
	if len(g.cfg.Principles) == 0 {
		return g.cfg.System
	}
	h := prefdata.Hash("principle", g.cfg.Seed, p.ID, g.cfg.Model, i)
	var v uint64
	for _, c := range h[:16] {
		v = v<<4 | uint64(hexVal(c))
	}
	return g.cfg.Principles[v%uint64(len(g.cfg.Principles))]
}

func hexVal(c rune) byte {
	if c >= 'a' {
		return byte(c-'a') + 10
	}
	return byte(c - '0')
}

// Generate returns the generator's samples for p, in sample order. Samples
// that failed after their retries are left out and reported in the error
// (one line per sample, with the server's message); the others are returned.
func (g *Generator) Generate(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
	if len(p.Messages) == 0 {
		return nil, fmt.Errorf("response: %s: prompt %q has no messages", g.name, p.ID)
	}
	if p.ID == "" {
		p.ID = prefdata.ContentID(p.Messages)
	}
	if err := checkOptions(p.Options); err != nil {
		return nil, fmt.Errorf("response: %s: prompt %q: %w", g.name, p.ID, err)
	}
	k := g.cfg.Samples
	out := make([]prefdata.Response, k) // out[i].ID == "": sample i missing
	errs := make([]error, k)
	var cj *prefdata.CallJournal
	if k > 1 && g.cfg.Cache == nil { // a Cache keeps each sample as it arrives already
		cj = prefdata.CallJournalFrom(ctx)
	}
	if len(g.cfg.Principles) == 0 && g.cfg.Cache == nil && cj == nil {
		g.generateGroup(ctx, p, g.cfg.System, g.allIdx, out, errs, nil)
		return g.collect(ctx, out, errs)
	}

	g.generateGroups(ctx, p, out, errs, cj)
	return g.collect(ctx, out, errs)
}

// sampleJournal journals the samples of one system-prompt group of a
// Generate call in the run's call journal, each as its answer arrives, when
// the samples take more than one request (n ignored or refused, NSeparate,
// several system prompts): a run killed halfway pays again only for the
// requests that were in flight. One request for all of a prompt's samples
// is not journaled: its answer goes to the generation record right away,
// and the text is stored once.
type sampleJournal struct {
	j    *prefdata.CallJournal
	base string // the group's key prefix: the sample index follows
	on   bool   // journal the answers of one request for the whole group too
}

func (sj *sampleJournal) key(i int) string { return sj.base + strconv.Itoa(i) }

// journal journals samples idx of out in sj (nil: not).
func (g *Generator) journal(sj *sampleJournal, p prefdata.Prompt, idx []int, out []prefdata.Response) error {
	if sj == nil {
		return nil
	}
	for _, i := range idx {
		if err := sj.j.Put(sj.key(i), p.ID, g.name, out[i]); err != nil {
			return err
		}
	}
	return nil
}

// sampleKeyBase is the key prefix of the samples of p with system prompt
// sys in the call journal.
func (g *Generator) sampleKeyBase(p prefdata.Prompt, sys string) string {
	return prefdata.Hash("call/sample", g.fp, g.name, p.ID, sys, p.Messages, p.Options)[:32] + "/"
}

// generateGroups handles principles and the cache: samples with the same
// system prompt go in one group (one request where n is used), and groups
// run at once. It is apart from Generate so that the common path does not
// pay for the goroutines' captures.
func (g *Generator) generateGroups(ctx context.Context, p prefdata.Prompt, out []prefdata.Response, errs []error, cj *prefdata.CallJournal) {
	var order []string
	groups := map[string][]int{}
	var bases map[string]string // system prompt → journal key prefix
	if cj != nil {
		bases = map[string]string{}
	}
	for i := range g.cfg.Samples {
		sys := g.systemFor(p, i)
		if g.cfg.Cache != nil {
			if r, ok := g.cfg.Cache.get(g.cacheKey(p, sys, i)); ok {
				out[i] = r
				continue
			}
		}
		if cj != nil {
			base, ok := bases[sys]
			if !ok {
				base = g.sampleKeyBase(p, sys)
				bases[sys] = base
			}
			var r prefdata.Response
			hit, err := cj.Get(base+strconv.Itoa(i), &r)
			if err != nil {
				errs[i] = err // a storage failure: the run stops
				continue
			}
			if hit && r.ID != "" {
				out[i] = r // paid for by an earlier run
				continue
			}
		}
		if _, ok := groups[sys]; !ok {
			order = append(order, sys)
		}
		groups[sys] = append(groups[sys], i)
	}
	sjFor := func(sys string) *sampleJournal {
		if cj == nil {
			return nil
		}
		return &sampleJournal{j: cj, base: bases[sys], on: len(order) > 1}
	}
	if len(order) == 1 {
		g.generateGroup(ctx, p, order[0], groups[order[0]], out, errs, sjFor(order[0]))
		return
	}
	var wg sync.WaitGroup
	for _, sys := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.generateGroup(ctx, p, sys, groups[sys], out, errs, sjFor(sys))
		}()
	}
	wg.Wait()
}

// collect returns the samples present in out and an error naming the
// failed ones.
func (g *Generator) collect(ctx context.Context, out []prefdata.Response, errs []error) ([]prefdata.Response, error) {
	rs := out[:0]
	for _, r := range out {
		if r.ID != "" {
			rs = append(rs, r)
		}
	}
	if err := ctx.Err(); err != nil {
		return rs, err
	}
	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Errorf("sample %d: %w", i, err))
		}
	}
	if len(failed) > 0 {
		return rs, fmt.Errorf("model %s: %w", g.cfg.Model, errors.Join(failed...))
	}
	return rs, nil
}

func (g *Generator) cacheKey(p prefdata.Prompt, sys string, i int) string {
	return prefdata.Hash("response-cache", g.responseID(p, sys, i), p.Messages, g.cfg.N)[:32]
}

// sampling returns the settings a generation for a prompt with options o
// uses: the generator's, with o applied.
func (g *Generator) sampling(o *prefdata.GenerateOptions) prefdata.Sampling {
	s := g.cfg.Sampling
	if o == nil {
		return s
	}
	if o.MaxTokens > 0 {
		s.MaxTokens = o.MaxTokens
	}
	if o.Temperature != nil {
		s.Temperature = o.Temperature
	}
	if o.ReasoningEffort != "" {
		s.ReasoningEffort = o.ReasoningEffort
	}
	if o.Logprobs || o.TopLogprobs > 0 {
		s.Logprobs = true
	}
	s.TopLogprobs = max(s.TopLogprobs, o.TopLogprobs)
	return s
}

// responseID returns the ID of sample i of p with system prompt sys:
// prefdata.ResponseID of the settings used, with the hash of a schema and
// tools mixed in when the prompt asks for them.
func (g *Generator) responseID(p prefdata.Prompt, sys string, i int) string {
	o := p.Options
	if o == nil {
		return g.ids.id(p.ID, sys, i)
	}
	s := g.sampling(o)
	if o.JSONSchema == nil && len(o.Tools) == 0 {
		return prefdata.ResponseID(p.ID, g.cfg.identity(), sys, s, i)
	}
	return "r-" + prefdata.Hash(p.ID, g.cfg.identity(), sys, s, i, o.JSONSchema, o.Tools, o.ToolChoice)[:16]
}

// generateGroup produces the samples idx of p, which share the system
// prompt sys, into out and errs.
// Where the samples take several requests, sj (nil: none) journals each
// request's answer as it arrives.
func (g *Generator) generateGroup(ctx context.Context, p prefdata.Prompt, sys string, idx []int, out []prefdata.Response, errs []error, sj *sampleJournal) {
	msgs := messages(p, sys)
	separate := g.cfg.N == NSeparate || len(idx) == 1 || (g.cfg.N == NAuto && g.nBroken.Load())
	if !separate {
		whole := sj
		if sj != nil && !sj.on {
			whole = nil // one request for every sample: nothing to journal
		}
		got, err := g.call(ctx, p, sys, msgs, idx, len(idx), out, whole)
		missing := idx[:0:0]
		for j, i := range idx {
			switch {
			case j < got:
				errs[i] = nil
			case err != nil:
				errs[i] = err
				missing = append(missing, i)
			default:
				errs[i] = fmt.Errorf("%w: %d of %d", ErrFewerChoices, got, len(idx))
				missing = append(missing, i)
			}
		}
		if g.cfg.N != NAuto || len(missing) == 0 || ctx.Err() != nil {
			return
		}
		var se *StatusError
		refused := errors.As(err, &se) && se.StatusCode == http.StatusBadRequest && !errors.Is(err, ErrContextLength)
		if err != nil && !refused {
			return
		}
		// Fewer choices than asked (n ignored), or n refused: ask for the
		// rest one by one, and from now on ask that way first. The samples
		// that came are journaled first: the prompt takes several requests.
		if whole == nil {
			if err := g.journal(sj, p, idx[:got], out); err != nil {
				for _, i := range idx {
					errs[i] = err
				}
				return
			}
		}
		g.separate(ctx, p, sys, msgs, missing, out, errs, sj)
		for _, i := range missing {
			if errs[i] == nil {
				g.nBroken.Store(true)
				break
			}
		}
		return
	}
	if len(idx) == 1 {
		if sj != nil && !sj.on {
			sj = nil // the prompt's one request
		}
		g.one(ctx, p, sys, msgs, idx[0], out, errs, sj)
		return
	}
	g.separate(ctx, p, sys, msgs, idx, out, errs, sj)
}

// one asks for sample i alone.
func (g *Generator) one(ctx context.Context, p prefdata.Prompt, sys string, msgs []chatMessage, i int, out []prefdata.Response, errs []error, sj *sampleJournal) {
	got, err := g.call(ctx, p, sys, msgs, g.allIdx[i:i+1], 1, out, sj)
	switch {
	case got > 0:
		errs[i] = nil
	case err != nil:
		errs[i] = err
	default:
		errs[i] = ErrEmptyChoices
	}
}

// separate asks for the samples idx one request each, at once.
func (g *Generator) separate(ctx context.Context, p prefdata.Prompt, sys string, msgs []chatMessage, idx []int, out []prefdata.Response, errs []error, sj *sampleJournal) {
	var wg sync.WaitGroup
	for _, i := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.one(ctx, p, sys, msgs, i, out, errs, sj)
		}()
	}
	wg.Wait()
}

// call sends one request for the samples idx (n = len(idx) when n > 1, else
// one request for idx[0]) with retries, and converts the choices into
// out[idx[j]], journaling them in sj (nil: not). It returns how many
// samples it filled, the first ones of idx.
func (g *Generator) call(ctx context.Context, p prefdata.Prompt, sys string, msgs []chatMessage, idx []int, n int, out []prefdata.Response, sj *sampleJournal) (int, error) {
	req := g.request(p.Options, msgs, idx, n)
	est := estimateTokens(msgs)
	completion := req.limit
	if completion <= 0 {
		completion = DefaultCompletionTokens
	}
	start := g.cfg.Now()
	resp, attempts, err := g.send(ctx, &req, est, est+n*completion, n*completion)
	latency := g.cfg.Now().Sub(start)
	if err != nil {
		return 0, err
	}
	got := g.convert(p, sys, idx, &resp, attempts, latency, out)
	if err := g.journal(sj, p, idx[:got], out); err != nil {
		return 0, err
	}
	if g.cfg.Cache != nil {
		for j, i := range idx[:got] {
			if err := g.cfg.Cache.put(g.cacheKey(p, sys, i), out[i]); err != nil {
				return j, err
			}
		}
	}
	return got, nil
}

// request builds the request for samples idx of one system-prompt group,
// for a prompt with options o. The completion limit is put in its field
// when the request is sent (see chatRequest.withLimit).
func (g *Generator) request(o *prefdata.GenerateOptions, msgs []chatMessage, idx []int, n int) chatRequest {
	s := g.sampling(o)
	req := chatRequest{
		Model:           g.cfg.Model,
		Messages:        msgs,
		Stop:            s.Stop,
		Logprobs:        s.Logprobs || s.TopLogprobs > 0,
		Temperature:     s.Temperature,
		TopP:            s.TopP,
		ReasoningEffort: s.ReasoningEffort,
		limit:           s.MaxTokens,
		options:         o,
	}
	if s.TopLogprobs > 0 { // implies logprobs, which the API requires with it
		top := s.TopLogprobs
		req.TopLogprobs = &top
	}
	if n > 1 {
		req.N = n
	}
	if o != nil {
		if o.JSONSchema != nil {
			req.ResponseFormat = &responseFormat{Type: "json_schema", JSONSchema: o.JSONSchema}
		}
		for _, t := range o.Tools {
			req.Tools = append(req.Tools, chatTool{Type: "function", Function: t})
		}
		switch o.ToolChoice {
		case "":
		case "auto", "none", "required":
			req.ToolChoice = o.ToolChoice
		default:
			var tc namedToolChoice
			tc.Type, tc.Function.Name = "function", o.ToolChoice
			req.ToolChoice = tc
		}
	}
	if s.Seed != nil {
		seed := *s.Seed
		if n == 1 {
			seed += idx[0] // separate requests: one seed per sample, or they would be equal
		}
		req.Seed = &seed
	}
	return req
}

// messages returns the chat messages sent for p with system prompt sys.
func messages(p prefdata.Prompt, sys string) []chatMessage {
	msgs := make([]chatMessage, 0, len(p.Messages)+1)
	if sys != "" {
		msgs = append(msgs, chatMessage{Role: prefdata.RoleSystem, Content: sys})
	}
	for _, m := range p.Messages {
		msgs = append(msgs, chatMessage{Role: m.Role, Content: m.Content})
	}
	return msgs
}

// convert turns the choices of resp into the responses for samples idx,
// written to out[idx[j]], and returns how many it wrote. Usage is split so
// that the responses add up to the request's.
func (g *Generator) convert(p prefdata.Prompt, sys string, idx []int, resp *chatResponse, attempts int, latency time.Duration, out []prefdata.Response) int {
	s := g.sampling(p.Options)
	m := min(len(resp.Choices), len(idx))
	ct := resp.Usage.CompletionTokens
	rt := -1 // the server's reasoning tokens, -1 when it does not say
	if d := resp.Usage.CompletionTokensDetails; d != nil {
		rt = d.ReasoningTokens
	}
	for j := range m {
		c := &resp.Choices[j]
		i := idx[j]
		u := prefdata.Usage{CompletionTokens: ct / len(resp.Choices)}
		if rt >= 0 {
			u.ReasoningTokens = rt / len(resp.Choices)
		}
		if j == 0 {
			u.Requests = attempts
			u.PromptTokens = resp.Usage.PromptTokens
			u.CompletionTokens += ct % len(resp.Choices)
			if rt >= 0 {
				u.ReasoningTokens += rt % len(resp.Choices)
			}
		}
		msg := &c.Message
		text := deref(msg.Content)
		reasoning := deref(msg.ReasoningContent)
		if reasoning == "" {
			reasoning = deref(msg.Reasoning)
		}
		thinkBytes := 0 // the bytes of a <think> block taken out of the content
		if reasoning == "" && !g.cfg.ThinkInText {
			if a, r, ok := splitThink(text); ok {
				thinkBytes = len(text) - len(a)
				text, reasoning = a, r
			}
		}
		if rt < 0 && reasoning != "" {
			u.ReasoningTokens = (len(reasoning) + 3) / 4
			if u.CompletionTokens > 0 {
				u.ReasoningTokens = min(u.ReasoningTokens, u.CompletionTokens)
			}
		}
		if g.cfg.Prices != nil {
			u.Cost = g.cfg.Prices.Cost(u)
		}
		r := &out[i]
		*r = prefdata.Response{
			ID:           g.responseID(p, sys, i),
			PromptID:     p.ID,
			Model:        g.cfg.Model,
			System:       sys,
			Sampling:     s,
			Sample:       i,
			Text:         text,
			Reasoning:    reasoning,
			Refusal:      deref(msg.Refusal),
			FinishReason: c.FinishReason,
			Usage:        u,
			Latency:      latency,
		}
		for _, tc := range msg.ToolCalls {
			r.ToolCalls = append(r.ToolCalls, prefdata.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: toolArguments(tc.Function.Arguments)})
		}
		if c.Logprobs != nil && (s.Logprobs || s.TopLogprobs > 0) {
			r.Logprobs = convertLogprobs(skipBytes(c.Logprobs.Content, thinkBytes))
		}
	}
	return m
}

// skipBytes drops the leading tokens that spell the first n bytes of the
// content (a <think> block taken out of it), so the logprobs are the
// answer's: a judge reading the first token's alternatives reads the
// verdict, not "<think>".
func skipBytes(toks []wireLogprob, n int) []wireLogprob {
	for n > 0 && len(toks) > 0 && len(toks[0].Token) <= n {
		n -= len(toks[0].Token)
		toks = toks[1:]
	}
	return toks
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func convertLogprobs(in []wireLogprob) []prefdata.TokenLogprob {
	out := make([]prefdata.TokenLogprob, len(in))
	for i, t := range in {
		out[i] = prefdata.TokenLogprob{Token: t.Token, Logprob: t.Logprob}
		for _, a := range t.TopLogprobs {
			out[i].Top = append(out[i].Top, prefdata.TokenLogprob{Token: a.Token, Logprob: a.Logprob})
		}
	}
	return out
}

// estimateTokens guesses the prompt tokens of msgs: a token per 4 bytes and
// 4 per message for the chat template.
func estimateTokens(msgs []chatMessage) int {
	n := 0
	for _, m := range msgs {
		n += (len(m.Content)+3)/4 + 4
	}
	return n
}

// send sends req with retries. It returns the response and the number of
// attempts made.
func (g *Generator) send(ctx context.Context, req *chatRequest, estPrompt, estTotal, estCompletion int) (chatResponse, int, error) {
	sent, switched := 0, false
	for attempt := 1; ; attempt++ {
		resp, a := g.attempt(ctx, req, estPrompt, estTotal, estCompletion)
		sent++
		if a.err == nil {
			return resp, sent, nil
		}
		if a.switched && !switched {
			// The server named the limit's field as unsupported: the
			// endpoint now sends the other one. Once per request, and not
			// counted as a failed attempt.
			switched = true
			attempt--
			continue
		}
		if !a.retry {
			return resp, sent, a.err
		}
		if attempt >= g.retry.Attempts {
			return resp, sent, fmt.Errorf("gave up after %d attempts: %w", sent, a.err)
		}
		wait := a.retryAfter
		if wait > g.retry.MaxRetryAfter {
			return resp, sent, fmt.Errorf("%w (server asked to retry after %s, more than the %s allowed)", a.err, wait, g.retry.MaxRetryAfter)
		}
		if wait <= 0 {
			wait = g.backoff(attempt)
		}
		if a.replica && g.healthyOther() {
			continue // another replica is fine: go there at once
		}
		if err := g.cfg.Sleep(ctx, wait); err != nil {
			return resp, sent, err
		}
	}
}

// healthyOther reports whether, with several replicas, one is not cooling
// down (the one that just failed is).
func (g *Generator) healthyOther() bool {
	if len(g.eps) < 2 {
		return false
	}
	now := g.cfg.Now()
	for _, ep := range g.eps {
		ep.mu.Lock()
		ok := !now.Before(ep.avoidUntil)
		ep.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}

// backoff returns the jittered wait after the given failed attempt.
func (g *Generator) backoff(attempt int) time.Duration {
	b := g.retry.Base << min(attempt-1, 30)
	if b <= 0 || b > g.retry.Max {
		b = g.retry.Max
	}
	g.randMu.Lock()
	f := g.rand()
	g.randMu.Unlock()
	return b/2 + time.Duration(f*float64(b/2))
}

// attempt makes one try: rate limit, budget, the request itself.
func (g *Generator) attempt(ctx context.Context, req *chatRequest, estPrompt, estTotal, estCompletion int) (chatResponse, attemptError) {
	if err := ctx.Err(); err != nil {
		return chatResponse{}, attemptError{err: err}
	}
	var estCost float64
	if g.cfg.Budget != nil && g.cfg.Prices != nil {
		estCost = g.cfg.Prices.Cost(prefdata.Usage{PromptTokens: estPrompt, CompletionTokens: estCompletion})
		if err := g.cfg.Budget.reserve(estCost); err != nil {
			return chatResponse{}, attemptError{err: err}
		}
	}
	charged := false
	defer func() {
		if !charged {
			g.cfg.Budget.settle(estCost, 0)
		}
	}()
	rsv, err := g.cfg.Limiter.Wait(ctx, estTotal)
	if err != nil {
		return chatResponse{}, attemptError{err: err}
	}
	ep := g.pick()
	field := ep.field()
	lreq := req.withLimit(field)
	body, err := lreq.body()
	if err != nil {
		return chatResponse{}, attemptError{err: fmt.Errorf("encoding the request: %w", err)}
	}
	var hdr http.Header
	actx := context.WithValue(ctx, headerKey{}, &hdr)
	var resp chatResponse
	if g.transportTimeout {
		resp, err = g.post(actx, ep, body)
	} else {
		tctx, cancel := context.WithTimeout(actx, g.retry.Timeout)
		resp, err = g.post(tctx, ep, body)
		cancel()
	}
	if err == nil && len(resp.Choices) == 0 {
		err = ErrEmptyChoices
	}
	if resp.Usage.TotalTokens > 0 || resp.Usage.PromptTokens > 0 {
		rsv.Correct(resp.Usage.PromptTokens + resp.Usage.CompletionTokens)
		if g.cfg.Budget != nil && g.cfg.Prices != nil {
			charged = true
			g.cfg.Budget.settle(estCost, g.cfg.Prices.Cost(prefdata.Usage{PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens}))
		}
	} else if err != nil {
		rsv.Correct(0) // the server did no work (or will not say)
	}
	if err != nil {
		a := classify(ctx, err, hdr)
		g.refused(ep, req, field, &a)
		a.err = fmt.Errorf("%s: %w", ep.url, a.err)
		if a.replica {
			g.avoid(ep, a.retryAfter)
		}
		return resp, a
	}
	g.healthy(ep)
	return resp, attemptError{}
}

// Replica cool-down: a replica that fails is skipped for coolBase, doubling
// with each further failure up to coolMax, or for the server's Retry-After.
const (
	coolBase = 2 * time.Second
	coolMax  = 2 * time.Minute
)

// pick returns the next replica in turn among those not cooling down; when
// all are, the one that recovers first.
func (g *Generator) pick() *endpoint {
	if len(g.eps) == 1 {
		return g.eps[0]
	}
	now := g.cfg.Now()
	turn := g.next.Add(1)
	var ok [16]*endpoint
	healthy := ok[:0]
	var best *endpoint
	var bestAt time.Time
	for _, ep := range g.eps {
		ep.mu.Lock()
		at := ep.avoidUntil
		ep.mu.Unlock()
		if !now.Before(at) {
			healthy = append(healthy, ep)
			continue
		}
		if best == nil || at.Before(bestAt) {
			best, bestAt = ep, at
		}
	}
	if len(healthy) > 0 {
		return healthy[turn%uint64(len(healthy))]
	}
	return best
}

func (g *Generator) avoid(ep *endpoint, d time.Duration) {
	if len(g.eps) == 1 {
		return
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.fails++
	cool := coolBase << min(ep.fails-1, 10)
	cool = min(cool, coolMax)
	cool = max(cool, d)
	ep.avoidUntil = g.cfg.Now().Add(cool)
}

func (g *Generator) healthy(ep *endpoint) {
	if len(g.eps) == 1 {
		return
	}
	ep.mu.Lock()
	ep.fails, ep.avoidUntil = 0, time.Time{}
	ep.mu.Unlock()
}

// Replicas returns the base URLs of the replicas that are not cooling down
// after a failure, in configuration order.
func (g *Generator) Replicas() []string {
	now := g.cfg.Now()
	var out []string
	for _, ep := range g.eps {
		ep.mu.Lock()
		if !now.Before(ep.avoidUntil) {
			out = append(out, ep.url)
		}
		ep.mu.Unlock()
	}
	return out
}
