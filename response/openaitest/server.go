package openaitest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prefdata/prefdata"
)

// Request is a chat-completion request as the server received it.
type Request struct {
	Model       string             `json:"model"`
	Messages    []prefdata.Message `json:"messages"`
	N           int                `json:"n,omitempty"`
	Seed        *int               `json:"seed,omitempty"`
	Temperature *float64           `json:"temperature,omitempty"`
	TopP        *float64           `json:"top_p,omitempty"`
	// MaxTokens is the completion limit the request set, by max_tokens or
	// max_completion_tokens; MaxCompletionTokens is the latter alone.
	MaxTokens           int      `json:"max_tokens,omitempty"`
	MaxCompletionTokens int      `json:"max_completion_tokens,omitempty"`
	Stop                []string `json:"stop,omitempty"`
	Logprobs            bool     `json:"logprobs,omitempty"`
	TopLogprobs         int      `json:"top_logprobs,omitempty"`
	Stream              bool     `json:"stream,omitempty"`
	ReasoningEffort     string   `json:"reasoning_effort,omitempty"`
	// ResponseFormat is the request's response_format, Tools its tools and
	// ToolChoice its tool_choice as sent (a string or an object).
	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`
	Tools          []ToolDef       `json:"tools,omitempty"`
	ToolChoice     json.RawMessage `json:"tool_choice,omitempty"`

	// Body is the request's JSON body as received: tests check the wire
	// with it (temperature 0 sent as 0, which fields were sent at all).
	Body json.RawMessage `json:"-"`

	// Seq numbers the requests the server received, from 0, in arrival
	// order (over all endpoints).
	Seq int `json:"-"`
	// Time is when the request arrived, by [Config.Now].
	Time time.Time `json:"-"`
	// Fault is the fault the server answered with (FaultNone for none).
	Fault Fault `json:"-"`
	// Auth is the request's Authorization header (Azure's api-key header is
	// shown as "Bearer <key>").
	Auth string `json:"-"`

	id string // the completion's ID (batch lines have no Seq of their own)
}

// Sent reports whether the request's body has the top-level field name
// (with any value, null included).
func (r Request) Sent(name string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(r.Body, &m) != nil {
		return false
	}
	_, ok := m[name]
	return ok
}

// ResponseFormat is a request's response_format.
type ResponseFormat struct {
	Type       string               `json:"type"`
	JSONSchema *prefdata.JSONSchema `json:"json_schema,omitempty"`
}

// ToolDef is one of a request's tools.
type ToolDef struct {
	Type     string        `json:"type"`
	Function prefdata.Tool `json:"function"`
}

// Reply is what the server answers for one choice of a request.
type Reply struct {
	Content string
	// FinishReason defaults to "stop".
	FinishReason string
	Logprobs     []prefdata.TokenLogprob
	// PromptTokens and CompletionTokens are reported in usage; 0 means
	// estimated from the text (a token per 4 bytes, at least one).
	// PromptTokens is read from the reply of choice 0 only.
	PromptTokens, CompletionTokens int
	// Reasoning is the reasoning text, served as [Config.ReasoningField]
	// says; its tokens (ReasoningTokens, or estimated) are part of the
	// completion tokens and reported in completion_tokens_details.
	Reasoning       string
	ReasoningTokens int
	// Refusal, if set, is served as the message's refusal (with content
	// null when Content is empty).
	Refusal string
	// ToolCalls, if set, are served as the message's tool_calls (IDs made
	// up when empty), with content null when Content is empty and
	// finish_reason "tool_calls" unless FinishReason says otherwise.
	ToolCalls []prefdata.ToolCall
}

// Fault is a scripted failure of one request.
type Fault int

// The faults the server can inject.
const (
	FaultNone          Fault = iota
	Fault429                 // 429 rate_limit_exceeded with Retry-After ([Config.RetryAfter])
	Fault500                 // 500 server_error
	Fault502                 // 502 bad gateway (HTML body, as proxies send)
	Fault503                 // 503 overloaded
	Fault504                 // 504 gateway timeout
	FaultReset               // the connection is reset before any answer
	FaultHang                // no answer until the client gives up or the server closes
	FaultMalformed           // 200 with a truncated JSON body
	FaultEmptyChoices        // 200 with "choices": []
	FaultLength              // 200, every choice cut with finish_reason "length"
	Fault400                 // 400 invalid_request_error
	Fault401                 // 401 invalid_api_key
	Fault403                 // 403 permission denied
	Fault404                 // 404 model_not_found
	FaultContextLength       // 400 context_length_exceeded
)

var faultNames = [...]string{"none", "429", "500", "502", "503", "504", "reset", "hang", "malformed", "empty-choices", "length", "400", "401", "403", "404", "context-length"}

func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

// Retryable reports whether a well-behaved client should retry a request
// that met the fault.
func (f Fault) Retryable() bool {
	switch f {
	case Fault429, Fault500, Fault502, Fault503, Fault504, FaultReset, FaultHang, FaultMalformed, FaultEmptyChoices:
		return true
	}
	return false
}

// NMode says what the server does with the request's n.
type NMode int

const (
	NHonour NMode = iota // return n choices (OpenAI, vLLM)
	NIgnore              // return one choice whatever n is (Ollama)
	NRefuse              // answer 400 to n > 1 (llama.cpp's server)
)

// Config sets up a fake server. The zero value answers every request at once
// with deterministic text.
type Config struct {
	// Latency is added to every request.
	Latency time.Duration
	// Reply makes the reply for choice i of a request; nil gives
	// [DefaultReply].
	Reply func(req Request, choice int) Reply
	// Faults scripts failures: request number Seq meets Faults[Seq] (when
	// Seq < len(Faults)); later requests meet none.
	Faults []Fault
	// Fault, if set, is asked for every request's fault after Faults; it is
	// called with the request (Seq set) and may be called concurrently.
	Fault func(req Request) Fault
	// RetryAfter is the wait a 429 asks for, sent as Retry-After (whole
	// seconds, rounded up) and retry-after-ms (default 1s).
	RetryAfter time.Duration
	// N is what the server does with n > 1.
	N NMode
	// Models, if set, are the only model names served; others get 404
	// model_not_found.
	Models []string
	// APIKey, if set, must be sent as "Bearer <APIKey>"; other requests get
	// 401.
	APIKey string
	// MaxContext, if above 0, is the context window in tokens: a request
	// whose estimated prompt tokens plus max_tokens pass it gets 400
	// context_length_exceeded.
	MaxContext int
	// Now is the clock that stamps requests (default time.Now).
	Now func() time.Time
	// BatchPolls is the number of times a batch is polled (GET
	// /v1/batches/{id}) before it shows as completed (default 1: the first
	// poll sees it done). Batch lines meet [Config.Fault], with Seq -1.
	BatchPolls int
	// BatchExpire, if set, is asked for every batch line by custom_id: a
	// line it returns true for is not run, and its batch ends "expired",
	// as when the 24h window closes on unfinished work. As on the API, the
	// line goes to the error file with error code "batch_expired".
	BatchExpire func(customID string) bool
	// LostBatchCreates is the number of batch creations (POST
	// /v1/batches) that succeed on the server but are answered 500, as
	// when the answer is lost on the way back.
	LostBatchCreates int
	// ReasoningField says how a reply's Reasoning is served:
	// "reasoning_content" (the default: vLLM's and DeepSeek's field),
	// "reasoning" (newer vLLM, OpenRouter), or "think" (a <think> block
	// before the content, as a server without a reasoning parser sends).
	ReasoningField string
	// MaxTokensParam, if set, is the only completion-limit field the server
	// takes: "max_completion_tokens" answers a request that sets max_tokens
	// with OpenAI's 400 unsupported_parameter (as its reasoning models do);
	// "max_tokens" answers max_completion_tokens so.
	MaxTokensParam string
	// Unsupported lists request fields ("response_format", "tools",
	// "logprobs", "reasoning_effort") the server refuses with 400
	// unsupported_parameter naming the field.
	Unsupported []string
}

// Server is a running fake OpenAI-compatible server on loopback. It serves
// POST /v1/chat/completions (and Azure's
// /openai/deployments/{deployment}/chat/completions at the server's root), and the files and batches endpoints of the Batch
// API (see [Server.Batches]).
type Server struct {
	// URL is the base URL to give a client: "http://127.0.0.1:port/v1".
	URL string

	cfg  Config
	ts   *httptest.Server
	done chan struct{}

	mu       sync.Mutex
	log      []Request
	inFlight int
	maxIn    int
	batch    batchState
}

// NewServer starts a fake server. Close it when done.
func NewServer(cfg Config) *Server {
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, done: make(chan struct{})}
	s.batch.init()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("POST /openai/deployments/{deployment}/chat/completions", s.chat) // Azure
	s.batchRoutes(mux)
	s.ts = httptest.NewServer(mux)
	s.URL = s.ts.URL + "/v1"
	return s
}

// Close stops the server; hanging requests are released first.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.mu.Unlock()
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// Requests returns the number of chat-completion requests received.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// Log returns a copy of the chat-completion requests received, in arrival
// order.
func (s *Server) Log() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// MaxInFlight returns the largest number of chat-completion requests the
// server was handling at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxIn
}

// parseRequest decodes a chat-completion request body.
func parseRequest(body []byte) (Request, error) {
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		return req, err
	}
	req.Body = append(json.RawMessage(nil), body...)
	if req.MaxTokens == 0 {
		req.MaxTokens = req.MaxCompletionTokens
	}
	return req, nil
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "cannot read body: "+err.Error())
		return
	}
	req, err := parseRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "malformed JSON body: "+err.Error())
		return
	}
	req.Auth = r.Header.Get("Authorization")
	if k := r.Header.Get("api-key"); k != "" { // Azure
		req.Auth = "Bearer " + k
	}
	if d := r.PathValue("deployment"); d != "" && req.Model == "" {
		req.Model = d
	}

	s.mu.Lock()
	req.Seq = len(s.log)
	req.Time = s.cfg.Now()
	s.log = append(s.log, req)
	s.inFlight++
	s.maxIn = max(s.maxIn, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()

	fault := FaultNone
	if req.Seq < len(s.cfg.Faults) {
		fault = s.cfg.Faults[req.Seq]
	} else if s.cfg.Fault != nil {
		fault = s.cfg.Fault(req)
	}
	s.mu.Lock()
	s.log[req.Seq].Fault = fault
	s.mu.Unlock()

	if s.cfg.Latency > 0 {
		t := time.NewTimer(s.cfg.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-s.done:
			t.Stop()
			return
		}
	}
	if s.answerFault(w, r, fault) {
		return
	}
	status, resp := s.complete(req, fault)
	if status != http.StatusOK {
		writeJSON(w, status, resp)
		return
	}
	if req.Stream {
		writeStream(w, resp.(chatResponse))
		return
	}
	writeJSON(w, status, resp)
}

// complete answers a parsed request as the API would: the status and the
// JSON body (a chat completion or an error). Faults that concern the
// connection are not handled here; those of the answer are.
func (s *Server) complete(req Request, fault Fault) (int, any) {
	switch fault {
	case Fault429:
		return errorBody(http.StatusTooManyRequests, "requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later.")
	case Fault500, FaultReset, FaultHang, FaultMalformed, Fault502, Fault504:
		return errorBody(http.StatusInternalServerError, "server_error", "", "The server had an error while processing your request.")
	case Fault503:
		return errorBody(http.StatusServiceUnavailable, "server_error", "", "The engine is currently overloaded, please try again later.")
	case Fault400:
		return errorBody(http.StatusBadRequest, "invalid_request_error", "", "Invalid request: the fake server was told to refuse this one.")
	case Fault401:
		return errorBody(http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
	case Fault403:
		return errorBody(http.StatusForbidden, "invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported.")
	case Fault404:
		return errorBody(http.StatusNotFound, "invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it.")
	case FaultContextLength:
		return contextLength(9000, 8192)
	}
	if s.cfg.APIKey != "" && req.Auth != "Bearer "+s.cfg.APIKey {
		return errorBody(http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
	}
	if len(s.cfg.Models) > 0 && !contains(s.cfg.Models, req.Model) {
		return errorBody(http.StatusNotFound, "invalid_request_error", "model_not_found", fmt.Sprintf("The model `%s` does not exist.", req.Model))
	}
	if len(req.Messages) == 0 {
		return errorBody(http.StatusBadRequest, "invalid_request_error", "", "'messages' must contain at least one message")
	}
	switch {
	case s.cfg.MaxTokensParam == "max_completion_tokens" && req.Sent("max_tokens"):
		return unsupported("max_tokens", "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.")
	case s.cfg.MaxTokensParam == "max_tokens" && req.Sent("max_completion_tokens"):
		return unsupported("max_completion_tokens", "Unsupported parameter: 'max_completion_tokens' is not supported with this model. Use 'max_tokens' instead.")
	}
	for _, f := range s.cfg.Unsupported {
		if req.Sent(f) {
			return unsupported(f, fmt.Sprintf("Unsupported parameter: '%s' is not supported with this model.", f))
		}
	}
	n := max(req.N, 1)
	switch {
	case n > 1 && s.cfg.N == NRefuse:
		return errorBody(http.StatusBadRequest, "invalid_request_error", "", "Only one completion choice is allowed")
	case s.cfg.N == NIgnore:
		n = 1
	}
	promptTokens := 0
	for _, m := range req.Messages {
		promptTokens += EstimateTokens(m.Content) + 4
	}
	if s.cfg.MaxContext > 0 && promptTokens+req.MaxTokens > s.cfg.MaxContext {
		return contextLength(promptTokens+req.MaxTokens, s.cfg.MaxContext)
	}

	reply := s.cfg.Reply
	if reply == nil {
		reply = DefaultReply
	}
	id := req.id
	if id == "" {
		id = fmt.Sprintf("chatcmpl-%d", req.Seq)
	}
	resp := chatResponse{
		ID:      id,
		Object:  "chat.completion",
		Created: req.Time.Unix(),
		Model:   req.Model,
		Choices: []choice{},
	}
	for i := range n {
		rep := reply(req, i)
		if rep.FinishReason == "" {
			rep.FinishReason = "stop"
		}
		if len(rep.ToolCalls) > 0 && rep.FinishReason == "stop" {
			rep.FinishReason = "tool_calls"
		}
		if fault == FaultLength {
			rep.FinishReason = "length"
		}
		rt := rep.ReasoningTokens
		if rt == 0 {
			rt = EstimateTokens(rep.Reasoning)
		}
		if req.MaxTokens > 0 && rt+EstimateTokens(rep.Content) > req.MaxTokens {
			// The reasoning comes first and counts against the limit.
			if rt >= req.MaxTokens {
				rep.Reasoning, rt, rep.Content = truncateTokens(rep.Reasoning, req.MaxTokens), req.MaxTokens, ""
			} else {
				rep.Content = truncateTokens(rep.Content, req.MaxTokens-rt)
			}
			rep.FinishReason = "length"
		}
		ct := rep.CompletionTokens
		if ct == 0 {
			ct = EstimateTokens(rep.Content) + rt
		}
		if i == 0 && rep.PromptTokens > 0 {
			promptTokens = rep.PromptTokens
		}
		c := choice{Index: i, Message: s.message(req, i, rep), FinishReason: rep.FinishReason}
		if req.Logprobs {
			lp := rep.Logprobs
			if lp == nil {
				lp = defaultLogprobs(rep.Content, req.TopLogprobs)
			}
			c.Logprobs = &logprobs{Content: wireLogprobs(lp)}
		}
		resp.Choices = append(resp.Choices, c)
		resp.Usage.CompletionTokens += ct
		if rep.Reasoning != "" || rep.ReasoningTokens > 0 {
			if resp.Usage.Details == nil {
				resp.Usage.Details = &tokenDetails{}
			}
			resp.Usage.Details.ReasoningTokens += rt
		}
	}
	resp.Usage.PromptTokens = promptTokens
	resp.Usage.TotalTokens = resp.Usage.PromptTokens + resp.Usage.CompletionTokens
	if fault == FaultEmptyChoices {
		resp.Choices = []choice{}
	}
	return http.StatusOK, resp
}

// message renders the message of choice i.
func (s *Server) message(req Request, i int, rep Reply) message {
	m := message{Role: prefdata.RoleAssistant}
	content := rep.Content
	switch {
	case rep.Reasoning == "":
	case s.cfg.ReasoningField == "reasoning":
		m.Reasoning = rep.Reasoning
	case s.cfg.ReasoningField == "think":
		content = "<think>\n" + rep.Reasoning + "\n</think>\n\n" + content
	default:
		m.ReasoningContent = rep.Reasoning
	}
	if content != "" || (rep.Refusal == "" && len(rep.ToolCalls) == 0) {
		m.Content = &content
	}
	if rep.Refusal != "" {
		m.Refusal = &rep.Refusal
	}
	for k, tc := range rep.ToolCalls {
		id := tc.ID
		if id == "" {
			id = fmt.Sprintf("call_%s_%d_%d", strings.TrimPrefix(req.id, "chatcmpl-"), i, k)
			if req.id == "" {
				id = fmt.Sprintf("call_%d_%d_%d", req.Seq, i, k)
			}
		}
		m.ToolCalls = append(m.ToolCalls, toolCall{ID: id, Type: "function", Function: functionCall{Name: tc.Name, Arguments: tc.Arguments}})
	}
	return m
}

func unsupported(param, msg string) (int, any) {
	code := "unsupported_parameter"
	e := apiError{Message: msg, Type: "invalid_request_error", Param: &param, Code: &code}
	return http.StatusBadRequest, errorResponse{Error: e}
}

// answerFault writes the answer of a fault that replaces the normal one and
// reports whether it did.
func (s *Server) answerFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch f {
	case Fault429:
		ms := s.cfg.RetryAfter.Milliseconds()
		w.Header().Set("Retry-After", strconv.FormatInt((ms+999)/1000, 10))
		w.Header().Set("retry-after-ms", strconv.FormatInt(ms, 10))
		status, body := s.complete(Request{}, f)
		writeJSON(w, status, body)
	case Fault502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>\n")
	case Fault504:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusGatewayTimeout)
		io.WriteString(w, "<html><body><h1>504 Gateway Time-out</h1></body></html>\n")
	case FaultReset:
		reset(w)
	case FaultHang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	case FaultMalformed:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"chatcmpl-broken","object":"chat.completion","choices":[{"index":0,"message":{"role":"assis`)
	default:
		return false
	}
	return true
}

