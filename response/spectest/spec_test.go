package spectest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/response"
	"github.com/prefdata/prefdata/response/openaitest"
)

// specPath is OpenAI's OpenAPI description in the shared data, relative to
// this module.
var specPath = filepath.Join("..", "..", "..", "shared", "data", "openai", "openapi.yaml")

var (
	specOnce sync.Once
	specDoc  *openapi3.T
	specErr  error
)

// loadSpec loads the spec once, or skips the test when it is absent.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	if _, err := os.Stat(specPath); err != nil {
		t.Skipf("%s is absent (%v): no spec to validate against", specPath, err)
	}
	specOnce.Do(func() {
		l := openapi3.NewLoader()
		specDoc, specErr = l.LoadFromFile(specPath)
	})
	if specErr != nil {
		t.Fatalf("loading %s: %v", specPath, specErr)
	}
	return specDoc
}

// checker validates every exchange of an HTTP client against the spec: the
// request by its operation, a 2xx answer by the operation's response, an
// error answer by ErrorResponse.
type checker struct {
	t      *testing.T
	doc    *openapi3.T
	router routers.Router
	next   http.RoundTripper

	mu        sync.Mutex
	exchanges map[string]int // "POST /chat/completions 200" → count
	problems  []string
}

func newChecker(t *testing.T) *checker {
	doc := loadSpec(t)
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return &checker{t: t, doc: doc, router: r, next: http.DefaultTransport, exchanges: map[string]int{}}
}

func (c *checker) client() *http.Client { return &http.Client{Transport: c} }

func (c *checker) problem(format string, args ...any) {
	c.mu.Lock()
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

var opts = &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}

// RoundTrip sends req and validates it and its answer.
func (c *checker) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(out))
	if err != nil {
		return resp, nil
	}
	c.validate(req, body, resp, out)
	return resp, nil
}

func (c *checker) validate(req *http.Request, body []byte, resp *http.Response, out []byte) {
	// The spec's server is OpenAI's: route the fake server's URL as if it
	// were.
	u := *req.URL
	u.Scheme, u.Host = "https", "api.openai.com"
	vreq := req.Clone(context.Background())
	vreq.URL, vreq.Host = &u, u.Host
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	name := req.Method + " " + strings.TrimPrefix(req.URL.Path, "/v1")
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		c.problem("%s: no operation in the spec: %v", name, err)
		return
	}
	c.mu.Lock()
	c.exchanges[fmt.Sprintf("%s %d", route.Path, resp.StatusCode)]++
	c.mu.Unlock()
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		c.problem("request %s %s: %v", name, clip(body), err)
	}
	if resp.StatusCode >= 300 {
		c.checkSchema("ErrorResponse", fmt.Sprintf("answer %d to %s", resp.StatusCode, name), out)
		return
	}
	ropts := opts
	if route.Path == "/files/{file_id}/content" {
		// The spec gives a file's content as a JSON string; it is the
		// file's bytes (JSONL for batch files, whose lines are validated
		// one by one as BatchRequestOutput).
		ropts = &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeResponseBody: true}
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: ropts}
	rin.SetBodyBytes(out)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		c.problem("answer %d to %s %s: %v", resp.StatusCode, name, clip(out), err)
	}
}

// checkSchema validates a JSON document against a component schema.
func (c *checker) checkSchema(schema, what string, doc []byte) {
	ref := c.doc.Components.Schemas[schema]
	if ref == nil {
		c.t.Fatalf("the spec has no schema %s", schema)
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		c.problem("%s is not JSON: %v: %s", what, err, clip(doc))
		return
	}
	if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		c.problem("%s does not match %s: %v\n%s", what, schema, err, clip(doc))
	}
	c.mu.Lock()
	c.exchanges[schema]++
	c.mu.Unlock()
}

// done fails the test on any problem and checks that the exchanges wanted
// were seen.
func (c *checker) done(want ...string) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.problems {
		c.t.Error(p)
	}
	for _, w := range want {
		if c.exchanges[w] == 0 {
			c.t.Errorf("no exchange %q was validated; seen: %v", w, c.exchanges)
		}
	}
	c.t.Logf("validated: %v", c.exchanges)
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

func prompt(text string) prefdata.Prompt {
	msgs := []prefdata.Message{{Role: prefdata.RoleUser, Content: text}}
	return prefdata.Prompt{ID: prefdata.ContentID(msgs), Messages: msgs}
}

var verdictSchema = json.RawMessage(`{"type":"object","properties":{"winner":{"type":"string","enum":["A","B","tie"]}},"required":["winner"],"additionalProperties":false}`)

