package prefdata

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"reflect"
	"testing"

	"github.com/prefdata/prefdata/internal/jsonw"
)

// checkDecode fails t when the hand decoder's answer for line differs from
// encoding/json's: the value, or success against failure.
func checkDecode(t *testing.T, line []byte) (fast bool) {
	t.Helper()
	var want PairsRecord
	wantErr := json.Unmarshal(line, &want)
	d := dec{jsonw.Dec{B: line}}
	var got PairsRecord
	if d.pairsRecord(&got) && d.End() {
		fast = true
		if wantErr != nil {
			t.Fatalf("%s: decoded by hand, encoding/json says %v", line, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %#v\nwant %#v", line, got, want)
		}
	}
	if rec, ok := DecodePairsRecord(line); ok != fast || (ok && !reflect.DeepEqual(rec, want)) {
		t.Fatalf("%s: DecodePairsRecord = %#v, %v; encoding/json %#v, %v", line, rec, ok, want, wantErr)
	}
	var all PairsRecord
	err := unmarshalPairsRecord(line, &all)
	if (err != nil) != (wantErr != nil) || (err == nil && !reflect.DeepEqual(all, want)) {
		t.Fatalf("%s: unmarshalPairsRecord = %#v, %v; encoding/json %#v, %v", line, all, err, want, wantErr)
	}
	return fast
}

// mutate changes line in one of the ways a torn, hand-edited or foreign
// line differs from the ones this package writes.
func mutate(r *rand.Rand, line []byte) []byte {
	b := append([]byte(nil), line...)
	if len(b) == 0 {
		return b
	}
	i := r.Intn(len(b))
	switch r.Intn(9) {
	case 0:
		b[i] ^= byte(1 << r.Intn(8))
	case 1:
		return append(b[:i], b[i+1:]...)
	case 2:
		k := r.Intn(3)
		return append(b[:i], append([]byte(" \n\t"[k:k+1]), b[i:]...)...)
	case 3:
		return b[:i]
	case 4:
		return bytes.Replace(b, []byte(`"text"`), []byte(`"Text"`), 1)
	case 5:
		return bytes.Replace(b, []byte(`"margin":`), []byte(`"margin":1,"margin":`), 1)
	case 6:
		for _, k := range []string{`"sampling":{}`, `"usage":{`, `"pairs":[`, `"stage":"`} {
			if j := bytes.Index(b, []byte(k)); j >= 0 && r.Intn(2) == 0 {
				colon := j + bytes.IndexByte(b[j:], ':') + 1
				return append(append(b[:colon:colon], "null,\"x\":"...), b[colon:]...)
			}
		}
		return bytes.Replace(b, []byte(`"sample":0`), []byte(`"sample":null`), 1)
	case 7:
		return bytes.Replace(b, []byte(`"sample":1`), []byte(`"sample":1.0`), 1)
	default:
		return bytes.Replace(b, []byte(`"text":"`), []byte(`"text":"\ud83d\ude00`), 1)
	}
	return b
}

// The hand decoder of done records gives encoding/json's value whenever it
// does not give up, and gives up on what it does not know.
func TestDecodePairsRecordMatchesEncodingJSON(t *testing.T) {
	g := gen{rand.New(rand.NewSource(5))}
	r := rand.New(rand.NewSource(6))
	fast := 0
	const n = 3000
	for range n {
		rec := PairsRecord{V: g.r.Intn(3), Key: g.str(), PromptID: g.str(), Pos: int64(g.r.Intn(3)), RunKey: g.str(), Run: g.str(), Pairs: g.pairs(), Sources: g.sources()}
		line, err := marshal(rec)
		if err != nil {
			continue // a pair with a stage out of range
		}
		if checkDecode(t, line) {
			fast++
		}
		for range 10 {
			checkDecode(t, mutate(r, line))
		}
	}
	if fast < n*9/10 {
		t.Errorf("the hand decoder took %d of %d records this package wrote", fast, n)
	}
}

func FuzzDecodePairsRecord(f *testing.F) {
	g := gen{rand.New(rand.NewSource(7))}
	for range 20 {
		line, err := marshal(PairsRecord{V: 2, Key: g.str(), PromptID: g.str(), Pairs: g.pairs()})
		if err == nil {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) { checkDecode(t, line) })
}

// The hand decoder of a generation record, which a resumed run uses to fill
// in the references of its pairs, gives encoding/json's value, or gives up.
func TestDecodeResponsesRecordMatchesEncodingJSON(t *testing.T) {
	g := gen{rand.New(rand.NewSource(8))}
	r := rand.New(rand.NewSource(9))
	fast := 0
	const n = 2000
	for range n {
		val, err := json.Marshal([]Response{g.response(), g.response()})
		if err != nil {
			t.Fatal(err)
		}
		line := CacheRecord{V: 2, Key: g.str(), PromptID: g.str(), Component: g.str(), Run: g.str(), Value: val}.appendJSON(nil)
		for k, l := range [][]byte{line, mutate(r, line)} {
			var want CacheRecord
			wantErr := json.Unmarshal(l, &want)
			var wantRs []Response
			if wantErr == nil {
				wantErr = json.Unmarshal(want.Value, &wantRs)
			}
			var key string
			var rs []Response
			d := dec{jsonw.Dec{B: l}}
			if !d.responsesRecord(&key, &rs) || !d.End() {
				continue
			}
			if k == 0 {
				fast++
			}
			if wantErr != nil || key != want.Key || !reflect.DeepEqual(rs, wantRs) {
				t.Fatalf("%s: hand decoder %q %#v; encoding/json %q %#v, %v", l, key, rs, want.Key, wantRs, wantErr)
			}
		}
	}
	if fast < n*9/10 {
		t.Errorf("the hand decoder took %d of %d records this package wrote", fast, n)
	}
}

// The exported decoders of the responses and scores journals' lines give
// encoding/json's record and value, or give up.
func TestDecodeJournalLinesMatchEncodingJSON(t *testing.T) {
	g := gen{rand.New(rand.NewSource(10))}
	r := rand.New(rand.NewSource(11))
	fastResponses, fastCandidates := 0, 0
	const n = 2000
	for range n {
		rec := CacheRecord{V: g.r.Intn(4), Key: g.str(), PromptID: g.str(), Component: g.str(), Run: g.str(), Refs: g.maybe()}
		val, err := json.Marshal([]Response{g.response(), g.response()})
		if err != nil {
			t.Fatal(err)
		}
		rec.Value = val
		line := rec.appendJSON(nil)
		for k, l := range [][]byte{line, mutate(r, line), mutate(r, line)} {
			var want CacheRecord
			wantErr := json.Unmarshal(l, &want)
			var wantRs []Response
			if wantErr == nil {
				wantErr = json.Unmarshal(want.Value, &wantRs)
			}
			got, rs, ok := DecodeResponsesLine(l)
			if !ok {
				continue
			}
			if k == 0 {
				fastResponses++
			}
			want.Value = nil
			if wantErr != nil || !reflect.DeepEqual(got, want) || !reflect.DeepEqual(rs, wantRs) {
				t.Fatalf("%s: hand decoder %#v %#v; encoding/json %#v %#v, %v", l, got, rs, want, wantRs, wantErr)
			}
		}

		c := g.candidate()
		if val, err = json.Marshal(c); err != nil {
			t.Fatal(err)
		}
		if g.maybe() {
			val = []byte("null")
		}
		rec.Value = val
		line = rec.appendJSON(nil)
		for k, l := range [][]byte{line, mutate(r, line), mutate(r, line)} {
			var want struct {
				CacheRecord
				Value *Candidate `json:"value"`
			}
			wantErr := json.Unmarshal(l, &want)
			got, c, ok := DecodeCandidateLine(l)
			if !ok {
				continue
			}
			if k == 0 {
				fastCandidates++
			}
			if wantErr != nil || !reflect.DeepEqual(got, want.CacheRecord) || !reflect.DeepEqual(c, want.Value) {
				t.Fatalf("%s: hand decoder %#v %#v; encoding/json %#v %#v, %v", l, got, c, want.CacheRecord, want.Value, wantErr)
			}
		}
	}
	if fastResponses < n*9/10 || fastCandidates < n*9/10 {
		t.Errorf("the hand decoders took %d and %d of %d lines this package wrote", fastResponses, fastCandidates, n)
	}
	for _, l := range []string{`{"key":"k"}`, `{"key":"k","value":[]} x`, `{"key":"k","Value":[]}`} {
		if _, _, ok := DecodeResponsesLine([]byte(l)); ok {
			t.Errorf("%s: decoded", l)
		}
		if _, _, ok := DecodeCandidateLine([]byte(l)); ok {
			t.Errorf("%s: decoded", l)
		}
	}
}

// checkOutput fails t when decodeOutput's answer for b differs from
// encoding/json's; it reports whether the hand decoder took b.
func checkOutput[T any](t *testing.T, b []byte) bool {
	t.Helper()
	return checkDecoded(t, b, func(b []byte) (v T, ok bool) {
		ok = decodeOutput(b, &v)
		return v, ok
	})
}

// The cached outputs a resumed run reads back most (a prompt filter's, a
// generator's, a filter's) decode by hand as with encoding/json, or the
// hand decoder gives up; the pipeline's own encoding is taken by hand.
func TestDecodeOutputMatchesEncodingJSON(t *testing.T) {
	g := gen{rand.New(rand.NewSource(12))}
	r := rand.New(rand.NewSource(13))
	fast := map[string]int{}
	const n = 2000
	for range n {
		s1 := Stage1Result{Prompt: g.prompt(), Rejected: g.maybe(), Reason: g.str()}
		rs := []Response{g.response(), g.response()}
		c := g.candidate()
		for _, x := range []struct {
			name  string
			v     any
			check func(*testing.T, []byte) bool
		}{
			{"stage 1", &s1, checkOutput[Stage1Result]},
			{"responses", &rs, checkOutput[[]Response]},
			{"candidate", &c, checkOutput[Candidate]},
		} {
			var b []byte
			var err error
			switch v := x.v.(type) {
			case *Stage1Result:
				b, err = marshal(*v) // as cached writes a prompt filter's output
			case *[]Response:
				b, _, err = encodeOutput(v, nil)
			case *Candidate:
				b, _, err = encodeOutput(v, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			b = append([]byte(nil), b...)
			if x.check(t, b) {
				fast[x.name]++
			}
			x.check(t, mutate(r, b))
			x.check(t, mutate(r, b))
		}
	}
	for _, name := range []string{"stage 1", "responses", "candidate"} {
		if fast[name] < n*9/10 {
			t.Errorf("%s: %d of %d outputs as the pipeline writes them decoded by hand", name, fast[name], n)
		}
	}
}

// checkDecoded fails t when a hand decoder's answer for line differs from
// encoding/json's into a T; it reports whether the hand decoder took line.
func checkDecoded[T any](t *testing.T, line []byte, decode func([]byte) (T, bool)) bool {
	t.Helper()
	var want T
	wantErr := json.Unmarshal(line, &want)
	got, ok := decode(line)
	if !ok {
		var zero T
		if !reflect.DeepEqual(got, zero) {
			t.Fatalf("%s: gave up but returned %#v", line, got)
		}
		return false
	}
	if wantErr != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n hand decoder %#v\nencoding/json %#v, %v", line, got, want, wantErr)
	}
	return true
}

// The hand decoders of the queue's and the prompts journal's lines (which
// the card's summary and the label server read whole) give encoding/json's
// value whenever they do not give up, and take what this package writes.
func TestDecodeQueueAndPromptRecordsMatchEncodingJSON(t *testing.T) {
	g := gen{rand.New(rand.NewSource(14))}
	r := rand.New(rand.NewSource(15))
	fastQueue, fastPrompts := 0, 0
	const n = 2000
	for range n {
		p := g.pair()
		if g.maybe() {
			p.Chosen = Response{ID: p.Chosen.ID} // written as a reference
		}
		q := QueueRecord{Pair: p, V: g.r.Intn(3), Sources: g.sources()}
		if line, err := q.MarshalJSON(); err == nil {
			if checkDecoded(t, line, DecodeQueueRecord) {
				fastQueue++
			}
			for range 5 {
				checkDecoded(t, mutate(r, line), DecodeQueueRecord)
			}
		}
		rec := PromptRecord{V: g.r.Intn(3), Key: g.str(), Prompt: g.prompt()}
		if g.maybe() {
			rec.DroppedBy, rec.Reason = g.str(), g.str()
		}
		e := enc{}
		if e.promptRecord(&rec); e.err != nil {
			t.Fatal(e.err)
		}
		if checkDecoded(t, e.b, DecodePromptRecord) {
			fastPrompts++
		}
		for range 5 {
			checkDecoded(t, mutate(r, e.b), DecodePromptRecord)
		}
	}
	if fastQueue < n*9/10 || fastPrompts < n*9/10 {
		t.Errorf("the hand decoders took %d queue and %d prompt records of %d this package wrote", fastQueue, fastPrompts, n)
	}
	for _, l := range []string{`{"id":"p","v":1,"v":2}`, `{"id":"p"} x`, `{"ID":"p"}`, `null`, `{"key":"k","prompt":{},"extra":1}`} {
		if q, ok := DecodeQueueRecord([]byte(l)); ok {
			t.Errorf("%s: decoded as %#v", l, q)
		}
		if rec, ok := DecodePromptRecord([]byte(l)); ok {
			t.Errorf("%s: decoded as %#v", l, rec)
		}
	}
}
