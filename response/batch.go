package response

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/prefdata/prefdata"
)

// The run-directory files of batch mode.
const (
	// FileBatches records, per batch generator, the batches it created
	// (with the custom IDs of their requests) and the batches it finished.
	FileBatches = "batches.jsonl"
	// FileBatchResults holds the result of every batch request: a response
	// or the error of a failed line.
	FileBatchResults = "batch_results.jsonl"
)

// Limits of the OpenAI Batch API on one input file: 50,000 requests and
// 200 MB, read as decimal megabytes so a file never passes the limit
// whichever way the server counts.
const (
	BatchMaxRequests = 50_000
	BatchMaxBytes    = 200_000_000
)

// BatchConfig configures the batch mode of a generator.
type BatchConfig struct {
	// Dir is the run directory: batch IDs, request files and results live
	// there, so a restarted run resumes polling instead of submitting again.
	Dir *prefdata.RunDir
	// MaxRequests and MaxBytes split the requests into input files (defaults
	// BatchMaxRequests and BatchMaxBytes).
	MaxRequests int
	MaxBytes    int
	// PollInterval is the wait between polls of a batch (default 30s).
	PollInterval time.Duration
}

// BatchGenerator is the batch mode of a [Generator]: the same requests, sent
// through the OpenAI Batch API at half the price, in three steps.
//
//	b.Submit(ctx, prompts) // write request files, upload, create batches
//	b.Wait(ctx)            // poll, download results into the run directory
//	pipeline.Generators = []prefdata.Generator{b} // answers from the results
//
// Submit writes the requests in the Batch API's JSONL format (custom_id,
// method, url, body) to the run directory, one line per sample, splitting
// them at MaxRequests lines or MaxBytes; the same files work with vLLM's
// run-batch. It uploads them (/v1/files), creates the batches (/v1/batches,
// 24h window) and records the batch IDs with the custom IDs they carry. A
// Submit after a restart skips every request already in a batch, so nothing
// is submitted twice; a batch created just before a crash, before it could
// be recorded, is found again by the hash of its input file in its metadata.
//
// Wait polls the unfinished batches, downloads their output and error files
// and records every line's result by custom_id. Generate then answers a
// prompt from those results; a failed line fails the item with its error. It
// implements [prefdata.Generator], [prefdata.Namer] and
// [prefdata.Fingerprinter] (with the fingerprint of the synchronous
// generator: the outputs are the same kind).
type BatchGenerator struct {
	g   *Generator
	bc  BatchConfig
	ep  *endpoint
	tag string // distinguishes this generator's records in the run directory

	mu        sync.Mutex
	loaded    bool
	submitted map[string]string // custom ID → batch ID
	finished  map[string]bool   // batch IDs whose results are recorded
	order     []string          // batch IDs in creation order
	results   map[string]batchResult
}

type batchResult struct {
	Response *prefdata.Response `json:"response,omitempty"`
	Error    string             `json:"error,omitempty"`
	// Retry marks a line its batch ended without (expired, cancelled,
	// failed as a whole): the next Submit sends it again.
	Retry bool `json:"retry,omitempty"`
}

// batchRecord is one line of FileBatches.
type batchRecord struct {
	Generator   string   `json:"generator"`
	Kind        string   `json:"kind"` // "submitted" or "finished"
	BatchID     string   `json:"batch_id"`
	InputFileID string   `json:"input_file_id,omitempty"`
	File        string   `json:"file,omitempty"`
	Hash        string   `json:"hash,omitempty"`
	CustomIDs   []string `json:"custom_ids,omitempty"`
	Status      string   `json:"status,omitempty"`
}

// batchLine is one line of a batch input file.
type batchLine struct {
	CustomID string      `json:"custom_id"`
	Method   string      `json:"method"`
	URL      string      `json:"url"`
	Body     chatRequest `json:"body"`
}

// resultRecord is one line of FileBatchResults.
type resultRecord struct {
	Generator string `json:"generator"`
	BatchID   string `json:"batch_id"`
	CustomID  string `json:"custom_id"`
	batchResult
}

