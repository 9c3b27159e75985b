package prefdata

import (
	"context"
	"encoding/json"
	"fmt"
)

// QueueRecord is one line of FileQueue: a pair waiting for people. Each
// response text is stored once: a response of the pair that FileResponses
// holds unchanged is written as a reference ({"id": ...}, see [IsRef]), and
// Sources locates the FileResponses records holding the referenced
// responses, so that a reader fills them in with one read each, without an
// index or a scan (package runstore's [QueuedPair] does). Lines written
// before records had versions (V 0) hold the whole pair.
type QueueRecord struct {
	Pair
	V int `json:"v,omitempty"`
	// Sources are the FileResponses records that hold the pair's
	// referenced responses.
	Sources []RecordRef `json:"sources,omitempty"`
}

// RecordRef locates a line of a journal: the record's key and the byte
// offset of its line (journals are append-only, so an offset stays valid).
type RecordRef struct {
	Key    string `json:"key"`
	Offset int64  `json:"offset"`
}

// MarshalJSON writes the pair's fields, then v and sources, with
// references written as {"id": ...}.
func (q QueueRecord) MarshalJSON() ([]byte, error) {
	e := enc{b: make([]byte, 0, 1024)}
	e.pair(&q.Pair, newRefSet(nil)) // a response with only an ID is written as a reference
	if e.err != nil {
		return nil, e.err
	}
	e.b = e.b[:len(e.b)-1] // the pair's closing brace: more fields follow
	if q.V != 0 {
		e.key(`,"v":`)
		e.int(q.V)
	}
	if len(q.Sources) > 0 {
		e.key(`,"sources":`)
		e.recordRefs(q.Sources)
	}
	e.b = append(e.b, '}')
	return e.b, nil
}

// NewQueueRecord returns the queue line of p for the run directory d. When
// ctx is a context the Pipeline passed to a component (a Labeler, say) and
// the pipeline writes to d, the responses of p that its generators stored
// in FileResponses unchanged become references; otherwise the line holds
// the whole pair. Package label's Human uses it for the pairs it queues.
func NewQueueRecord(ctx context.Context, d *RunDir, p Pair) (QueueRecord, error) {
	if cj, ok := ctx.Value(callsKey{}).(*callJournal); ok && cj.r.p.Dir == d && d != nil {
		return cj.r.queueRecord(p)
	}
	return QueueRecord{Pair: p, V: RecordVersion}, nil
}

// queueRecord returns the queue line of p: its responses stored unchanged
// in FileResponses by one of the run's generators become references (see
// refer).
func (r *run) queueRecord(p Pair) (QueueRecord, error) {
	ps := []Pair{p}
	marked, srcs, err := r.refer(ps, nil, nil, nil)
	if err != nil {
		return QueueRecord{Pair: p, V: RecordVersion}, err
	}
	for _, w := range marked {
		*w = Response{ID: w.ID}
	}
	return QueueRecord{Pair: ps[0], V: RecordVersion, Sources: srcs}, nil
}

// cacheKey is the key under which cached stores a component's output for
// an input in the named journal.
func cacheKey(file string, fp Fingerprinter, input []any) string {
	// hashN(32, file, fingerprint, input...), without the slice.
	e := enc{b: getBuf()}
	e.str(file)
	e.b = append(e.b, '\n')
	e.str(fp.Fingerprint())
	e.b = append(e.b, '\n')
	for _, p := range input {
		e.hashPart(p)
	}
	return e.sumHex(32)
}

// locate returns the offset and the line of the latest record of the named
// journal with the key.
func (d *RunDir) locate(name, key string) (int64, []byte, bool, error) {
	x, err := d.index(name)
	if err != nil {
		return 0, nil, false, err
	}
	off, ok := x.Get(key)
	if !ok {
		return 0, nil, false, nil
	}
	line, err := d.j.ReadLine(name, off)
	if err != nil {
		return 0, nil, false, err
	}
	return off, line, true, nil
}

// ReadRecordAt reads the cache record of the named journal that ref
// locates, checking that the line there is the record with ref's key.
func (d *RunDir) ReadRecordAt(name string, ref RecordRef) (CacheRecord, error) {
	line, err := d.ReadLine(name, ref.Offset)
	if err != nil {
		return CacheRecord{}, err
	}
	var rec CacheRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return CacheRecord{}, fmt.Errorf("prefdata: %s at byte %d: %w", d.Path(name), ref.Offset, err)
	}
	if rec.Key != ref.Key {
		return CacheRecord{}, fmt.Errorf("prefdata: %s at byte %d: the record is %q, not %q", d.Path(name), ref.Offset, rec.Key, ref.Key)
	}
	return rec, nil
}
