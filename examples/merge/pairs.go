package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"

	"github.com/prefdata/prefdata"
)

// pairWriter writes pairs as the pipeline's own JSON, one a line.
type pairWriter struct {
	w   *bufio.Writer
	enc *json.Encoder
}

func newPairWriter(w io.Writer) *pairWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &pairWriter{w: bw, enc: enc}
}

func (p *pairWriter) WritePair(_ context.Context, pr prefdata.Pair) error { return p.enc.Encode(pr) }

func (p *pairWriter) Flush() error { return p.w.Flush() }
