package openaitest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// File is a file uploaded to (or produced by) the fake server.
type File struct {
	ID       string
	Name     string
	Purpose  string
	Content  []byte
	Uploaded bool // by a client, not produced by a batch
}

// Batch is a batch created on the fake server.
type Batch struct {
	ID               string
	InputFileID      string
	Endpoint         string
	CompletionWindow string
	Metadata         map[string]any
	// Status is "in_progress" until the batch has been polled
	// [Config.BatchPolls] times, then "completed" (or "failed" when its
	// input file could not be read).
	Status       string
	OutputFileID string
	ErrorFileID  string
	Total        int
	Completed    int
	Failed       int
	polls        int
	final        string // the status after in_progress, when not "completed"
}

// batchState holds the files and batches of the Batch API endpoints.
type batchState struct {
	lostCreates int
	files       map[string]*File
	fileIDs     []string
	batches     map[string]*Batch
	order       []string
}

func (b *batchState) init() {
	b.files = map[string]*File{}
	b.batches = map[string]*Batch{}
}

func (s *Server) batchRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/files", s.uploadFile)
	mux.HandleFunc("GET /v1/files/{id}", s.getFile)
	mux.HandleFunc("GET /v1/files/{id}/content", s.fileContent)
	mux.HandleFunc("POST /v1/batches", s.createBatch)
	mux.HandleFunc("GET /v1/batches", s.listBatches)
	mux.HandleFunc("GET /v1/batches/{id}", s.getBatch)
}

// Batches returns copies of the batches created, in creation order.
func (s *Server) Batches() []Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Batch
	for _, id := range s.batch.order {
		out = append(out, *s.batch.batches[id])
	}
	return out
}

// Uploads returns copies of the files clients uploaded, in order.
func (s *Server) Uploads() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, id := range s.batch.fileIDs {
		if f := s.batch.files[id]; f.Uploaded {
			out = append(out, *f)
		}
	}
	return out
}

func (s *Server) addFile(f *File) {
	f.ID = fmt.Sprintf("file-%d", len(s.batch.fileIDs)+1)
	s.batch.files[f.ID] = f
	s.batch.fileIDs = append(s.batch.fileIDs, f.ID)
}

func fileObject(f *File) map[string]any {
	return map[string]any{"id": f.ID, "object": "file", "bytes": len(f.Content), "created_at": 0, "filename": f.Name, "purpose": f.Purpose, "status": "processed"}
}

func (s *Server) uploadFile(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(256 << 20); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "expected a multipart form: "+err.Error())
		return
	}
	purpose := r.FormValue("purpose")
	fh, hdr, err := r.FormFile("file")
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "missing file part: "+err.Error())
		return
	}
	defer fh.Close()
	content, err := io.ReadAll(fh)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", err.Error())
		return
	}
	if purpose != "batch" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", fmt.Sprintf("purpose %q is not supported by the fake server", purpose))
		return
	}
	f := &File{Name: hdr.Filename, Purpose: purpose, Content: content, Uploaded: true}
	s.mu.Lock()
	s.addFile(f)
	obj := fileObject(f)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, obj)
}

func (s *Server) lookupFile(w http.ResponseWriter, r *http.Request) *File {
	s.mu.Lock()
	f := s.batch.files[r.PathValue("id")]
	s.mu.Unlock()
	if f == nil {
		writeError(w, http.StatusNotFound, "invalid_request_error", "", fmt.Sprintf("No such File object: %s", r.PathValue("id")))
	}
	return f
}

func (s *Server) getFile(w http.ResponseWriter, r *http.Request) {
	if f := s.lookupFile(w, r); f != nil {
		writeJSON(w, http.StatusOK, fileObject(f))
	}
}

func (s *Server) fileContent(w http.ResponseWriter, r *http.Request) {
	if f := s.lookupFile(w, r); f != nil {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(f.Content)
	}
}

type batchLine struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