// NewBatch returns the batch mode of a generator configured by cfg. Only
// the first base URL is used, and cfg's Limiter, Budget and Cache are not:
// the server paces a batch itself. Usage.Cost comes from cfg.Prices, so
// give the batch prices there (OpenAI's are half the synchronous ones).
func NewBatch(cfg Config, bc BatchConfig) (*BatchGenerator, error) {
	if bc.Dir == nil {
		return nil, errors.New("response: batch mode needs a run directory (BatchConfig.Dir)")
	}
	g, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if bc.MaxRequests <= 0 || bc.MaxRequests > BatchMaxRequests {
		bc.MaxRequests = BatchMaxRequests
	}
	if bc.MaxBytes <= 0 || bc.MaxBytes > BatchMaxBytes {
		bc.MaxBytes = BatchMaxBytes
	}
	if bc.PollInterval <= 0 {
		bc.PollInterval = 30 * time.Second
	}
	b := &BatchGenerator{g: g, bc: bc, ep: g.eps[0], tag: g.name + "@" + g.fp[:12]}
	return b, nil
}

// Name returns the generator's name.
func (b *BatchGenerator) Name() string { return b.g.name }

// Fingerprint returns the synchronous generator's fingerprint.
func (b *BatchGenerator) Fingerprint() string { return b.g.fp }

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// customID names sample i of prompt id in a batch.
func customID(id string, i int) string { return id + "#" + strconv.Itoa(i) }

func splitCustomID(c string) (id string, i int, ok bool) {
	k := strings.LastIndexByte(c, '#')
	if k < 0 {
		return "", 0, false
	}
	i, err := strconv.Atoi(c[k+1:])
	return c[:k], i, err == nil
}