// reset closes the connection with a TCP RST, so the client reads
// "connection reset by peer".
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("openaitest: connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}

func contextLength(asked, limit int) (int, any) {
	return errorBody(http.StatusBadRequest, "invalid_request_error", "context_length_exceeded",
		fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens. Please reduce the length of the messages or completion.", limit, asked))
}

type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

type errorResponse struct {
	Error apiError `json:"error"`
}

func errorBody(status int, typ, code, msg string) (int, any) {
	e := apiError{Message: msg, Type: typ}
	if code != "" {
		e.Code = &code
	}
	return status, errorResponse{Error: e}
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	st, body := errorBody(status, typ, code, msg)
	writeJSON(w, st, body)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeStream(w http.ResponseWriter, resp chatResponse) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, c := range resp.Choices {
		content := ""
		if c.Message.Content != nil {
			content = *c.Message.Content
		}
		chunk := map[string]any{
			"id": resp.ID, "object": "chat.completion.chunk", "created": resp.Created, "model": resp.Model,
			"choices": []any{map[string]any{"index": c.Index, "delta": map[string]string{"role": c.Message.Role, "content": content}, "finish_reason": c.FinishReason}},
		}
		b, _ := json.Marshal(chunk)
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
	io.WriteString(w, "data: [DONE]\n\n")
}

type chatResponse struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []choice `json:"choices"`
	Usage   usage    `json:"usage"`
}

type usage struct {
	PromptTokens     int           `json:"prompt_tokens"`
	CompletionTokens int           `json:"completion_tokens"`
	TotalTokens      int           `json:"total_tokens"`
	Details          *tokenDetails `json:"completion_tokens_details,omitempty"`
}

type tokenDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// choice is one choice as the spec has it: logprobs is required (null when
// not asked for).
type choice struct {
	Index        int       `json:"index"`
	Message      message   `json:"message"`
	FinishReason string    `json:"finish_reason"`
	Logprobs     *logprobs `json:"logprobs"`
}

// message is a reply message: content and refusal are required by the
// spec, and null when absent.
type message struct {
	Role             string     `json:"role"`
	Content          *string    `json:"content"`
	Refusal          *string    `json:"refusal"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	Reasoning        string     `json:"reasoning,omitempty"`
	ToolCalls        []toolCall `json:"tool_calls,omitempty"`
}

type toolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// logprobs holds a choice's log-probabilities: content and refusal are
// required by the spec (refusal null: the fake never refuses token by
// token).
type logprobs struct {
	Content []wireLogprob `json:"content"`
	Refusal []wireLogprob `json:"refusal"`
}

// wireLogprob is one token's entry; its alternatives are topLogprobs,
// which carry no alternatives of their own.
type wireLogprob struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes"`
	TopLogprobs []topLogprob `json:"top_logprobs"`
}

type topLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

func tokenBytes(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i])
	}
	return out
}

