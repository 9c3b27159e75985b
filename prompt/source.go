package prompt

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/prefdata/prefdata"
)

// Defaults of [ReaderConfig].
const (
	DefaultMaxPromptBytes = 64 << 10 // 64 KiB of prompt text
	DefaultMaxLineBytes   = 16 << 20 // 16 MiB per JSONL line or JSON element
	DefaultMaxListed      = 1000     // bad lines kept in a Report
)

// Format is the layout of a prompt file.
type Format int

const (
	// FormatAuto looks at the first non-space byte: '[' means a JSON array,
	// anything else JSONL.
	FormatAuto Format = iota
	// FormatJSONL is one JSON object a line; blank lines are skipped.
	FormatJSONL
	// FormatJSON is a JSON array of objects (or a single object), read one
	// element at a time.
	FormatJSON
)

// ReaderConfig configures a [Reader]. The zero value reads JSONL or JSON,
// detects the schema of each record, and stops at the first bad record.
type ReaderConfig struct {
	// Name names the input in errors ("name:17") and in Prompt.Source. Open
	// sets it to the file's base name when it is empty.
	Name   string
	Format Format
	// IDPrefix is put before IDs taken from the records ("mtbench:" makes
	// MT-Bench's 81 "mtbench:81"), so that files numbering their records
	// alike do not share IDs. Content IDs get no prefix.
	IDPrefix string
	// Mapping reads records of a schema the detector does not know. Nil
	// means: detect the schema of each record (see [Reader]).
	Mapping *Mapping
	// SkipBad turns on skip-and-report: a bad record is returned as an error
	// wrapping a *prefdata.ItemError (the pipeline records it and reads on),
	// and counted and listed in [Reader.Report]. Without it a bad record is a
	// plain error naming the input and line, which ends a run.
	SkipBad bool
	// MaxPromptBytes bounds the text of one prompt (all its messages);
	// longer prompts are bad records (default DefaultMaxPromptBytes).
	MaxPromptBytes int
	// MaxLineBytes bounds one JSONL line; a longer line is a bad record
	// and is skipped without being held in memory (default
	// DefaultMaxLineBytes). A JSON array element over it is a bad record
	// too, but the decoder has read it into memory first.
	MaxLineBytes int
	// MaxListed bounds the bad records listed in the Report (they are all
	// counted); default DefaultMaxListed, negative lists none.
	MaxListed int
}

// BadRecord is one record a [Reader] could not turn into a prompt.
type BadRecord struct {
	Item string `json:"item"` // "file.jsonl:17"
	Err  string `json:"error"`
}

// Report counts what a [Reader] has read so far.
type Report struct {
	Records int         `json:"records"` // records read, good and bad (blank lines excluded)
	Prompts int         `json:"prompts"` // prompts returned
	Bad     int         `json:"bad"`     // bad records
	Listed  []BadRecord `json:"listed,omitempty"`
}

// Reader is a [prefdata.PromptSource] over a JSONL file, a JSON array, or any
// io.Reader with either. It streams: memory does not grow with the input.
//
// Without a Mapping, each record's schema is detected from its fields, in
// this order:
//
//   - "messages": OpenAI-style [{role, content}] (content may be a list of
//     {type: "text", text} parts); the prompt is every message up to the
//     last user message.
//   - "conversations": ShareGPT [{from, value}] (from: human/user, gpt/
//     assistant/chatgpt/bard/bing/model, system); the prompt is every turn up
//     to the last human turn.
//   - "turns": MT-Bench; the prompt is the first turn, and the later turns
//     (which depend on the answer to the first) are kept in Meta["turns"] as
//     a JSON array.
//   - "chosen" and/or "rejected" holding an HH-RLHF transcript
//     ("\n\nHuman: ... \n\nAssistant: ..."): the prompt is every turn before
//     the final assistant reply, once per record.
//   - "prompt": a string (an HH-RLHF transcript when it starts with
//     "Human:"), or a message list (TRL's conversational form).
//   - "instruction" with an optional "input" (Alpaca), or with "instances"
//     (Self-Instruct seed tasks: the first instance's input is appended).
//
// The ID is the record's "id", "prompt_id" or "question_id" field (string
// or number), else [prefdata.ContentID] of the messages. "category" and
// "system" are read when present.
//
// Empty prompts (no text in the last user turn), invalid UTF-8 and prompts
// over MaxPromptBytes are bad records, as are lines that are not JSON
// objects or have none of the fields above. See [ReaderConfig.SkipBad] for
// what happens to them.
type Reader struct {
	cfg    ReaderConfig
	src    io.Reader
	closer io.Closer

	started bool
	br      *bufio.Reader // JSONL
	line    int
	lines   *lineCounter // JSON
	dec     *json.Decoder
	elem    int
	array   bool
	done    bool

	rep Report
}

