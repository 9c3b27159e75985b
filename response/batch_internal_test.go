package response

import (
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
)

// TestBatchResultLines feeds download's line parser the shapes of output
// and error lines that servers write: each line with a custom_id becomes a
// result or a failed item of its own, and never fails the whole file.
func TestBatchResultLines(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	b, err := NewBatch(Config{BaseURL: "http://127.0.0.1:1/v1", Model: "m", Samples: 2}, BatchConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ok := `{"id":"batch_req_1","custom_id":"p-1#0","response":{"status_code":200,"request_id":"r","body":{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}},"error":null}`
	cases := []struct {
		name, line, cid, wantErr string // wantErr "" means a response
	}{
		{"response", ok, "p-1#0", ""},
		{"openai error file, status", `{"id":"batch_req_2","custom_id":"p-2#1","response":{"status_code":400,"request_id":"r","body":{"error":{"message":"bad model","type":"invalid_request_error","param":null,"code":"model_not_found"}}},"error":null}`, "p-2#1", "HTTP 400 (model_not_found): bad model"},
		{"openai error object", `{"id":"batch_req_3","custom_id":"p-3#0","response":null,"error":{"code":"server_error","message":"The model is overloaded."}}`, "p-3#0", "server_error: The model is overloaded."},
		{"error as a string (vLLM run-batch)", `{"id":"vllm-1","custom_id":"p-4#0","response":{"status_code":400,"request_id":"vllm-batch-1","body":null},"error":"The model 'x' does not exist."}`, "p-4#0", "The model 'x' does not exist."},
		{"numeric error code", `{"id":"vllm-2","custom_id":"p-5#1","response":{"status_code":400,"request_id":"r","body":null},"error":{"object":"error","message":"too long","type":"BadRequestError","param":null,"code":400}}`, "p-5#1", "400: too long"},
		{"status without body", `{"custom_id":"p-6#0","response":{"status_code":500,"request_id":"r","body":null},"error":null}`, "p-6#0", "HTTP 500"},
		{"unreadable line with a custom_id", `{"custom_id":"p-7#1","response":{"status_code":"two hundred"}}`, "p-7#1", "unreadable result line"},
		{"malformed body", `{"custom_id":"p-8#0","response":{"status_code":200,"body":{"choices":"none"}},"error":null}`, "p-8#0", "malformed response body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cid, r, err := b.parseResultLine([]byte(c.line))
			if err != nil {
				t.Fatalf("the line failed the whole file: %v", err)
			}
			if cid != c.cid {
				t.Errorf("custom_id %q, want %q", cid, c.cid)
			}
			if c.wantErr == "" {
				if r.Response == nil || r.Response.Text != "hi" || r.Error != "" {
					t.Errorf("got %+v, want the response", r)
				}
				return
			}
			if r.Response != nil || !strings.Contains(r.Error, c.wantErr) {
				t.Errorf("error %q, want one containing %q", r.Error, c.wantErr)
			}
		})
	}
	// A line its batch ended without running is sent again; a line that
	// ran and failed is a failure.
	for code, again := range map[string]bool{"batch_expired": true, "batch_cancelled": true, "request_timeout": true, "server_error": false} {
		_, r, err := b.parseResultLine([]byte(`{"custom_id":"p-9#0","response":null,"error":{"code":"` + code + `","message":"m"}}`))
		if err != nil || r.Retry != again {
			t.Errorf("code %s: retry %v (err %v), want %v", code, r.Retry, err, again)
		}
	}
	if _, _, err := b.parseResultLine([]byte(`<html>502 Bad Gateway</html>`)); err == nil {
		t.Error("a line without a custom_id must fail the file: its item cannot be named")
	}
}