func wireLogprobs(lp []prefdata.TokenLogprob) []wireLogprob {
	out := make([]wireLogprob, len(lp))
	for i, t := range lp {
		out[i] = wireLogprob{Token: t.Token, Logprob: t.Logprob, Bytes: tokenBytes(t.Token), TopLogprobs: []topLogprob{}}
		for _, a := range t.Top {
			out[i].TopLogprobs = append(out[i].TopLogprobs, topLogprob{Token: a.Token, Logprob: a.Logprob, Bytes: tokenBytes(a.Token)})
		}
	}
	return out
}

// defaultLogprobs gives each word of text a log-probability derived from its
// hash, with top alternatives led by the word itself.
func defaultLogprobs(text string, top int) []prefdata.TokenLogprob {
	var out []prefdata.TokenLogprob
	for i, w := range strings.Fields(text) {
		tok := w
		if i > 0 {
			tok = " " + w
		}
		h := sha256.Sum256([]byte(tok))
		lp := -float64(h[0]%50) / 25
		t := prefdata.TokenLogprob{Token: tok, Logprob: lp}
		for k := range top {
			if k == 0 {
				t.Top = append(t.Top, prefdata.TokenLogprob{Token: tok, Logprob: lp})
				continue
			}
			t.Top = append(t.Top, prefdata.TokenLogprob{Token: fmt.Sprintf(" alt%d", k), Logprob: lp - float64(k)})
		}
		out = append(out, t)
	}
	return out
}

// DefaultReply is the reply the server gives when [Config.Reply] is nil: a
// few words derived from the model, the messages, the seed and the choice
// index, so equal requests get equal text and different choices differ.
func DefaultReply(req Request, choice int) Reply {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode(req.Model)
	_ = enc.Encode(req.Messages)
	_ = enc.Encode(req.Seed)
	_ = enc.Encode(choice)
	sum := h.Sum(nil)
	words := 5 + int(binary.BigEndian.Uint16(sum[:2])%20)
	var b strings.Builder
	fmt.Fprintf(&b, "%s answer %d:", req.Model, choice)
	for i := range words {
		b.WriteByte(' ')
		b.WriteString(hex.EncodeToString(sum[2+i%28 : 4+i%28]))
	}
	return Reply{Content: b.String()}
}

// EstimateTokens is the server's token count for a text: a token per 4
// bytes, at least one for a non-empty text.
func EstimateTokens(s string) int {
	if s == "" {
		return 0
	}
	return (len(s) + 3) / 4
}

func truncateTokens(s string, n int) string {
	if len(s) <= n*4 {
		return s
	}
	return s[:n*4]
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
