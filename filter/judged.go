package filter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// JudgedPair is one line of the judged-pairs import format (see the
// package documentation): a pair of responses with judges' verdicts in
// one or both presentation orders and reward-model scores.
type JudgedPair struct {
	ID       string          `json:"id"`
	Prompt   string          `json:"prompt"`
	A        string          `json:"a"`
	B        string          `json:"b"`
	Verdicts []JudgedVerdict `json:"verdicts"`
	Scores   []JudgedScore   `json:"scores"`
}

// UnmarshalJSON reads a pair line. A response (a or b) that is a JSON
// number or boolean rather than a string is kept as its JSON text: some
// upstream sets store an answer of "True" as true.
func (p *JudgedPair) UnmarshalJSON(b []byte) error {
	type plain JudgedPair
	var raw struct {
		plain
		A json.RawMessage `json:"a"`
		B json.RawMessage `json:"b"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	*p = JudgedPair(raw.plain)
	var err error
	if p.A, err = responseText("a", raw.A); err != nil {
		return err
	}
	p.B, err = responseText("b", raw.B)
	return err
}

func responseText(field string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '{', '[':
		return "", fmt.Errorf("field %q: an object or a list, not a response text", field)
	}
	return string(raw), nil // a number or a boolean
}

// JudgedVerdict is one judge's verdict in one order.
type JudgedVerdict struct {
	// Judge names the judge, prompting strategy included; a judge's two
	// entries on a pair are its two orders.
	Judge string `json:"judge"`
	// First is the response shown first: "a" or "b".
	First string `json:"first"`
	// Winner is in the pair's own terms: "a", "b" or "tie"; null when the
	// reply had no readable verdict.
	Winner *string `json:"winner"`
	// Reply is the judge's raw reply, if kept.
	Reply string `json:"reply,omitempty"`
}

// JudgedScore is one reward model's scores of the two responses.
type JudgedScore struct {
	Scorer string  `json:"scorer"`
	A      float64 `json:"a"`
	B      float64 `json:"b"`
}

// HumanLabel is one line of the human-labels file: one person's winner of
// one pair ("a", "b" or "tie").
type HumanLabel struct {
	ID        string `json:"id"`
	Annotator string `json:"annotator"`
	Winner    string `json:"winner"`
}

// LineError is a bad line of an import file.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Evidence is the pair's verdicts and score margins, for [Calibrator.Fit].
func (p JudgedPair) Evidence() Evidence {
	ev := Evidence{ID: p.ID}
	for _, v := range p.Verdicts {
		first, _ := ParseChoice(v.First)
		w := ChoiceNone
		if v.Winner != nil {
			w, _ = ParseChoice(*v.Winner)
		}
		ev.Judgments = append(ev.Judgments, Judgment{Judge: v.Judge, First: first, Verdict: w})
	}
	for _, s := range p.Scores {
		ev.Margins = append(ev.Margins, Margin{Scorer: s.Scorer, Value: s.A - s.B})
	}
	return ev
}

func (p JudgedPair) check() error {
	if p.ID == "" {
		return errors.New(`no "id"`)
	}
	for k, v := range p.Verdicts {
		if v.Judge == "" {
			return fmt.Errorf("pair %s: verdict %d: no judge", p.ID, k)
		}
		if v.First != "a" && v.First != "b" {
			return fmt.Errorf("pair %s: verdict %d (%s): first is %q, not a or b", p.ID, k, v.Judge, v.First)
		}
		if v.Winner != nil {
			if c, err := ParseChoice(*v.Winner); err != nil || c == ChoiceNone {
				return fmt.Errorf("pair %s: verdict %d (%s): winner is %q, not a, b, tie or null", p.ID, k, v.Judge, *v.Winner)
			}
		}
	}
	for k, s := range p.Scores {
		if s.Scorer == "" {
			return fmt.Errorf("pair %s: score %d: no scorer", p.ID, k)
		}
	}
	return nil
}

func (h HumanLabel) check() error {
	if h.ID == "" {
		return errors.New(`no "id"`)
	}
	if c, err := ParseChoice(h.Winner); err != nil || c == ChoiceNone {
		return fmt.Errorf("pair %s: winner is %q, not a, b or tie", h.ID, h.Winner)
	}
	return nil
}

// readLines decodes each non-blank line of r into a T, checks it, and
// returns the good ones with one *LineError per bad line, joined.
func readLines[T any](r io.Reader, name string, check func(T) error) ([]T, error) {
	var out []T
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var v T
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err := dec.Decode(&v)
		if err == nil && dec.More() {
			err = errors.New("more than one JSON value on the line")
		}
		if err == nil {
			err = check(v)
		}
		if err != nil {
			errs = append(errs, &LineError{File: name, Line: line, Err: err})
			continue
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &LineError{File: name, Line: line + 1, Err: err})
	}
	return out, errors.Join(errs...)
}

// ReadJudged reads judged pairs in the import format, one JSON object a
// line (blank lines skipped). It returns every good pair and, if some
// lines were bad, an error joining one [*LineError] per bad line, named
// name:line. Unknown fields are errors (they are usually a misspelling);
// so are duplicate IDs.
func ReadJudged(r io.Reader, name string) ([]JudgedPair, error) {
	seen := map[string]bool{}
	return readLines(r, name, func(p JudgedPair) error {
		if err := p.check(); err != nil {
			return err
		}
		if seen[p.ID] {
			return fmt.Errorf("pair %s: duplicate id", p.ID)
		}
		seen[p.ID] = true
		return nil
	})
}

// ReadJudgedFile is [ReadJudged] on a file.
func ReadJudgedFile(path string) ([]JudgedPair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadJudged(f, path)
}

// ReadHumanLabels reads human labels, one {"id", "annotator", "winner"}
// object a line, as [ReadJudged] reads pairs.
func ReadHumanLabels(r io.Reader, name string) ([]HumanLabel, error) {
	return readLines(r, name, HumanLabel.check)
}

// ReadHumanLabelsFile is [ReadHumanLabels] on a file.
func ReadHumanLabelsFile(path string) ([]HumanLabel, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadHumanLabels(f, path)
}
