package prefdata

import "encoding/json"

// RecordVersion is the version of the journal records this package writes,
// in their "v" field. Lines without one (v 0) were written before the run
// store had versions; they are read the same way (see the README's
// "Versions and upgrading"). Version 3 lines may hold responses as {"id"}
// references with the Sources that locate them (PairsRecord, QueueRecord);
// version 2 lines hold whole responses and are read as they are.
const RecordVersion = 3

// CacheRecord is one line of FileResponses, FileStage1, FileScores,
// FileLabels and FileCalls: the output of a fingerprinted component (or of
// one paid call) for one input, found again by Key.
type CacheRecord struct {
	V         int    `json:"v,omitempty"`
	Key       string `json:"key"`
	PromptID  string `json:"prompt_id"`
	Component string `json:"component"`
	// Run is the RunID of the run that wrote the record.
	Run string `json:"run,omitempty"`
	// Refs is set when responses in Value are references ({"id": ...}
	// only) to responses stored before: the component's input, whose
	// responses come from FileResponses. See [ExpandRefs].
	Refs  bool            `json:"refs,omitempty"`
	Value json.RawMessage `json:"value"`
}

// appendJSON appends rec as one JSON line, Value as it is (it must be
// valid JSON: json.Marshal's output), without a second pass over it. The
// strings are escaped as encoding/json escapes them.
func (rec CacheRecord) appendJSON(b []byte) []byte {
	e := enc{b: append(b, `{"v":`...)}
	e.int(rec.V)
	e.key(`,"key":`)
	e.str(rec.Key)
	e.key(`,"prompt_id":`)
	e.str(rec.PromptID)
	e.key(`,"component":`)
	e.str(rec.Component)
	if rec.Run != "" {
		e.key(`,"run":`)
		e.str(rec.Run)
	}
	if rec.Refs {
		e.key(`,"refs":true`)
	}
	e.key(`,"value":`)
	if len(rec.Value) == 0 {
		e.key("null")
	}
	e.b = append(e.b, rec.Value...)
	return append(e.b, '}')
}

// PairsRecord is one line of FilePairs: a prompt finished by a run, with
// its pairs (none when nothing came of it). Each response text is stored
// once: a response of a pair that FileResponses holds unchanged is written
// as a reference ({"id": ...}, see [IsRef]), and Sources locates the
// FileResponses records holding the referenced responses;
// [RunDir.FillRefs] fills them in (package runstore's readers and a
// resumed run do). A response that is not there unchanged (a filter
// changed it) is written whole, and so are all of them on lines written
// before references.
type PairsRecord struct {
	V int `json:"v,omitempty"`
	// Key is the done key: the run key, the prompt's ID and messages.
	Key      string `json:"key"`
	PromptID string `json:"prompt_id"`
	// Pos is the prompt's position in the source (every item the source
	// yielded counts): the shards of a sharded run read one source, so
	// their pairs merge in source order by it.
	Pos int64 `json:"pos,omitempty"`
	// RunKey is the configuration that made these pairs ([Manifest.RunKey]):
	// a later run with another configuration (one more model) finishes the
	// prompt again, and its line is the current one.
	RunKey string `json:"run_key,omitempty"`
	Run    string `json:"run,omitempty"`
	Pairs  []Pair `json:"pairs"`
	// Sources are the FileResponses records that hold the pairs'
	// referenced responses.
	Sources []RecordRef `json:"sources,omitempty"`
}

// MarshalJSON writes the record as the pipeline journals it: responses
// that only have an ID are written as references ({"id": ...}).
func (r PairsRecord) MarshalJSON() ([]byte, error) {
	e := enc{b: make([]byte, 0, 1024)}
	e.pairsRecord(&r, newRefSet(nil)) // a response with only an ID is written as a reference
	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}

// PromptRecord is one line of FilePrompts: a prompt read by stage 1, kept
// (DroppedBy empty) or dropped and why.
type PromptRecord struct {
	V int `json:"v,omitempty"`
	// Key is [PromptKey] of the prompt; empty on lines of version 0.
	Key       string `json:"key,omitempty"`
	Prompt    Prompt `json:"prompt"`
	DroppedBy string `json:"dropped_by,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// Stage1Result is a prompt filter's decision: the Value of a FileStage1
// record.
type Stage1Result struct {
	Prompt   Prompt `json:"prompt"`
	Rejected bool   `json:"rejected,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// PromptKey tells prompts apart by ID and content (two files may number
// different prompts alike): the key of a [PromptRecord].
func PromptKey(p Prompt) string { return p.ID + " " + ContentID(p.Messages) }