// load reads this generator's records from the run directory, once.
func (b *BatchGenerator) load() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.loaded {
		return nil
	}
	b.submitted, b.finished, b.results = map[string]string{}, map[string]bool{}, map[string]batchResult{}
	d := b.bc.Dir
	err := d.Scan(FileBatches, func(rec prefdata.Record) error {
		var r batchRecord
		if err := json.Unmarshal(rec.Data, &r); err != nil {
			return fmt.Errorf("response: %s:%d: %w", d.Path(FileBatches), rec.Line, err)
		}
		if r.Generator != b.tag {
			return nil
		}
		switch r.Kind {
		case "submitted":
			b.order = append(b.order, r.BatchID)
			for _, c := range r.CustomIDs {
				b.submitted[c] = r.BatchID
			}
		case "finished":
			b.finished[r.BatchID] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = d.Scan(FileBatchResults, func(rec prefdata.Record) error {
		var r resultRecord
		if err := json.Unmarshal(rec.Data, &r); err != nil {
			return fmt.Errorf("response: %s:%d: %w", d.Path(FileBatchResults), rec.Line, err)
		}
		// Only the result from the batch the line is in now counts: a line
		// sent again after its batch expired waits for its new batch.
		if r.Generator == b.tag && b.submitted[r.CustomID] == r.BatchID {
			b.results[r.CustomID] = r.batchResult
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.loaded = true
	return nil
}

// Batches returns the IDs of the batches this generator created, in order,
// and how many of them are finished.
func (b *BatchGenerator) Batches() (ids []string, finished int, err error) {
	if err := b.load(); err != nil {
		return nil, 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range b.order {
		if b.finished[id] {
			finished++
		}
	}
	return append([]string(nil), b.order...), finished, nil
}

// pendingFile is an input file being filled.
type pendingFile struct {
	buf bytes.Buffer
	ids []string
}

// Submit reads src to its end and submits, in batches, every sample of every
// prompt that is not in a batch yet. It returns the number of requests
// submitted by this call. Bad items of src are skipped (the pipeline records
// them when it reads the source).
func (b *BatchGenerator) Submit(ctx context.Context, src prefdata.PromptSource) (int, error) {
	if err := b.load(); err != nil {
		return 0, err
	}
	adopt := b.listByHash(ctx)
	var cur pendingFile
	total := 0
	flush := func() error {
		if len(cur.ids) == 0 {
			return nil
		}
		if err := b.submitFile(ctx, &cur, adopt); err != nil {
			return err
		}
		total += len(cur.ids)
		cur = pendingFile{}
		return nil
	}
	seen := map[string]bool{}
	for {
		p, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		var ie *prefdata.ItemError
		if errors.As(err, &ie) {
			continue
		}
		if err != nil {
			return total, fmt.Errorf("response: batch submit: prompt source: %w", err)
		}
		if p.ID == "" {
			p.ID = prefdata.ContentID(p.Messages)
		}
		if len(p.Messages) == 0 || seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		for i := range b.g.cfg.Samples {
			cid := customID(p.ID, i)
			b.mu.Lock()
			_, done := b.submitted[cid]
			again := b.results[cid].Retry
			b.mu.Unlock()
			if done && !again {
				continue
			}
			sys := b.g.systemFor(p, i)
			line, err := json.Marshal(batchLine{
				CustomID: cid, Method: "POST", URL: string(openai.BatchEndpointChatCompletions),
				Body: b.g.request(p.Options, messages(p, sys), []int{i}, 1).withLimit(b.ep.field()),
			})
			if err != nil {
				return total, fmt.Errorf("response: batch request %s: %w", cid, err)
			}
			line = append(line, '\n')
			if len(line) > b.bc.MaxBytes {
				return total, fmt.Errorf("response: batch request %s is %d bytes, more than the %d a file may hold", cid, len(line), b.bc.MaxBytes)
			}
			if len(cur.ids) >= b.bc.MaxRequests || cur.buf.Len()+len(line) > b.bc.MaxBytes {
				if err := flush(); err != nil {
					return total, err
				}
			}
			cur.buf.Write(line)
			cur.ids = append(cur.ids, cid)
		}
	}
	return total, flush()
}

// listByHash returns the batches on the server that carry an input-file hash
// in their metadata, by hash, newest first as the API lists them (empty when
// the server cannot list batches). One hash can have several batches: the
// same lines are sent again in the same file after their batch expired.
func (b *BatchGenerator) listByHash(ctx context.Context) map[string][]openai.Batch {
	out := map[string][]openai.Batch{}
	var after *string
	for range 100 {
		limit := 100
		pctx, cancel := context.WithTimeout(ctx, b.g.retry.Timeout)
		resp, err := b.ep.client.ListBatch(pctx, after, &limit)
		cancel()
		if err != nil {
			return out
		}
		for _, bt := range resp.Data {
			if h, ok := bt.Metadata["prefdata_hash"].(string); ok {
				out[h] = append(out[h], bt)
			}
		}
		if !resp.HasMore || len(resp.Data) == 0 {
			break
		}
		last := resp.Data[len(resp.Data)-1].ID
		after = &last
	}
	return out
}

// submitFile writes, uploads and submits one input file, and records it.
func (b *BatchGenerator) submitFile(ctx context.Context, f *pendingFile, adopt map[string][]openai.Batch) error {
	sum := sha256.Sum256(f.buf.Bytes())
	hash := hex.EncodeToString(sum[:16])
	name := fmt.Sprintf("batch_input_%s_%s.jsonl", unsafeName.ReplaceAllString(b.g.name, "_"), hash[:12])
	if err := os.WriteFile(b.bc.Dir.Path(name), f.buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("response: batch input file: %w", err)
	}
	rec := batchRecord{Generator: b.tag, Kind: "submitted", File: name, Hash: hash, CustomIDs: f.ids}
	if bt, ok := b.adoptable(adopt[hash]); ok {
		rec.BatchID, rec.InputFileID = bt.ID, bt.InputFileID
	} else {
		file, err := b.retry(ctx, func(ctx context.Context) (any, error) {
			return b.ep.client.CreateFileBytes(ctx, openai.FileBytesRequest{Name: name, Bytes: f.buf.Bytes(), Purpose: openai.PurposeBatch})
		})
		if err != nil {
			return fmt.Errorf("response: upload %s: %w", name, err)
		}
		rec.InputFileID = file.(openai.File).ID
		id, err := b.createBatch(ctx, rec.InputFileID, hash)
		if err != nil {
			return fmt.Errorf("response: create batch for %s (%s): %w", name, rec.InputFileID, err)
		}
		rec.BatchID = id
	}
	if err := b.bc.Dir.Append(FileBatches, rec); err != nil {
		return err
	}
	b.mu.Lock()
	b.order = append(b.order, rec.BatchID)
	for _, c := range f.ids {
		b.submitted[c] = rec.BatchID
		delete(b.results, c)
	}
	b.mu.Unlock()
	return nil
}

// adoptable returns the newest of bts (batches of one input-file hash) that
// a crash left unrecorded: one this generator does not know yet and that
// did not end without its work.
func (b *BatchGenerator) adoptable(bts []openai.Batch) (openai.Batch, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, bt := range bts {
		switch bt.Status {
		case "failed", "cancelled", "cancelling", "expired":
			continue
		}
		if !slices.Contains(b.order, bt.ID) {
			return bt, true
		}
	}
	return openai.Batch{}, false
}

// createBatch creates the batch of an uploaded file. Before retrying a
// failed creation it looks for the batch by the file's hash: the server may
// have created it and lost only the answer, and a second batch would pay
// twice.
func (b *BatchGenerator) createBatch(ctx context.Context, fileID, hash string) (string, error) {
	retrying := false
	v, err := b.retry(ctx, func(ctx context.Context) (any, error) {
		if retrying {
			for _, found := range b.listByHash(ctx)[hash] {
				if found.InputFileID == fileID {
					return found.ID, nil
				}
			}
		}
		retrying = true
		bt, err := b.ep.client.CreateBatch(ctx, openai.CreateBatchRequest{
			InputFileID: fileID, Endpoint: openai.BatchEndpointChatCompletions, CompletionWindow: "24h",
			Metadata: map[string]any{"prefdata_hash": hash, "prefdata_generator": b.g.name},
		})
		return bt.ID, err
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// retry calls f with the generator's retry policy for transient failures.
func (b *BatchGenerator) retry(ctx context.Context, f func(context.Context) (any, error)) (any, error) {
	for attempt := 1; ; attempt++ {
		var hdr http.Header
		actx, cancel := context.WithTimeout(context.WithValue(ctx, headerKey{}, &hdr), b.g.retry.Timeout)
		v, err := f(actx)
		cancel()
		if err == nil {
			return v, nil
		}
		a := classify(ctx, err, hdr)
		if !a.retry || attempt >= b.g.retry.Attempts {
			return nil, a.err
		}
		wait := a.retryAfter
		if wait <= 0 || wait > b.g.retry.MaxRetryAfter {
			wait = b.g.backoff(attempt)
		}
		if err := b.g.cfg.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// Wait polls every unfinished batch of this generator until it ends, and
// records the results of its lines. It returns when all are finished, or
// with ctx's error (what finished is recorded; a later Wait goes on). A
// batch that cannot be polled or read (after retries) is left unfinished
// while Wait goes on with the others; its error is returned at the end.
func (b *BatchGenerator) Wait(ctx context.Context) error {
	if err := b.load(); err != nil {
		return err
	}
	b.mu.Lock()
	var todo []string
	for _, id := range b.order {
		if !b.finished[id] {
			todo = append(todo, id)
		}
	}
	b.mu.Unlock()
	var errs []error
	for len(todo) > 0 {
		var still []string
		for _, id := range todo {
			done, err := b.poll(ctx, id)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !done {
				still = append(still, id)
			}
		}
		todo = still
		if len(todo) == 0 {
			break
		}
		if err := b.g.cfg.Sleep(ctx, b.bc.PollInterval); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// Run submits src and waits for the results.
func (b *BatchGenerator) Run(ctx context.Context, src prefdata.PromptSource) error {
	if _, err := b.Submit(ctx, src); err != nil {
		return err
	}
	return b.Wait(ctx)
}

// poll checks one batch; when it has ended it records its results and
// reports true.
func (b *BatchGenerator) poll(ctx context.Context, id string) (bool, error) {
	v, err := b.retry(ctx, func(ctx context.Context) (any, error) { return b.ep.client.RetrieveBatch(ctx, id) })
	if err != nil {
		return false, fmt.Errorf("response: poll batch %s: %w", id, err)
	}
	bt := v.(openai.BatchResponse)
	switch bt.Status {
	case "completed", "failed", "expired", "cancelled":
	default:
		return false, nil
	}
	got := map[string]batchResult{}
	for _, fid := range []*string{bt.OutputFileID, bt.ErrorFileID} {
		if fid == nil || *fid == "" {
			continue
		}
		if err := b.download(ctx, *fid, got); err != nil {
			return false, fmt.Errorf("response: batch %s: %w", id, err)
		}
	}
	b.mu.Lock()
	var ids []string
	for c, bid := range b.submitted {
		if bid == id {
			ids = append(ids, c)
		}
	}
	b.mu.Unlock()
	reason := "batch " + bt.Status
	if bt.Errors != nil {
		var msgs []string
		for _, e := range bt.Errors.Data {
			msgs = append(msgs, e.Message)
		}
		if len(msgs) > 0 {
			reason += ": " + strings.Join(msgs, "; ")
		}
	}
	for _, c := range ids {
		r, ok := got[c]
		if !ok {
			r = batchResult{Error: fmt.Sprintf("no result for %s in batch %s (%s); Submit sends it again", c, id, reason), Retry: true}
		}
		if err := b.bc.Dir.Append(FileBatchResults, resultRecord{Generator: b.tag, BatchID: id, CustomID: c, batchResult: r}); err != nil {
			return false, err
		}
		b.mu.Lock()
		b.results[c] = r
		b.mu.Unlock()
	}
	if err := b.bc.Dir.Append(FileBatches, batchRecord{Generator: b.tag, Kind: "finished", BatchID: id, Status: bt.Status}); err != nil {
		return false, err
	}
	b.mu.Lock()
	b.finished[id] = true
	b.mu.Unlock()
	return true, nil
}

// outputLine is one line of a batch output or error file: OpenAI writes
// "error" as null or {"code", "message"}; vLLM's run-batch as a string, or
// an error object with a numeric code.
type outputLine struct {
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error json.RawMessage `json:"error"`
}

// download reads a result file into got.
func (b *BatchGenerator) download(ctx context.Context, fileID string, got map[string]batchResult) error {
	v, err := b.retry(ctx, func(ctx context.Context) (any, error) {
		rc, err := b.ep.client.GetFileContent(ctx, fileID)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	})
	if err != nil {
		return fmt.Errorf("download %s: %w", fileID, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(v.([]byte)))
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		cid, r, err := b.parseResultLine(sc.Bytes())
		if err != nil {
			return fmt.Errorf("file %s line %d: %w", fileID, n, err)
		}
		got[cid] = r
	}
	return sc.Err()
}

// parseResultLine reads one line of a result file. A line it cannot read
// but whose custom_id it finds fails that item alone; only a line without
// a custom_id, whose item cannot be named, is an error.
func (b *BatchGenerator) parseResultLine(data []byte) (string, batchResult, error) {
	var ol outputLine
	if err := json.Unmarshal(data, &ol); err != nil {
		var id struct {
			CustomID string `json:"custom_id"`
		}
		if json.Unmarshal(data, &id) != nil || id.CustomID == "" {
			return "", batchResult{}, fmt.Errorf("not a batch result line: %w", err)
		}
		return id.CustomID, batchResult{Error: fmt.Sprintf("unreadable result line: %v", err)}, nil
	}
	if ol.CustomID == "" {
		return "", batchResult{}, errors.New("batch result line has no custom_id")
	}
	return ol.CustomID, b.result(ol), nil
}

// lineError returns the code and message of a result line's "error" field,
// both "" when it is absent or null.
func lineError(raw json.RawMessage) (code, msg string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return "", s
	}
	var e struct {
		Code    any    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &e) == nil && (e.Message != "" || codeString(e.Code) != "") {
		return codeString(e.Code), e.Message
	}
	return "", bodySnippet(raw)
}

// notRun reports whether a line's error code says the request was not
// carried out (its batch expired or was cancelled first, or the model call
// timed out): the next Submit sends it again.
func notRun(code string) bool {
	switch code {
	case "batch_expired", "batch_cancelled", "request_timeout":
		return true
	}
	return false
}

// result turns one output line into a response or an error.
func (b *BatchGenerator) result(ol outputLine) batchResult {
	pid, i, ok := splitCustomID(ol.CustomID)
	if !ok || i < 0 || i >= b.g.cfg.Samples {
		return batchResult{Error: fmt.Sprintf("custom_id %q is not one of this generator's", ol.CustomID)}
	}
	if code, msg := lineError(ol.Error); code != "" || msg != "" {
		if code != "" {
			msg = code + ": " + msg
		}
		r := batchResult{Error: "batch line error " + msg}
		if notRun(code) {
			r.Retry = true
			r.Error += "; Submit sends it again"
		}
		return r
	}
	if ol.Response == nil {
		return batchResult{Error: "batch line has neither response nor error"}
	}
	if ol.Response.StatusCode != 200 {
		se := &StatusError{StatusCode: ol.Response.StatusCode, Message: bodySnippet(ol.Response.Body)}
		if se.Message == "null" {
			se.Message = ""
		}
		var er struct {
			Error *openai.APIError `json:"error"`
		}
		if json.Unmarshal(ol.Response.Body, &er) == nil && er.Error != nil {
			se.Message, se.Type, se.Code = er.Error.Message, er.Error.Type, codeString(er.Error.Code)
		}
		return batchResult{Error: se.Error()}
	}
	var resp chatResponse
	if err := json.Unmarshal(ol.Response.Body, &resp); err != nil {
		return batchResult{Error: fmt.Sprintf("malformed response body: %v", err)}
	}
	if len(resp.Choices) == 0 {
		return batchResult{Error: ErrEmptyChoices.Error()}
	}
	// The prompt's system prompt is a function of its ID and the sample.
	sys := b.g.systemFor(prefdata.Prompt{ID: pid}, i)
	rs := make([]prefdata.Response, b.g.cfg.Samples)
	b.g.convert(prefdata.Prompt{ID: pid}, sys, b.g.allIdx[i:i+1], &resp, 1, 0, rs)
	return batchResult{Response: &rs[i]}
}

// Generate answers p from the recorded batch results. A sample whose line
// failed, or that was never submitted or is not finished yet, fails the
// item with the reason; the other samples are returned.
func (b *BatchGenerator) Generate(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := b.load(); err != nil {
		return nil, err
	}
	if len(p.Messages) == 0 {
		return nil, fmt.Errorf("response: %s (batch): prompt %q has no messages", b.g.name, p.ID)
	}
	if p.ID == "" {
		p.ID = prefdata.ContentID(p.Messages)
	}
	var rs []prefdata.Response
	var errs []error
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.g.cfg.Samples {
		c := customID(p.ID, i)
		r, ok := b.results[c]
		switch {
		case ok && r.Response != nil:
			resp := *r.Response
			resp.PromptID = p.ID
			if p.Options != nil {
				// The line was converted without the prompt; its
				// options change the settings recorded and the ID.
				resp.Sampling = b.g.sampling(p.Options)
				resp.ID = b.g.responseID(p, resp.System, i)
			}
			rs = append(rs, resp)
		case ok:
			errs = append(errs, fmt.Errorf("sample %d: %s", i, r.Error))
		default:
			if bid, sub := b.submitted[c]; sub {
				errs = append(errs, fmt.Errorf("sample %d: batch %s is not finished (call Wait)", i, bid))
			} else {
				errs = append(errs, fmt.Errorf("sample %d: not submitted in batch mode (call Submit)", i))
			}
		}
	}
	if len(errs) > 0 {
		return rs, fmt.Errorf("model %s (batch): %w", b.g.cfg.Model, errors.Join(errs...))
	}
	return rs, nil
}
