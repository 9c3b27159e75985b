package prefdata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/prefdata/prefdata/internal/jsonw"
)

// refer finds the responses of ps that FileResponses holds unchanged,
// written by one of the run's generators: it appends them to marked
// (pointers into ps, to be written as references, see [refSet]) and
// returns the records holding them. ps is not changed.
//
// gens, when not nil, are the generations of prompt (job.gens): pairs of
// that prompt are matched against them in memory, nothing read, a response
// being stored unchanged when one of the generation's responses equals it.
// Pairs of any other prompt are matched against the generation records'
// lines, read through the index: a response is stored unchanged when its
// JSON is in the line as it is (a record's value is written by the same
// encoder), so no record is decoded. The generation records are looked up
// once per prompt, however many pairs the prompt has.
func (r *run) refer(ps []Pair, prompt *Prompt, gens []genRecord, marked []*Response) (_ []*Response, srcs []RecordRef, err error) {
	d := r.p.Dir
	if d == nil {
		return marked, nil, nil
	}
	type want struct {
		pair int
		r    *Response
		enc  []byte // its JSON, for a match against a line
		done bool
	}
	var small [4]want
	wants := small[:0]
	for i := range ps {
		for _, w := range [2]*Response{&ps[i].Chosen, &ps[i].Rejected} {
			if w.ID == "" || IsRef(*w) {
				continue
			}
			wants = append(wants, want{pair: i, r: w})
		}
	}
	defer func() {
		for _, w := range wants {
			if w.enc != nil {
				putBuf(w.enc)
			}
		}
	}()
	left := len(wants)
	for i := 0; i < len(ps) && left > 0; i++ {
		if i > 0 && ps[i].Prompt.ID == ps[i-1].Prompt.ID {
			continue // the prompt's records were looked at with the pair before
		}
		p := &ps[i].Prompt
		inMemory := gens != nil && p.ID == prompt.ID && slices.Equal(p.Messages, prompt.Messages)
		for g, gen := range r.p.Generators {
			if left == 0 {
				break
			}
			fp, ok := gen.(Fingerprinter)
			if !ok {
				continue
			}
			var (
				src  RecordRef
				line []byte
			)
			if inMemory {
				if src = gens[g].ref; src.Key == "" {
					continue // not stored (the generator failed)
				}
			} else {
				// The key generateOne's cached computes for this generator.
				input := []any{p.ID, p.Messages}
				if r.genKeys[g] != "" {
					input = append(input, r.genKeys[g])
				}
				key := cacheKey(FileResponses, fp, input)
				off, l, ok, err := d.locate(FileResponses, key)
				if err != nil {
					return marked, nil, storageError(d, FileResponses, "read", err)
				}
				if k, fast := fastKey(l); !ok || !fast || k != key {
					continue
				}
				src, line = RecordRef{Key: key, Offset: off}, l
			}
			used := false
			for k := range wants {
				w := &wants[k]
				if w.done || ps[w.pair].Prompt.ID != p.ID {
					continue
				}
				var match bool
				if inMemory {
					match = holds(gens[g].rs, w.r)
				} else {
					if w.enc == nil {
						if w.enc, err = marshal(*w.r); err != nil {
							w.enc, w.done = nil, true // not JSON: written whole, the line will say why
							left--
							continue
						}
					}
					match = bytes.Contains(line, w.enc)
				}
				if match {
					marked = append(marked, w.r)
					w.done = true
					used = true
					left--
				}
			}
			if used {
				srcs = append(srcs, src)
			}
		}
	}
	return marked, srcs, nil
}

// holds reports whether rs has a response equal to w.
func holds(rs []Response, w *Response) bool {
	for i := range rs {
		if rs[i].ID == w.ID && responsesEqual(&rs[i], w) {
			return true
		}
	}
	return false
}

// FillRefs fills in the responses of ps written as references ({"id": ...}
// only, see [IsRef]) from the FileResponses records that sources locate (a
// [PairsRecord]'s or a [QueueRecord]'s Sources): one read each, the
// record's key checked, no index and no scan. A reference that none of the
// records holds stays as it is (a response that only has an ID reads back
// so). An error names the FileResponses record that could not be read.
func (d *RunDir) FillRefs(ps []Pair, sources []RecordRef) error {
	if len(sources) == 0 {
		return nil
	}
	refs := false
	for i := range ps {
		if IsRef(ps[i].Chosen) || IsRef(ps[i].Rejected) {
			refs = true
			break
		}
	}
	if !refs {
		return nil
	}
	var found []Response
	for _, src := range sources {
		rs, err := d.responsesAt(src)
		if err != nil {
			return err
		}
		found = append(found, rs...)
	}
	fill := func(x *Response) {
		if !IsRef(*x) {
			return
		}
		for i := len(found) - 1; i >= 0; i-- {
			if found[i].ID == x.ID {
				*x = found[i]
				return
			}
		}
	}
	for i := range ps {
		fill(&ps[i].Chosen)
		fill(&ps[i].Rejected)
	}
	return nil
}

// responsesAt returns the responses of the FileResponses record ref
// locates, checking that the line there is the record with ref's key.
func (d *RunDir) responsesAt(ref RecordRef) ([]Response, error) {
	line, err := d.j.ReadLineInto(FileResponses, ref.Offset, getBuf())
	if err != nil {
		return nil, fmt.Errorf("prefdata: %s at byte %d: %w", d.Path(FileResponses), ref.Offset, err)
	}
	defer putBuf(line) // the responses' strings are copies
	var (
		key string
		rs  []Response
	)
	if dd := (dec{jsonw.Dec{B: line}}); !dd.responsesRecord(&key, &rs) || !dd.End() {
		var rec CacheRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, fmt.Errorf("prefdata: %s at byte %d: %w", d.Path(FileResponses), ref.Offset, err)
		}
		key, rs = rec.Key, nil
		if err := json.Unmarshal(rec.Value, &rs); err != nil {
			return nil, fmt.Errorf("prefdata: %s at byte %d: value: %w", d.Path(FileResponses), ref.Offset, err)
		}
	}
	if key != ref.Key {
		return nil, fmt.Errorf("prefdata: %s at byte %d: the record is %q, not %q", d.Path(FileResponses), ref.Offset, key, ref.Key)
	}
	return rs, nil
}
