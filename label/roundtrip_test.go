package label

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

// queuedRun runs the pipeline once so that every pair waits for people, and
// returns the run directory and the queue.
func queuedRun(t *testing.T) (*prefdata.RunDir, []prefdata.Pair) {
	t.Helper()
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := humanPipeline(dir, &prefdatatest.Sink{}, HumanOptions{}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	q, err := OpenQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	if q.Len() < 3 {
		t.Fatalf("only %d pairs queued", q.Len())
	}
	return dir, q.Pairs()
}

// collect runs the pipeline again and returns the pairs it writes by ID.
func collect(t *testing.T, dir *prefdata.RunDir, pol Policy) map[string]prefdata.Pair {
	t.Helper()
	sink := &prefdatatest.Sink{}
	if _, err := humanPipeline(dir, sink, HumanOptions{Policy: pol}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := map[string]prefdata.Pair{}
	for _, p := range sink.Pairs() {
		if _, dup := out[p.ID]; dup {
			t.Errorf("pair %s written twice", p.ID)
		}
		out[p.ID] = p
	}
	return out
}

// lsExport is a Label Studio JSON export ("Export → JSON") as documented in
// Label Studio's "Task format" guide: each task's data as imported, its
// annotations with result[] (from_name, to_name, type, value), completed_by,
// lead_time, was_cancelled, and the predictions. %s are filled with the
// exported tasks' data.
const lsExport = `[
  {
    "id": 101,
    "created_at": "2026-01-05T10:00:00.000000Z",
    "updated_at": "2026-01-05T10:20:00.000000Z",
    "project": 7,
    "data": %s,
    "annotations": [
      {
        "id": 9001,
        "completed_by": 3,
        "result": [
          {"id": "aB1", "from_name": "pairwise", "to_name": "pairwise", "type": "pairwise", "value": {"selected": "%s"}, "origin": "manual"},
          {"id": "aB2", "from_name": "strength", "to_name": "prompt", "type": "choices", "value": {"choices": ["Much better"]}, "origin": "manual"},
          {"id": "aB3", "from_name": "comment", "to_name": "prompt", "type": "textarea", "value": {"text": ["the other one rambles"]}, "origin": "manual"}
        ],
        "was_cancelled": false,
        "ground_truth": false,
        "created_at": "2026-01-05T10:19:00.000000Z",
        "updated_at": "2026-01-05T10:19:30.000000Z",
        "lead_time": 12.5,
        "result_count": 0,
        "task": 101
      },
      {
        "id": 9002,
        "completed_by": {"id": 4, "email": "bo@example.com"},
        "result": [
          {"id": "cD1", "from_name": "pairwise", "to_name": "pairwise", "type": "pairwise", "value": {"selected": "%s"}}
        ],
        "was_cancelled": false,
        "lead_time": 8.0,
        "task": 101
      },
      {
        "id": 9003,
        "completed_by": 5,
        "result": [],
        "was_cancelled": true,
        "lead_time": 1.0,
        "task": 101
      }
    ],
    "predictions": []
  },
  {
    "id": 102,
    "data": %s,
    "annotations": [
      {
        "id": 9004,
        "completed_by": 3,
        "result": [
          {"id": "eF1", "from_name": "overall", "to_name": "prompt", "type": "choices", "value": {"choices": ["Both bad"]}}
        ],
        "lead_time": 5.25,
        "task": 102
      }
    ]
  },
  {
    "id": 103,
    "data": %s,
    "annotations": [
      {
        "id": 9005,
        "completed_by": 3,
        "result": [
          {"id": "gH1", "from_name": "pairwise", "to_name": "pairwise", "type": "pairwise", "value": {"selected": "middle"}}
        ],
        "task": 103
      }
    ]
  }
]`

func TestLabelStudioRoundTrip(t *testing.T) {
	dir, queued := queuedRun(t)
	var buf bytes.Buffer
	if err := ExportLabelStudio(&buf, queued); err != nil {
		t.Fatal(err)
	}
	var tasks []LSTask
	if err := json.Unmarshal(buf.Bytes(), &tasks); err != nil {
		t.Fatal(err)
	}
	if len(tasks) != len(queued) {
		t.Fatalf("%d tasks for %d pairs", len(tasks), len(queued))
	}
	swaps := 0
	for i, task := range tasks {
		p := queued[i]
		d := task.Data
		if d.PairID != p.ID || !samePair(p, d.LeftID, d.RightID) || d.Prompt != p.Prompt.Text() {
			t.Fatalf("task %d data = %+v", i, d)
		}
		// The prediction selects the side where the AI's chosen response is.
		if len(task.Predictions) != 1 || len(task.Predictions[0].Result) != 1 {
			t.Fatalf("task %d predictions = %+v", i, task.Predictions)
		}
		res := task.Predictions[0].Result[0]
		var v struct{ Selected string }
		_ = json.Unmarshal(res.Value, &v)
		wantSel := "left"
		if d.RightID == p.Chosen.ID {
			wantSel = "right"
			swaps++
		}
		// Label Studio's Pairwise results name the control itself as to_name
		// (its SDK: "<Pairwise> tag has equal from_name and to_name"), not
		// the two objects it compares.
		if res.Type != "pairwise" || res.FromName != LSPairwise || res.ToName != LSPairwise || v.Selected != wantSel {
			t.Errorf("task %d prediction %+v selects %q, want %q", i, res, v.Selected, wantSel)
		}
	}
	t.Logf("%d of %d tasks show the AI's choice on the right", swaps, len(tasks))
	for _, tag := range []string{`<Pairwise name="pairwise" toName="left,right"`, `<Choices name="overall"`, `<Choice value="Tie"/>`, `<Choice value="Both bad"/>`, `value="$left"`} {
		if !strings.Contains(LabelStudioConfig(), tag) {
			t.Errorf("config lacks %s", tag)
		}
	}

	// Label Studio's export: task 0 flipped by user 3 (much better) and by
	// bo (who keeps the AI's order), a cancelled annotation; task 1 both bad;
	// task 2 a broken annotation.
	data := func(i int) string { b, _ := json.Marshal(tasks[i].Data); return string(b) }
	side := func(i int, id string) string {
		if tasks[i].Data.LeftID == id {
			return "left"
		}
		return "right"
	}
	export := fmt.Sprintf(lsExport, data(0), side(0, queued[0].Rejected.ID), side(0, queued[0].Chosen.ID), data(1), data(2))
	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := OpenQueue(dir)
	st, err := ImportLabelStudio(store, q, strings.NewReader(export), "export.json")
	if err == nil || !strings.Contains(err.Error(), "export.json: task 2 (id 103") || !strings.Contains(err.Error(), "annotation 0 (id 9005)") || !strings.Contains(err.Error(), `"middle"`) {
		t.Errorf("import error = %v, want the bad annotation named", err)
	}
	if st.Imported != 3 || st.Skipped != 1 {
		t.Fatalf("import stats = %+v", st)
	}
	// Importing again adds nothing.
	st2, _ := ImportLabelStudio(store, q, strings.NewReader(export), "export.json")
	if st2.Imported != 0 || st2.Existing != 3 {
		t.Fatalf("second import = %+v", st2)
	}
	ls := store.ForPair(queued[0].ID)
	if len(ls) != 2 || ls[0].Annotator != "labelstudio:3" || ls[0].Strength != Much || ls[0].Comment != "the other one rambles" || ls[0].LeadTime != 12.5 || ls[1].Annotator != "labelstudio:bo@example.com" {
		t.Fatalf("labels = %+v", ls)
	}

	// The pipeline turns them into pairs. Pair 0 has one vote each way:
	// with the tie rule TieKeepAI the AI's order stands.
	pol := Policy{Labels: 1, Tie: TieKeepAI}
	got := collect(t, dir, pol)
	p0, ok := got[queued[0].ID]
	if !ok || p0.Chosen.ID != queued[0].Chosen.ID || len(p0.Provenance.Annotators) != 2 || p0.Provenance.Stage != prefdata.StageLabel {
		t.Errorf("pair 0 = %+v (ok %v)", p0.Provenance, ok)
	}
	if _, ok := got[queued[1].ID]; ok {
		t.Error("the both-bad pair was written")
	}
	if _, ok := got[queued[2].ID]; ok {
		t.Error("the pair with the broken annotation was written")
	}
}

// argillaExport is what Argilla's Python SDK writes with
// dataset.records.to_json() (each record's to_dict()): fields, metadata,
// suggestions keyed by question, and responses keyed by question, one entry
// per user with its status. %s are the exported records' parts.
const argillaExport = `[
  {
    "id": "%s",
    "fields": %s,
    "metadata": %s,
    "suggestions": {"preference": {"value": "response_a", "score": 0.55, "agent": "judge"}},
    "responses": {
      "preference": [
        {"value": "%s", "user_id": "7c1e0a52-0000-4000-8000-000000000001", "status": "submitted"},
        {"value": "%s", "user_id": "7c1e0a52-0000-4000-8000-000000000002", "status": "submitted"},
        {"value": "response_a", "user_id": "7c1e0a52-0000-4000-8000-000000000003", "status": "draft"}
      ],
      "strength": [
        {"value": 3, "user_id": "7c1e0a52-0000-4000-8000-000000000001", "status": "submitted"}
      ],
      "comment": [
        {"value": "B invents a citation", "user_id": "7c1e0a52-0000-4000-8000-000000000002", "status": "submitted"}
      ]
    },
    "vectors": {},
    "status": "completed",
    "_server_id": "0d5b2c4e-1111-4222-8333-444455556666"
  },
  {
    "id": "%s",
    "fields": %s,
    "metadata": %s,
    "suggestions": {},
    "responses": {
      "preference": [
        {"value": "tie", "user_id": "7c1e0a52-0000-4000-8000-000000000001", "status": "submitted"},
        {"value": "tie", "user_id": "7c1e0a52-0000-4000-8000-000000000002", "status": "discarded"}
      ]
    },
    "status": "completed"
  }
]`

// argillaV1 is the same kind of answer in Argilla 1's FeedbackRecord shape:
// responses as a list, one per user, with values keyed by question.
const argillaV1 = `{"fields": %s, "metadata": %s, "responses": [{"user_id": "u-9", "status": "submitted", "values": {"preference": {"value": "response_b"}, "strength": {"value": 1}}}]}
`

func TestArgillaRoundTrip(t *testing.T) {
	dir, queued := queuedRun(t)
	var buf bytes.Buffer
	if err := ExportArgilla(&buf, queued); err != nil {
		t.Fatal(err)
	}
	var recs []ArgillaRecord
	if err := json.Unmarshal(buf.Bytes(), &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(queued) {
		t.Fatalf("%d records for %d pairs", len(recs), len(queued))
	}
	for i, r := range recs {
		p := queued[i]
		if r.ID != p.ID || r.Fields[ArgillaPrompt] != p.Prompt.Text() || !samePair(p, r.Metadata["response_a_id"], r.Metadata["response_b_id"]) {
			t.Fatalf("record %d = %+v", i, r)
		}
		s := r.Suggestions[ArgillaPreference]
		want := "response_a"
		if r.Metadata["response_b_id"] == p.Chosen.ID {
			want = "response_b"
		}
		if s.Value != want || s.Agent != "prefdatatest.Labeler" || s.Score != p.Provenance.Confidence {
			t.Errorf("record %d suggestion %+v, want %s", i, s, want)
		}
	}
	checkArgillaSettings(t, recs)

	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	sideOf := func(r ArgillaRecord, id string) string {
		if r.Metadata["response_a_id"] == id {
			return "response_a"
		}
		return "response_b"
	}
	// Record 0: user 1 flips (strength 3), user 2 flips too; user 3's
	// draft is skipped. Record 1: tie (and a discarded response).
	export := fmt.Sprintf(argillaExport,
		recs[0].ID, js(recs[0].Fields), js(recs[0].Metadata), sideOf(recs[0], queued[0].Rejected.ID), sideOf(recs[0], queued[0].Rejected.ID),
		recs[1].ID, js(recs[1].Fields), js(recs[1].Metadata))
	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := OpenQueue(dir)
	st, err := ImportArgilla(store, q, strings.NewReader(export), "records.json")
	if err != nil {
		t.Fatal(err)
	}
	if st.Imported != 3 || st.Skipped != 2 {
		t.Fatalf("import stats = %+v", st)
	}
	// Argilla 1 shape, as JSON lines, for record 2: user u-9 prefers response_b.
	v1 := fmt.Sprintf(argillaV1, js(recs[2].Fields), js(recs[2].Metadata))
	st, err = ImportArgilla(store, q, strings.NewReader(v1), "v1.jsonl")
	if err != nil || st.Imported != 1 {
		t.Fatalf("v1 import: %+v, %v", st, err)
	}
	// Again: nothing new.
	st, _ = ImportArgilla(store, q, strings.NewReader(export), "records.json")
	if st.Imported != 0 || st.Existing != 3 {
		t.Fatalf("second import = %+v", st)
	}
	ls := store.ForPair(queued[0].ID)
	if len(ls) != 2 || ls[0].Strength != Much || ls[1].Comment != "B invents a citation" || !strings.HasPrefix(ls[0].Annotator, "argilla:") {
		t.Fatalf("labels = %+v", ls)
	}

	got := collect(t, dir, Policy{})
	p0, ok := got[queued[0].ID]
	if !ok || p0.Chosen.ID != queued[0].Rejected.ID || len(p0.Provenance.Annotators) != 2 || p0.Margin != 3 {
		t.Errorf("pair 0 = %+v, margin %v (ok %v)", p0.Provenance, p0.Margin, ok)
	}
	if _, ok := got[queued[1].ID]; ok {
		t.Error("the tied pair was written")
	}
	p2, ok := got[queued[2].ID]
	if !ok || p2.Chosen.ID != recs[2].Metadata["response_b_id"] || p2.Provenance.Annotators[0] != "argilla:u-9" {
		t.Errorf("pair 2 = %+v (ok %v)", p2, ok)
	}

	// u-9 changes their answer in Argilla to a tie: the new import
	// supersedes the old label.
	changed := strings.Replace(v1, `"value": "response_b"`, `"value": "tie"`, 1)
	st, err = ImportArgilla(store, q, strings.NewReader(changed), "v1-again.jsonl")
	if err != nil || st.Imported != 1 {
		t.Fatalf("changed answer: %+v, %v", st, err)
	}
	if ls := store.ForPair(queued[2].ID); len(ls) != 1 || ls[0].Verdict != VerdictTie {
		t.Fatalf("after the change: %+v", ls)
	}
}

func TestImportErrorsNameTheRecord(t *testing.T) {
	dir, queued := queuedRun(t)
	store, _ := OpenStore(dir)
	q, _ := OpenQueue(dir)
	bad := `[{"id": "x", "fields": {}, "metadata": {"pair_id": "pair-unknown"}, "responses": {}},
	{"id": "y", "fields": {}, "metadata": {"pair_id": "` + queued[0].ID + `", "response_a_id": "r-1", "response_b_id": "r-2"}}]`
	_, err := ImportArgilla(store, q, strings.NewReader(bad), "bad.json")
	if err == nil || !strings.Contains(err.Error(), "bad.json: record 0 (pair pair-unknown): pair is not in the queue") || !strings.Contains(err.Error(), "record 1") {
		t.Errorf("err = %v", err)
	}
	if _, err := ImportLabelStudio(store, q, strings.NewReader("{not json"), "ls.json"); err == nil || !strings.Contains(err.Error(), "ls.json") {
		t.Errorf("err = %v", err)
	}
	if n := len(store.Labels()); n != 0 {
		t.Errorf("%d labels stored from bad input", n)
	}
}

// An annotation edited in Label Studio counts as of its latest edit
// (updated_at), whatever order the exports are imported in: changed back to
// its first answer, the first answer counts again; an older export imported
// after a newer one changes nothing.
func TestLabelStudioEditsByTime(t *testing.T) {
	dir, queued := queuedRun(t)
	var buf bytes.Buffer
	if err := ExportLabelStudio(&buf, queued[:1]); err != nil {
		t.Fatal(err)
	}
	var tasks []LSTask
	if err := json.Unmarshal(buf.Bytes(), &tasks); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(tasks[0].Data)
	export := func(selected, updated string) string {
		return fmt.Sprintf(`[{"id": 101, "data": %s, "annotations": [{"id": 9001, "completed_by": 3,
			"result": [{"id": "x1", "from_name": "pairwise", "to_name": "pairwise", "type": "pairwise", "value": {"selected": %q}}],
			"was_cancelled": false, "created_at": "2026-01-05T10:00:00Z", "updated_at": %q, "lead_time": 3, "task": 101}]}]`, data, selected, updated)
	}
	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := OpenQueue(dir)
	current := func() string {
		t.Helper()
		ls := store.ForPair(queued[0].ID)
		if len(ls) != 1 {
			t.Fatalf("labels = %+v", ls)
		}
		if ls[0].Preferred == tasks[0].Data.LeftID {
			return "left"
		}
		return "right"
	}
	steps := []struct {
		selected, updated, want string
		imported                int
	}{
		{"left", "2026-01-05T10:01:00Z", "left", 1},
		{"right", "2026-01-05T10:02:00Z", "right", 1},
		{"left", "2026-01-05T10:03:00Z", "left", 1},  // changed back
		{"left", "2026-01-05T10:03:00Z", "left", 0},  // the same export again
		{"right", "2026-01-05T10:02:00Z", "left", 0}, // an older export, late
		{"right", "2026-01-05T10:02:30Z", "left", 0}, // an older edit never imported
	}
	for i, s := range steps {
		st, err := ImportLabelStudio(store, q, strings.NewReader(export(s.selected, s.updated)), "export.json")
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if st.Imported != s.imported || st.Existing+st.Stale != 1-s.imported {
			t.Errorf("step %d: stats %+v, want %d imported", i, st, s.imported)
		}
		if i == len(steps)-1 && st.Stale != 1 {
			t.Errorf("step %d: stats %+v, want the older edit counted as stale", i, st)
		}
		if got := current(); got != s.want {
			t.Errorf("step %d: the label that counts prefers %s, want %s", i, got, s.want)
		}
	}
}

// checkArgillaSettings checks ArgillaSettings against the shape Argilla's
// Python SDK serializes and reads back (rg.Settings.to_json / from_json:
// every field, question and metadata property with a nested "settings"
// whose "type" picks the kind; label options as {value, text}; the task
// distribution), and against the records: every field and metadata key a
// record carries is declared, and the preference options are the values
// ImportArgilla reads.
func checkArgillaSettings(t *testing.T, recs []ArgillaRecord) {
	t.Helper()
	raw, err := ArgillaSettings("Pick the better answer.", 2)
	if err != nil {
		t.Fatal(err)
	}
	type property struct {
		Name     string `json:"name"`
		Title    string `json:"title"`
		Required *bool  `json:"required"`
		Settings struct {
			Type    string `json:"type"`
			Options []struct {
				Value any    `json:"value"`
				Text  string `json:"text"`
			} `json:"options"`
		} `json:"settings"`
	}
	var s struct {
		Guidelines   string     `json:"guidelines"`
		Fields       []property `json:"fields"`
		Questions    []property `json:"questions"`
		Metadata     []property `json:"metadata"`
		Distribution struct {
			Strategy     string `json:"strategy"`
			MinSubmitted int    `json:"min_submitted"`
		} `json:"distribution"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("settings: %v\n%s", err, raw)
	}
	if s.Guidelines != "Pick the better answer." || s.Distribution.Strategy != "overlap" || s.Distribution.MinSubmitted != 2 {
		t.Errorf("settings guidelines %q, distribution %+v", s.Guidelines, s.Distribution)
	}
	kinds := map[string]string{}
	for _, group := range [][]property{s.Fields, s.Questions, s.Metadata} {
		for _, p := range group {
			if p.Name == "" || p.Settings.Type == "" {
				t.Errorf("settings property %+v lacks a name or settings.type", p)
			}
			kinds[p.Name] = p.Settings.Type
		}
	}
	for _, r := range recs[:1] {
		for name := range r.Fields {
			if kinds[name] != "text" {
				t.Errorf("record field %q is declared as %q, want a text field", name, kinds[name])
			}
		}
		for name := range r.Metadata {
			if kinds[name] != "terms" {
				t.Errorf("record metadata %q is declared as %q, want terms", name, kinds[name])
			}
		}
	}
	want := map[string]string{ArgillaPreference: "label_selection", ArgillaStrength: "rating", ArgillaComment: "text"}
	for name, kind := range want {
		if kinds[name] != kind {
			t.Errorf("question %q is %q, want %q", name, kinds[name], kind)
		}
	}
	for _, q := range s.Questions {
		if q.Name != ArgillaPreference {
			continue
		}
		var values []string
		for _, o := range q.Settings.Options {
			values = append(values, fmt.Sprint(o.Value))
		}
		if fmt.Sprint(values) != "[response_a response_b tie both_bad]" {
			t.Errorf("preference options %v", values)
		}
	}
}
