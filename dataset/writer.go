package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/prefdata/prefdata"
)

// Writer streams pairs to an io.Writer in one format, one JSON line per pair.
// It is a [prefdata.Sink]: give it to [prefdata.Pipeline.Sink], and the
// pipeline calls Flush at the end of the run.
//
// A pair the format cannot express (see [SkipError]) is skipped and recorded
// (Skipped lists them) rather than failing the run, unless [Writer.Strict]
// is set. Errors of the underlying writer are always returned. A Writer is
// not safe for concurrent use; the pipeline calls it from one goroutine.
type Writer struct {
	// Strict makes WritePair return a pair's [*SkipError] instead of
	// recording it and going on.
	Strict bool

	format  Format
	codec   codec
	opts    Options
	w       *bufio.Writer
	buf     bytes.Buffer
	enc     *json.Encoder
	rows    int
	skipped []*SkipError
}

var _ prefdata.Sink = (*Writer)(nil)

// NewWriter returns a Writer of format f to w.
func NewWriter(w io.Writer, f Format, o Options) (*Writer, error) {
	c, err := codecOf(f)
	if err != nil {
		return nil, err
	}
	wr := &Writer{format: f, codec: c, opts: o, w: bufio.NewWriterSize(w, 64<<10)}
	wr.enc = json.NewEncoder(&wr.buf)
	wr.enc.SetEscapeHTML(false)
	return wr, nil
}

// Format returns the writer's format.
func (w *Writer) Format() Format { return w.format }

// WritePair writes p as one line.
func (w *Writer) WritePair(ctx context.Context, p prefdata.Pair) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	line, err := w.encode(p)
	if err != nil {
		se := &SkipError{PairID: p.ID, Format: w.format, Reason: err.Error()}
		if w.Strict {
			return se
		}
		w.skipped = append(w.skipped, se)
		return nil
	}
	if _, err := w.w.Write(line); err != nil {
		return fmt.Errorf("dataset: write pair %s: %w", p.ID, err)
	}
	w.rows++
	return nil
}

// encode returns p's row with its newline. The slice is valid until the
// next call.
func (w *Writer) encode(p prefdata.Pair) ([]byte, error) {
	if err := checkUTF8(p); err != nil {
		return nil, err
	}
	row, err := w.codec.encode(p, w.opts)
	if err != nil {
		return nil, err
	}
	w.buf.Reset()
	if err := w.enc.Encode(row); err != nil {
		return nil, err // NaN or infinite scores
	}
	return w.buf.Bytes(), nil
}

// Flush writes any buffered rows to the underlying writer.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("dataset: flush: %w", err)
	}
	return nil
}

// Rows returns the number of rows written.
func (w *Writer) Rows() int { return w.rows }

// Skipped returns the pairs skipped so far and why.
func (w *Writer) Skipped() []*SkipError { return append([]*SkipError(nil), w.skipped...) }

// Reader reads back the rows of one format as pairs. A row carries only what
// its format holds: the pair's prompt messages and the two answers' texts,
// and whatever else the format's columns (and the provenance columns, when
// written) say. Writing a pair that was read gives the same line again.
type Reader struct {
	name  string
	codec codec
	r     *bufio.Reader
	line  int
	err   error
}

// NewReader returns a Reader of format f from r. name is used in error
// messages ("train.jsonl:12: ...").
func NewReader(r io.Reader, name string, f Format) (*Reader, error) {
	c, err := codecOf(f)
	if err != nil {
		return nil, err
	}
	return &Reader{name: name, codec: c, r: bufio.NewReaderSize(r, 64<<10)}, nil
}

// Read returns the next pair, or io.EOF after the last one. A malformed row
// gives an error naming the file and line, and the next Read goes on with the
// following line. Blank lines are skipped.
func (r *Reader) Read() (prefdata.Pair, error) {
	for {
		if r.err != nil {
			return prefdata.Pair{}, r.err
		}
		data, err := r.r.ReadBytes('\n')
		if len(data) == 0 && errors.Is(err, io.EOF) {
			r.err = io.EOF
			return prefdata.Pair{}, io.EOF
		}
		if err != nil && !errors.Is(err, io.EOF) {
			r.err = fmt.Errorf("dataset: %s: %w", r.name, err)
			return prefdata.Pair{}, r.err
		}
		r.line++
		data = bytes.TrimRight(data, "\r\n")
		if len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		p, derr := r.codec.decode(data)
		if derr != nil {
			return prefdata.Pair{}, fmt.Errorf("dataset: %s:%d: %w", r.name, r.line, derr)
		}
		return p, nil
	}
}

// ReadAll reads every pair of r. It stops at the first malformed row.
func ReadAll(r io.Reader, name string, f Format) ([]prefdata.Pair, error) {
	rd, err := NewReader(r, name, f)
	if err != nil {
		return nil, err
	}
	var out []prefdata.Pair
	for {
		p, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
}