var _ prefdata.PromptSource = (*Reader)(nil)

// NewReader returns a Reader of r.
func NewReader(r io.Reader, cfg ReaderConfig) *Reader {
	if cfg.Name == "" {
		cfg.Name = "input"
	}
	if cfg.MaxPromptBytes <= 0 {
		cfg.MaxPromptBytes = DefaultMaxPromptBytes
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = DefaultMaxLineBytes
	}
	if cfg.MaxListed == 0 {
		cfg.MaxListed = DefaultMaxListed
	}
	return &Reader{cfg: cfg, src: r}
}

// Open returns a Reader of the file at path, decompressing it when the name
// ends in ".gz" (as HH-RLHF's files do). Close it when done.
func Open(path string, cfg ReaderConfig) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("prompt: %w", err)
	}
	if cfg.Name == "" {
		cfg.Name = filepath.Base(path)
	}
	var src io.Reader = f
	var closer io.Closer = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("prompt: %s: %w", path, err)
		}
		src, closer = zr, multiCloser{zr, f}
	}
	r := NewReader(src, cfg)
	r.closer = closer
	return r, nil
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Close closes the file opened by [Open]; it does nothing for a Reader made
// by NewReader.
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// Report returns the counts so far and the listed bad records.
func (r *Reader) Report() Report {
	out := r.rep
	out.Listed = append([]BadRecord(nil), r.rep.Listed...)
	return out
}

// Next returns the next prompt, io.EOF at the end. See [Reader] and
// [ReaderConfig.SkipBad] for bad records.
func (r *Reader) Next(ctx context.Context) (prefdata.Prompt, error) {
	for {
		if err := ctx.Err(); err != nil {
			return prefdata.Prompt{}, err
		}
		if r.done {
			return prefdata.Prompt{}, io.EOF
		}
		raw, item, err := r.record()
		if errors.Is(err, io.EOF) {
			r.done = true
			return prefdata.Prompt{}, io.EOF
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			r.done = true
			return prefdata.Prompt{}, fmt.Errorf("prompt: %s: %w", item, fatal.err)
		}
		if raw == nil && err == nil {
			continue // blank line
		}
		r.rep.Records++
		var p prefdata.Prompt
		if err == nil {
			p, err = r.parse(raw)
		}
		if err != nil {
			r.rep.Bad++
			if len(r.rep.Listed) < r.cfg.MaxListed { // a negative MaxListed lists none
				r.rep.Listed = append(r.rep.Listed, BadRecord{Item: item, Err: err.Error()})
			}
			if r.cfg.SkipBad {
				return prefdata.Prompt{}, &prefdata.ItemError{Stage: prefdata.StagePrompt, Item: item, Err: err}
			}
			r.done = true
			return prefdata.Prompt{}, fmt.Errorf("prompt: %s: %w", item, err)
		}
		r.rep.Prompts++
		return p, nil
	}
}

// fatalError is a read error after which the input cannot be read on (an I/O
// error, or broken JSON syntax inside an array).
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// record returns the next raw record and its position. A nil record with a
// nil error is a blank line.
func (r *Reader) record() ([]byte, string, error) {
	if !r.started {
		r.started = true
		r.br = bufio.NewReaderSize(r.src, 64<<10)
		format := r.cfg.Format
		if format == FormatAuto {
			format = FormatJSONL
			if b, err := peekNonSpace(r.br); err == nil && b == '[' {
				format = FormatJSON
			}
		}
		if format == FormatJSON {
			r.lines = &lineCounter{r: r.br, line: 1}
			r.dec = json.NewDecoder(r.lines)
			first, err := peekNonSpace(r.br)
			if err != nil {
				if errors.Is(err, io.EOF) {
					return nil, r.cfg.Name, io.EOF
				}
				return nil, r.cfg.Name, &fatalError{err}
			}
			if first == '[' {
				if _, err := r.dec.Token(); err != nil {
					return nil, r.cfg.Name + ":1", &fatalError{err}
				}
				r.array = true
			}
		}
	}
	if r.dec != nil {
		return r.jsonRecord()
	}
	return r.jsonlRecord()
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for n := 1; ; n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			if err == nil {
				err = io.EOF
			}
			return 0, err
		}
		switch c := b[n-1]; c {
		case ' ', '\t', '\r', '\n':
			if n >= br.Size() {
				if _, err := br.Discard(n); err != nil {
					return 0, err
				}
				n = 0
			}
		case 0xEF: // UTF-8 byte order mark
			if bb, _ := br.Peek(n + 2); len(bb) == n+2 && bb[n] == 0xBB && bb[n+1] == 0xBF {
				if _, err := br.Discard(n + 2); err != nil {
					return 0, err
				}
				n = 0
				continue
			}
			return c, nil
		default:
			return c, nil
		}
	}
}

