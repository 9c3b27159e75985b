package runstore

import (
	"encoding/json"
	"fmt"

	"github.com/prefdata/prefdata"
)

// LineError is a line of a journal that is not the record it should be.
type LineError struct {
	Path string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Store reads a run directory. Each reader scans its file; only
// [Store.Response] keeps what it read (the responses, by ID).
type Store struct {
	// KeepRefs, if set, leaves the responses that pairs records give by
	// reference as they are stored ({"id": ...} only, [prefdata.IsRef]) in
	// [Store.PairsRecords], [Store.Pairs] and [Store.LatestPairs], with
	// each record's Sources to find them: for a reader that needs of them
	// only what it read from the responses journal already (or fills them
	// itself, with [prefdata.RunDir.FillRefs]), and not a read per record.
	KeepRefs bool

	d         *prefdata.RunDir
	manifest  prefdata.Manifest
	has       bool
	responses map[string]prefdata.Response // by ID, read on first use
}

// Open reads the manifest of d (a torn one gives a *prefdata.ManifestError
// saying what to do).
func Open(d *prefdata.RunDir) (*Store, error) {
	m, ok, err := d.ReadManifest()
	if err != nil {
		return nil, err
	}
	return &Store{d: d, manifest: m, has: ok}, nil
}

// OpenDir opens the run directory at path and reads it.
func OpenDir(path string) (*Store, error) {
	d, err := prefdata.OpenRunDir(path)
	if err != nil {
		return nil, err
	}
	return Open(d)
}

// Dir returns the run directory.
func (s *Store) Dir() *prefdata.RunDir { return s.d }

// Manifest returns the manifest; ok is false when no run has written one.
func (s *Store) Manifest() (m prefdata.Manifest, ok bool) { return s.manifest, s.has }

// Fragments returns the half-written lines the readers skipped so far.
func (s *Store) Fragments() []prefdata.Fragment { return s.d.Fragments() }

// scan decodes every line of file into a T and calls fn with it.
func scan[T any](s *Store, file string, fn func(line int, v T) error) error {
	return s.d.Scan(file, func(r prefdata.Record) error {
		var v T
		if err := json.Unmarshal(r.Data, &v); err != nil {
			return &LineError{Path: s.d.Path(file), Line: r.Line, Err: err}
		}
		return fn(r.Line, v)
	})
}

// Lines calls fn with every line of the named file decoded into a T: the
// reader of a journal this package has no typed reader for.
func Lines[T any](s *Store, file string, fn func(line int, v T) error) error {
	return scan(s, file, fn)
}

// Prompts calls fn for every line of the prompts journal: each prompt read
// by stage 1, kept or dropped and why.
func (s *Store) Prompts(fn func(prefdata.PromptRecord) error) error {
	return s.d.Scan(prefdata.FilePrompts, func(r prefdata.Record) error {
		rec, ok := prefdata.DecodePromptRecord(r.Data)
		if !ok { // not the shape the pipeline writes: encoding/json's, or its error
			if err := json.Unmarshal(r.Data, &rec); err != nil {
				return &LineError{Path: s.d.Path(prefdata.FilePrompts), Line: r.Line, Err: err}
			}
		}
		return fn(rec)
	})
}

// CacheRecords calls fn for every record of a cache journal
// (FileResponses, FileStage1, FileScores, FileLabels, FileCalls).
func (s *Store) CacheRecords(file string, fn func(prefdata.CacheRecord) error) error {
	return scan(s, file, func(_ int, r prefdata.CacheRecord) error { return fn(r) })
}

// value decodes a cache record's value, naming the file and line.
func value[T any](s *Store, file string, fn func(prefdata.CacheRecord, T) error) error {
	return scan(s, file, func(line int, r prefdata.CacheRecord) error {
		var v T
		if err := json.Unmarshal(r.Value, &v); err != nil {
			return &LineError{Path: s.d.Path(file), Line: line, Err: fmt.Errorf("value: %w", err)}
		}
		return fn(r, v)
	})
}

// Responses calls fn for every generation record: one generator's responses
// to one prompt (rec.Component is the generator).
func (s *Store) Responses(fn func(rec prefdata.CacheRecord, rs []prefdata.Response) error) error {
	return value(s, prefdata.FileResponses, fn)
}

// Scores calls fn for every record of a fingerprinted filter: the candidate
// it returned (scores, comparisons, drops). Responses stored as references
// are filled in from the responses journal (see [Store.Response]).
func (s *Store) Scores(fn func(rec prefdata.CacheRecord, c prefdata.Candidate) error) error {
	return value(s, prefdata.FileScores, func(rec prefdata.CacheRecord, c prefdata.Candidate) error {
		if rec.Refs {
			if err := s.expand(&c); err != nil {
				return err
			}
		}
		return fn(rec, c)
	})
}

// Judgments calls fn for every record of a fingerprinted labeler: the pairs
// it made of a candidate, references filled in like Scores'.
func (s *Store) Judgments(fn func(rec prefdata.CacheRecord, pairs []prefdata.Pair) error) error {
	return value(s, prefdata.FileLabels, func(rec prefdata.CacheRecord, ps []prefdata.Pair) error {
		if rec.Refs {
			if err := s.expand(&ps); err != nil {
				return err
			}
		}
		return fn(rec, ps)
	})
}

// Response returns the response with the given ID as the responses journal
// has it (the last generation record with it). The first call reads the
// journal's responses into memory.
func (s *Store) Response(id string) (prefdata.Response, bool, error) {
	if s.responses == nil {
		s.responses = map[string]prefdata.Response{}
		err := s.Responses(func(_ prefdata.CacheRecord, rs []prefdata.Response) error {
			for _, r := range rs {
				s.responses[r.ID] = r
			}
			return nil
		})
		if err != nil {
			s.responses = nil
			return prefdata.Response{}, false, err
		}
	}
	r, ok := s.responses[id]
	return r, ok, nil
}

func (s *Store) expand(v any) error {
	var err error
	prefdata.ExpandRefs(v, func(id string) (prefdata.Response, bool) {
		r, ok, e := s.Response(id)
		if e != nil {
			err = e
		}
		return r, ok
	})
	return err
}

// Pairs calls fn for every pairs record, in file order, saying whether it is
// current (see the package doc), with the responses given by reference
// filled in (see [Store.PairsRecords]). It keeps one entry per done key
// (or, for lines of version 0, per prompt) in memory.
func (s *Store) Pairs(fn func(rec prefdata.PairsRecord, current bool) error) error {
	last := map[string]int{} // done key (or prompt ID of v0 lines) → last line
	err := scan(s, prefdata.FilePairs, func(line int, r prefdata.PairsRecord) error {
		last[pairsKey(r)] = line
		return nil
	})
	if err != nil {
		return err
	}
	return s.PairsRecords(func(line int, r prefdata.PairsRecord) error {
		cur := last[pairsKey(r)] == line
		if r.V > 0 {
			cur = cur && s.has && r.RunKey == s.manifest.RunKey
		}
		return fn(r, cur)
	})
}

// PairsRecords calls fn for every line of the pairs journal, current or
// not, in one pass, with the responses its pairs give by reference filled
// in from the FileResponses records its Sources locate (one read each, see
// [prefdata.RunDir.FillRefs]). Lines holding whole pairs, as versions
// before references wrote them, come back as they are. A record whose
// sources cannot be read stops the scan with an error naming the pairs
// file and line. With KeepRefs, the references stay as they are.
func (s *Store) PairsRecords(fn func(line int, rec prefdata.PairsRecord) error) error {
	var rec prefdata.PairsRecord
	decode := func(line []byte) (ok bool) {
		rec, ok = prefdata.DecodePairsRecord(line)
		return ok
	}
	return s.d.ScanDecoded(prefdata.FilePairs, decode, func(r prefdata.Record, decoded bool) error {
		if !decoded {
			rec = prefdata.PairsRecord{}
			if err := json.Unmarshal(r.Data, &rec); err != nil {
				return &LineError{Path: s.d.Path(prefdata.FilePairs), Line: r.Line, Err: err}
			}
		}
		if s.KeepRefs {
			return fn(r.Line, rec)
		}
		if err := s.d.FillRefs(rec.Pairs, rec.Sources); err != nil {
			return &LineError{Path: s.d.Path(prefdata.FilePairs), Line: r.Line, Err: err}
		}
		return fn(r.Line, rec)
	})
}

func pairsKey(r prefdata.PairsRecord) string {
	if r.V == 0 {
		return "\x00" + r.PromptID
	}
	return r.Key
}

// LatestPairs returns the pairs of the latest run: the current pairs
// records' pairs, in file order.
func (s *Store) LatestPairs() ([]prefdata.Pair, error) {
	var out []prefdata.Pair
	err := s.Pairs(func(r prefdata.PairsRecord, current bool) error {
		if current {
			out = append(out, r.Pairs...)
		}
		return nil
	})
	return out, err
}

// Queue calls fn for every pair queued for people, once per pair ID, in
// queue order, with its responses filled in (see [QueuedPair]). A line that
// is not a pair, or whose responses cannot be found, is passed to bad
// (file:line: error) and skipped, so one bad line never keeps the other
// pairs from people; bad may be nil, and then such a line stops the scan
// with its error.
func (s *Store) Queue(fn func(prefdata.Pair) error, bad func(error)) error {
	seen := map[string]bool{}
	return s.d.Scan(prefdata.FileQueue, func(r prefdata.Record) error {
		p, err := QueuedPair(s.d, r.Data)
		if err != nil {
			le := &LineError{Path: s.d.Path(prefdata.FileQueue), Line: r.Line, Err: err}
			if bad == nil {
				return le
			}
			bad(le)
			return nil
		}
		if seen[p.ID] {
			return nil
		}
		seen[p.ID] = true
		return fn(p)
	})
}

// QueuedPair decodes one line of [prefdata.FileQueue] (a
// [prefdata.QueueRecord]) into its pair, filling in the responses it gives
// by reference from the FileResponses records its Sources locate: one read
// each, no scan and no index, so a reader in another process than the
// pipeline's (the label server) sees records appended a moment ago. Lines
// written before references (whole pairs) come back as they are.
func QueuedPair(d *prefdata.RunDir, line []byte) (prefdata.Pair, error) {
	q, ok := prefdata.DecodeQueueRecord(line)
	if !ok { // not the shape the pipeline writes: encoding/json's, or its error
		if err := json.Unmarshal(line, &q); err != nil {
			return prefdata.Pair{}, err
		}
	}
	p := q.Pair
	if p.ID == "" {
		return p, fmt.Errorf("pair without an id")
	}
	if !prefdata.IsRef(p.Chosen) && !prefdata.IsRef(p.Rejected) {
		return p, nil
	}
	found := map[string]prefdata.Response{}
	for _, src := range q.Sources {
		rs, err := responsesAt(d, src)
		if err != nil {
			return p, fmt.Errorf("pair %s: %w", p.ID, err)
		}
		for _, r := range rs {
			found[r.ID] = r
		}
	}
	for _, r := range []*prefdata.Response{&p.Chosen, &p.Rejected} {
		if !prefdata.IsRef(*r) {
			continue
		}
		full, ok := found[r.ID]
		if !ok {
			return p, fmt.Errorf("pair %s: response %s is not in the %s records the line names", p.ID, r.ID, prefdata.FileResponses)
		}
		*r = full
	}
	return p, nil
}

// responsesAt reads the responses of the FileResponses record src
// locates.
func responsesAt(d *prefdata.RunDir, src prefdata.RecordRef) ([]prefdata.Response, error) {
	line, err := d.ReadLine(prefdata.FileResponses, src.Offset)
	if err != nil {
		return nil, err
	}
	if rec, rs, ok := prefdata.DecodeResponsesLine(line); ok && rec.Key == src.Key {
		return rs, nil
	}
	// Another shape, or another record: ReadRecordAt says which.
	rec, err := d.ReadRecordAt(prefdata.FileResponses, src)
	if err != nil {
		return nil, err
	}
	var rs []prefdata.Response
	if err := json.Unmarshal(rec.Value, &rs); err != nil {
		return nil, fmt.Errorf("%s record %s: %w", prefdata.FileResponses, src.Key, err)
	}
	return rs, nil
}

// Failures calls fn for every failure record.
func (s *Store) Failures(fn func(prefdata.Failure) error) error {
	return scan(s, prefdata.FileFailures, func(_ int, f prefdata.Failure) error { return fn(f) })
}