// scripted answers by what a request asks: a tool call when tools are
// offered, JSON under a schema, reasoning for the "reason" model, a refusal
// for a prompt that says "refuse".
func scripted(req openaitest.Request, i int) openaitest.Reply {
	last := req.Messages[len(req.Messages)-1].Content
	switch {
	case len(req.Tools) > 0:
		return openaitest.Reply{ToolCalls: []prefdata.ToolCall{{Name: req.Tools[0].Function.Name, Arguments: `{"ordered_models":[{"model":"m","rank":1},{"model":"M","rank":2}]}`}}}
	case req.ResponseFormat != nil:
		return openaitest.Reply{Content: `{"winner":"A"}`}
	case strings.Contains(last, "refuse"):
		return openaitest.Reply{Refusal: "I can't help with that."}
	case strings.HasPrefix(req.Model, "reason"):
		return openaitest.Reply{Reasoning: "Think first.", Content: "Then answer.", ReasoningTokens: 3}
	}
	return openaitest.DefaultReply(req, i)
}

// TestChatCompletionsKeepTheSpec sends every kind of chat request the
// generator makes (sampling settings, n, logprobs, max_tokens and
// max_completion_tokens, reasoning effort, a JSON schema, tools) and
// validates them and the fake server's answers (plain, with logprobs,
// reasoning, tool calls, refusals, errors).
func TestChatCompletionsKeepTheSpec(t *testing.T) {
	c := newChecker(t)
	srv := openaitest.NewServer(openaitest.Config{Reply: scripted, APIKey: "k", Unsupported: []string{"reasoning_effort"}, Models: []string{"m", "reason-1", "judge", "llama"}})
	defer srv.Close()
	ctx := context.Background()
	gen := func(cfg response.Config) *response.Generator {
		cfg.BaseURL, cfg.APIKey, cfg.HTTPClient = srv.URL, "k", c.client()
		cfg.Retry = response.Retry{Attempts: 1}
		g, err := response.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	run := func(g *response.Generator, p prefdata.Prompt, wantErr bool) []prefdata.Response {
		t.Helper()
		rs, err := g.Generate(ctx, p)
		if (err != nil) != wantErr {
			t.Fatalf("%s: err = %v, want error: %v", g.Name(), err, wantErr)
		}
		return rs
	}

	full := prefdata.Sampling{Temperature: prefdata.Float(0.7), TopP: prefdata.Float(0.9), MaxTokens: 50, Seed: prefdata.Int(7), Stop: []string{"\n\n"}}
	run(gen(response.Config{Model: "m", Samples: 3, Sampling: full, System: "Be brief."}), prompt("What is 2+2?"), false)
	run(gen(response.Config{Model: "m", Samples: 2, N: response.NSeparate, Sampling: prefdata.Sampling{Temperature: prefdata.Float(0), Seed: prefdata.Int(1)}}), prompt("Hi"), false)
	logprobs := full
	logprobs.Logprobs, logprobs.TopLogprobs = true, 3
	run(gen(response.Config{Model: "m", Sampling: logprobs}), prompt("Say m."), false)
	rs := run(gen(response.Config{Model: "reason-1", MaxTokensField: response.MaxCompletionTokens, Sampling: prefdata.Sampling{MaxTokens: 200}}), prompt("Why?"), false)
	if rs[0].Reasoning != "Think first." || rs[0].Text != "Then answer." {
		t.Errorf("reasoning reply read as %+v", rs[0])
	}
	run(gen(response.Config{Model: "m"}), prompt("please refuse"), false)

	judge := gen(response.Config{Model: "judge", Sampling: prefdata.Sampling{Temperature: prefdata.Float(0)}})
	p := prompt("Which is better, A or B?")
	p.Options = &prefdata.GenerateOptions{JSONSchema: &prefdata.JSONSchema{Name: "verdict", Description: "The verdict.", Schema: verdictSchema, Strict: true}, MaxTokens: 20}
	run(judge, p, false)
	p.Options = &prefdata.GenerateOptions{
		Tools:      []prefdata.Tool{{Name: "make_partial_leaderboard", Description: "Rank the models.", Parameters: json.RawMessage(`{"type":"object","properties":{"ordered_models":{"type":"array","items":{"type":"object"}}},"required":["ordered_models"]}`)}},
		ToolChoice: "make_partial_leaderboard",
	}
	rs = run(judge, p, false)
	if len(rs[0].ToolCalls) != 1 {
		t.Errorf("tool call not read: %+v", rs[0])
	}
	for _, choice := range []string{"auto", "required", "none"} {
		p.Options.ToolChoice = choice
		run(judge, p, false)
	}
	p.Options = &prefdata.GenerateOptions{Logprobs: true, TopLogprobs: 5, MaxTokens: 1}
	run(judge, p, false)

	// Error answers: an option refused, a model not served.
	p.Options = &prefdata.GenerateOptions{ReasoningEffort: "high"}
	run(judge, p, true)
	run(gen(response.Config{Model: "absent"}), prompt("x"), true)

	c.done("/chat/completions 200", "/chat/completions 400", "/chat/completions 404", "ErrorResponse")
}

// TestFaultAnswersKeepTheSpec validates the error bodies of the faults the
// fake server scripts as the API would answer them (the HTML of a proxy's
// 502 and 504, a reset, a hang and a truncated body are not API answers).
func TestFaultAnswersKeepTheSpec(t *testing.T) {
	c := newChecker(t)
	faults := []openaitest.Fault{openaitest.Fault429, openaitest.Fault500, openaitest.Fault503, openaitest.Fault400,
		openaitest.Fault401, openaitest.Fault403, openaitest.Fault404, openaitest.FaultContextLength, openaitest.FaultEmptyChoices, openaitest.FaultLength}
	srv := openaitest.NewServer(openaitest.Config{Faults: faults})
	defer srv.Close()
	g, err := response.New(response.Config{BaseURL: srv.URL, Model: "m", HTTPClient: c.client(), Retry: response.Retry{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for range faults {
		_, _ = g.Generate(context.Background(), prompt("x"))
	}
	if srv.Requests() != len(faults) {
		t.Fatalf("%d requests for %d faults", srv.Requests(), len(faults))
	}
	c.done("/chat/completions 429", "/chat/completions 500", "/chat/completions 503", "/chat/completions 401",
		"/chat/completions 403", "/chat/completions 404", "/chat/completions 400", "/chat/completions 200")
}

// TestBatchesKeepTheSpec runs batch mode: the upload of the input file, the
// batch creation, listing and polling, the download of the output and
// error files; each input line's body is validated as a chat request and
// each output line as a batch output.
func TestBatchesKeepTheSpec(t *testing.T) {
	c := newChecker(t)
	fail := func(req openaitest.Request) openaitest.Fault {
		if strings.Contains(req.Messages[len(req.Messages)-1].Content, "3") {
			return openaitest.Fault400
		}
		return openaitest.FaultNone
	}
	srv := openaitest.NewServer(openaitest.Config{Reply: scripted, Fault: fail, BatchPolls: 2})
	defer srv.Close()
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	cfg := response.Config{BaseURL: srv.URL, Model: "m", HTTPClient: c.client(), Samples: 2,
		Sampling: prefdata.Sampling{Temperature: prefdata.Float(0), MaxTokens: 30, Seed: prefdata.Int(1), Logprobs: true, TopLogprobs: 2},
		Sleep:    func(context.Context, time.Duration) error { return nil }}
	b, err := response.NewBatch(cfg, response.BatchConfig{Dir: dir, MaxRequests: 4})
	if err != nil {
		t.Fatal(err)
	}
	var ps []prefdata.Prompt
	for i := range 5 {
		ps = append(ps, prompt(fmt.Sprint("question ", i)))
	}
	judged := prompt("Which is better?")
	judged.Options = &prefdata.GenerateOptions{JSONSchema: &prefdata.JSONSchema{Name: "verdict", Schema: verdictSchema}}
	ps = append(ps, judged)
	ctx := context.Background()
	if _, err := b.Submit(ctx, prefdata.Prompts(ps...)); err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range srv.Uploads() {
		eachLine(t, f.Content, func(line []byte) {
			c.checkSchema("BatchRequestInput", "input line of "+f.Name, line)
			var in struct {
				Body json.RawMessage `json:"body"`
			}
			if err := json.Unmarshal(line, &in); err != nil {
				t.Fatal(err)
			}
			c.checkSchema("CreateChatCompletionRequest", "body of an input line of "+f.Name, in.Body)
		})
	}
	for _, bt := range srv.Batches() {
		for _, id := range []string{bt.OutputFileID, bt.ErrorFileID} {
			if id == "" {
				continue
			}
			content := fileContent(t, srv, id)
			eachLine(t, content, func(line []byte) {
				c.checkSchema("BatchRequestOutput", "line of "+id, line)
				var out struct {
					Response struct {
						StatusCode int             `json:"status_code"`
						Body       json.RawMessage `json:"body"`
					} `json:"response"`
				}
				if err := json.Unmarshal(line, &out); err != nil {
					t.Fatal(err)
				}
				schema := "CreateChatCompletionResponse"
				if out.Response.StatusCode != 200 {
					schema = "ErrorResponse"
				}
				c.checkSchema(schema, "response body of a line of "+id, out.Response.Body)
			})
		}
	}
	c.done("/files 200", "/batches 200", "/batches/{batch_id} 200", "/files/{file_id}/content 200",
		"BatchRequestInput", "CreateChatCompletionRequest", "BatchRequestOutput", "CreateChatCompletionResponse", "ErrorResponse")
}

// TestStreamChunksKeepTheSpec validates the chunks of the fake server's
// stream answer (the generator does not stream, but the server serves it).
func TestStreamChunksKeepTheSpec(t *testing.T) {
	c := newChecker(t)
	srv := openaitest.NewServer(openaitest.Config{})
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/chat/completions", "application/json", strings.NewReader(`{"model":"m","stream":true,"n":2,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		c.checkSchema("CreateChatCompletionStreamResponse", "stream chunk", []byte(data))
	}
	c.done("CreateChatCompletionStreamResponse")
}

func eachLine(t *testing.T, data []byte, f func([]byte)) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			f(append([]byte(nil), sc.Bytes()...))
		}
	}
}

func fileContent(t *testing.T, srv *openaitest.Server, id string) []byte {
	t.Helper()
	resp, err := http.Get(srv.URL + "/files/" + url.PathEscape(id) + "/content")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