func (s *Server) createBatch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		InputFileID      string         `json:"input_file_id"`
		Endpoint         string         `json:"endpoint"`
		CompletionWindow string         `json:"completion_window"`
		Metadata         map[string]any `json:"metadata"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "malformed JSON body: "+err.Error())
		return
	}
	if in.Endpoint != "/v1/chat/completions" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", fmt.Sprintf("endpoint %q is not supported by the fake server", in.Endpoint))
		return
	}
	if in.CompletionWindow != "24h" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", fmt.Sprintf("completion_window %q: only 24h is supported", in.CompletionWindow))
		return
	}
	s.mu.Lock()
	f := s.batch.files[in.InputFileID]
	if f == nil {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", fmt.Sprintf("No such File object: %s", in.InputFileID))
		return
	}
	b := &Batch{ID: fmt.Sprintf("batch_%d", len(s.batch.order)+1), InputFileID: in.InputFileID, Endpoint: in.Endpoint,
		CompletionWindow: in.CompletionWindow, Metadata: in.Metadata, Status: "in_progress"}
	s.batch.batches[b.ID] = b
	s.batch.order = append(s.batch.order, b.ID)
	content := f.Content
	s.mu.Unlock()

	// The work is done now; the answer shows once the batch is polled
	// enough.
	var out, errs bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(content))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	total, done, failed := 0, 0, 0
	expired := false
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		total++
		var bl batchLine
		status, body := 0, any(nil)
		err := json.Unmarshal(sc.Bytes(), &bl)
		if err == nil && s.cfg.BatchExpire != nil && s.cfg.BatchExpire(bl.CustomID) {
			// As the API does: the line goes to the error file with
			// code batch_expired.
			expired = true
			failed++
			rec := map[string]any{
				"id": fmt.Sprintf("batch_req_%d", line), "custom_id": bl.CustomID, "response": nil,
				"error": map[string]string{"code": "batch_expired", "message": "This request could not be executed before the completion window expired."},
			}
			enc, _ := json.Marshal(rec)
			errs.Write(append(enc, '\n'))
			continue
		}
		if err != nil {
			status, body = errorBody(http.StatusBadRequest, "invalid_request_error", "", fmt.Sprintf("line %d: %v", line, err))
		} else {
			req, err := parseRequest(bl.Body)
			if err != nil {
				status, body = errorBody(http.StatusBadRequest, "invalid_request_error", "", fmt.Sprintf("line %d: body: %v", line, err))
			} else {
				req.Seq, req.Time, req.Auth = -1, s.cfg.Now(), "Bearer "+s.cfg.APIKey
				req.id = fmt.Sprintf("chatcmpl-%s-%d", b.ID, line)
				fault := FaultNone
				if s.cfg.Fault != nil {
					fault = s.cfg.Fault(req)
				}
				status, body = s.complete(req, fault)
			}
		}
		rec := map[string]any{
			"id":        fmt.Sprintf("batch_req_%d", line),
			"custom_id": bl.CustomID,
			"response":  map[string]any{"status_code": status, "request_id": fmt.Sprintf("req_%d", line), "body": body},
			"error":     nil,
		}
		enc, _ := json.Marshal(rec)
		if status == http.StatusOK {
			done++
			out.Write(append(enc, '\n'))
		} else {
			failed++
			errs.Write(append(enc, '\n'))
		}
	}
	s.mu.Lock()
	b.Total, b.Completed, b.Failed = total, done, failed
	if out.Len() > 0 {
		of := &File{Name: b.ID + "_output.jsonl", Purpose: "batch_output", Content: out.Bytes()}
		s.addFile(of)
		b.OutputFileID = of.ID
	}
	if errs.Len() > 0 {
		ef := &File{Name: b.ID + "_error.jsonl", Purpose: "batch_output", Content: errs.Bytes()}
		s.addFile(ef)
		b.ErrorFileID = ef.ID
	}
	if expired {
		b.final = "expired"
	}
	obj := s.batchObject(b, false)
	lost := s.batch.lostCreates < s.cfg.LostBatchCreates
	if lost {
		s.batch.lostCreates++
	}
	s.mu.Unlock()
	if lost {
		writeError(w, http.StatusInternalServerError, "server_error", "", "The server had an error while processing your request.")
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

// batchObject renders b; a poll counts towards its completion.
func (s *Server) batchObject(b *Batch, poll bool) map[string]any {
	if poll && b.Status == "in_progress" {
		b.polls++
		if b.polls >= max(s.cfg.BatchPolls, 1) {
			b.Status = "completed"
			if b.final != "" {
				b.Status = b.final
			}
		}
	}
	obj := map[string]any{
		"id": b.ID, "object": "batch", "endpoint": b.Endpoint, "input_file_id": b.InputFileID,
		"completion_window": b.CompletionWindow, "status": b.Status, "created_at": 0,
		"metadata":       b.Metadata, // output_file_id and error_file_id: absent until there are such files (the spec has them non-nullable)
		"request_counts": map[string]int{"total": b.Total, "completed": 0, "failed": 0},
	}
	if b.Status != "in_progress" {
		if b.OutputFileID != "" {
			obj["output_file_id"] = b.OutputFileID
		}
		if b.ErrorFileID != "" {
			obj["error_file_id"] = b.ErrorFileID
		}
		obj["request_counts"] = map[string]int{"total": b.Total, "completed": b.Completed, "failed": b.Failed}
	}
	return obj
}

func (s *Server) getBatch(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	b := s.batch.batches[r.PathValue("id")]
	var obj map[string]any
	if b != nil {
		obj = s.batchObject(b, true)
	}
	s.mu.Unlock()
	if b == nil {
		writeError(w, http.StatusNotFound, "invalid_request_error", "", fmt.Sprintf("No such Batch object: %s", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

func (s *Server) listBatches(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data := []any{}
	for i := len(s.batch.order) - 1; i >= 0; i-- { // newest first, as the API lists
		data = append(data, s.batchObject(s.batch.batches[s.batch.order[i]], false))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": false})
}
