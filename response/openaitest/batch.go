package openaitest

import "net/http"

// batchState holds the files and batches of the Batch API endpoints.
type batchState struct{}

func (b *batchState) init() {}

func (s *Server) batchRoutes(mux *http.ServeMux) {}