func (r *Reader) jsonlRecord() ([]byte, string, error) {
	r.line++
	item := fmt.Sprintf("%s:%d", r.cfg.Name, r.line)
	var buf []byte
	tooLong := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > r.cfg.MaxLineBytes {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, item, &fatalError{err}
		}
		if tooLong {
			return nil, item, fmt.Errorf("line longer than %d bytes", r.cfg.MaxLineBytes)
		}
		trimmed := bytes.TrimSpace(bytes.TrimPrefix(buf, []byte("\xEF\xBB\xBF")))
		if len(trimmed) == 0 {
			if err != nil { // io.EOF
				return nil, item, io.EOF
			}
			return nil, item, nil
		}
		return trimmed, item, nil
	}
}

func (r *Reader) jsonRecord() ([]byte, string, error) {
	if r.array && !r.dec.More() {
		// The closing bracket, or broken syntax.
		if _, err := r.dec.Token(); err != nil {
			return nil, r.jsonItem(), &fatalError{err}
		}
		return nil, "", io.EOF
	}
	r.elem++
	line := r.lines.lineAt(r.dec.InputOffset())
	item := fmt.Sprintf("%s:%d", r.cfg.Name, line)
	var raw json.RawMessage
	if err := r.dec.Decode(&raw); err != nil {
		if !r.array && errors.Is(err, io.EOF) && r.elem > 1 {
			return nil, "", io.EOF
		}
		return nil, item, &fatalError{fmt.Errorf("element %d: %w", r.elem, err)}
	}
	if !r.array && r.elem > 1 {
		return nil, item, &fatalError{errors.New("more than one value in a JSON file that is not an array (use FormatJSONL)")}
	}
	if len(raw) > r.cfg.MaxLineBytes {
		return nil, item, fmt.Errorf("element %d is %d bytes, over the limit of %d", r.elem, len(raw), r.cfg.MaxLineBytes)
	}
	return raw, item, nil
}

func (r *Reader) jsonItem() string {
	return fmt.Sprintf("%s:%d", r.cfg.Name, r.lines.lineAt(r.dec.InputOffset()))
}

func (r *Reader) parse(raw []byte) (prefdata.Prompt, error) {
	if !utf8.Valid(raw) {
		return prefdata.Prompt{}, errors.New("invalid UTF-8")
	}
	var p prefdata.Prompt
	var err error
	if r.cfg.Mapping != nil {
		p, err = r.cfg.Mapping.parse(raw)
	} else {
		p, err = detect(raw)
	}
	if err != nil {
		return prefdata.Prompt{}, err
	}
	// The last user turn is what the model answers: it must have text.
	if strings.TrimSpace(p.Text()) == "" {
		return prefdata.Prompt{}, errors.New("empty prompt")
	}
	size := 0
	for _, m := range p.Messages {
		size += len(m.Content)
	}
	if size > r.cfg.MaxPromptBytes {
		return prefdata.Prompt{}, fmt.Errorf("prompt is %d bytes, over the limit of %d", size, r.cfg.MaxPromptBytes)
	}
	if p.ID == "" {
		p.ID = prefdata.ContentID(p.Messages)
	} else {
		p.ID = r.cfg.IDPrefix + p.ID
	}
	if p.Source == "" {
		p.Source = r.cfg.Name
	}
	return p, nil
}

// lineCounter passes reads through and finds the line of a byte offset that
// the JSON decoder reports. It holds only the bytes the decoder has read but
// not yet passed, so its memory is bounded by the decoder's buffer.
type lineCounter struct {
	r      io.Reader
	chunks [][]byte
	base   int64 // offset of chunks[0][0]
	line   int   // line number at base
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.chunks = append(c.chunks, append([]byte(nil), p[:n]...))
	}
	return n, err
}

// lineAt returns the line of the first byte at or after off that is not
// white space or a comma (the start of the next array element). Offsets must
// not decrease between calls.
func (c *lineCounter) lineAt(off int64) int {
	// Drop whole chunks before off.
	for len(c.chunks) > 0 && c.base+int64(len(c.chunks[0])) <= off {
		c.line += bytes.Count(c.chunks[0], []byte{'\n'})
		c.base += int64(len(c.chunks[0]))
		c.chunks = c.chunks[1:]
	}
	if len(c.chunks) > 0 && off > c.base {
		k := int(off - c.base)
		c.line += bytes.Count(c.chunks[0][:k], []byte{'\n'})
		c.chunks[0] = c.chunks[0][k:]
		c.base = off
	}
	line := c.line
	for _, ch := range c.chunks {
		for _, b := range ch {
			switch b {
			case '\n':
				line++
			case ' ', '\t', '\r', ',':
			default:
				return line
			}
		}
	}
	return line
}
