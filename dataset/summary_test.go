package dataset

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/runstore"
)

// summarizeExpanded is Summarize as it read the journals before: one after
// the other, whole records (texts and judges' replies included), the scores
// journal through runstore's Scores (every reference filled in from the
// responses journal), the pairs through Store.Pairs.
func summarizeExpanded(t *testing.T, d *prefdata.RunDir) Summary {
	t.Helper()
	var s Summary
	m, ok, err := d.ReadManifest()
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		s.RunKey, s.RunID, s.Created, s.Updated, s.Started = m.RunKey, m.RunID, m.Created, m.Updated, m.Started
		s.Generators, s.Filters, s.Labeler = m.Generators, m.Filters, m.Labeler
		if m.Stats != nil {
			s.Stats, s.HasStats = *m.Stats, true
		}
	}
	a := newAccum()
	rs, err := runstore.Open(d)
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error { return rs.Prompts(a.prompt) },
		func() error {
			return rs.Responses(func(cl prefdata.CacheRecord, rs []prefdata.Response) error {
				addTo(a.genItems, cl.Component, cl.PromptID)
				for _, r := range rs {
					a.addResponse(r)
					addTo(a.genModels, cl.Component, r.Model)
				}
				return nil
			})
		},
		func() error {
			return rs.Scores(func(_ prefdata.CacheRecord, c prefdata.Candidate) error {
				for _, r := range c.Responses {
					a.addResponse(r)
				}
				a.addScores(c.Scores)
				for _, cp := range c.Comparisons {
					a.comps[cp.A+"\x00"+cp.B+"\x00"+cp.Scorer] = cp
				}
				return nil
			})
		},
		func() error { return rs.Pairs(a.pairLine) },
		func() error { return rs.Queue(a.queue, nil) },
		func() error { return rs.Failures(a.failure) },
		func() (err error) { a.labels, err = rs.CurrentLabels(); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	a.fill(&s)
	return s
}

// The summary reads the journals at once, each once (the filters' records
// without filling in their references from the responses journal again,
// the pairs in one pass) and only what it shows (no response texts, no
// judges' replies), and comes out as it did when it read them one after
// the other, whole: also with a reference to a response the responses
// journal does not have.
func TestSummarizeReadsEachJournalOnce(t *testing.T) {
	r := runSample(t)
	refs := 0
	rs, err := runstore.Open(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.CacheRecords(prefdata.FileScores, func(rec prefdata.CacheRecord) error {
		if rec.Refs {
			refs++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if refs == 0 {
		t.Fatal("the sample run stored no references: the test would test nothing")
	}
	check := func(what string) {
		got, err := Summarize(r.dir)
		if err != nil {
			t.Fatal(err)
		}
		if want := summarizeExpanded(t, r.dir); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the summary differs from the one with references filled in:\n got %+v\nwant %+v", what, got, want)
		}
	}
	check("sample run")
	// A record that refers to a response no generation record holds.
	rec := prefdata.CacheRecord{Key: "k-missing", PromptID: "p-missing", Component: "rm", Refs: true,
		Value: []byte(fmt.Sprintf(`{"prompt":{"id":"p-missing","messages":null},"responses":[{"id":%q}],"scores":[{"response_id":%q,"scorer":"rm","value":1}]}`, "r-missing", "r-missing"))}
	if err := r.dir.Put(prefdata.FileScores, rec); err != nil {
		t.Fatal(err)
	}
	check("a reference to a response not in the journal")
}

// A summary started before the run directory is finished comes out as
// Summarize's once it is: from the journals it read in the background when
// nothing was appended to them since, from a second reading when something
// was.
func TestStartSummaryIsSummarize(t *testing.T) {
	r := runSample(t)
	p := StartSummary(r.dir)
	p.Wait()
	if p.early[0] == nil {
		t.Fatal("nothing read in the background: the test would test nothing")
	}
	got, err := p.Summary()
	if err != nil {
		t.Fatal(err)
	}
	want, err := Summarize(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pending summary differs:\n got %+v\nwant %+v", got, want)
	}

	// Appended to after the background reading: a new model's response
	// and its score.
	p = StartSummary(r.dir)
	p.Wait()
	if err := r.dir.Put(prefdata.FileResponses, prefdata.CacheRecord{Key: "k-late", PromptID: "p-late", Component: "gen-c",
		Value: []byte(`[{"id":"r-late","prompt_id":"p-late","model":"model-c","sampling":{},"sample":0,"text":"late","usage":{"prompt_tokens":0,"completion_tokens":0}}]`)}); err != nil {
		t.Fatal(err)
	}
	if err := r.dir.Put(prefdata.FileScores, prefdata.CacheRecord{Key: "k-late-s", PromptID: "p-late", Component: "rm",
		Value: []byte(`{"prompt":{"id":"p-late","messages":null},"responses":[{"id":"r-late","prompt_id":"p-late","model":"model-c","sampling":{},"sample":0,"text":"late","usage":{"prompt_tokens":0,"completion_tokens":0}}],"scores":[{"response_id":"r-late","scorer":"rm","value":2}]}`)}); err != nil {
		t.Fatal(err)
	}
	got, err = p.Summary()
	if err != nil {
		t.Fatal(err)
	}
	want, err = Summarize(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pending summary after appends differs:\n got %+v\nwant %+v", got, want)
	}
	late := false
	for _, m := range got.Models {
		late = late || m.Model == "model-c"
	}
	if !late {
		t.Error("the response appended after the background reading is missing")
	}
}

// ReadRest reads the other journals in the background too: the summary is
// still Summarize's, from them when nothing was appended since, and with
// what was appended since when something was.
func TestPendingSummaryReadRestIsSummarize(t *testing.T) {
	r := runSample(t)
	p := StartSummary(r.dir)
	p.ReadRest()
	p.Wait()
	for i, a := range p.early {
		if a == nil {
			t.Fatalf("journal group %d not read in the background: the test would test nothing", i)
		}
	}
	want, err := Summarize(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Summary(); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("pending summary differs (err %v):\n got %+v\nwant %+v", err, got, want)
	}

	before := want
	p = StartSummary(r.dir)
	p.ReadRest()
	p.Wait()
	if err := r.dir.Append(prefdata.FileFailures, prefdata.Failure{Stage: prefdata.StageGenerate, Item: "p-late/gen-a", Component: "gen-a", Error: "late failure"}); err != nil {
		t.Fatal(err)
	}
	got, err := p.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if want, err = Summarize(r.dir); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pending summary after a failure appended differs:\n got %+v\nwant %+v", got, want)
	}
	if reflect.DeepEqual(got.Failures, before.Failures) {
		t.Errorf("the failure appended after the background reading is missing: %v, as before", got.Failures)
	}

	// A second ReadRest reads again only what was appended to since the
	// first: the failures, not the pairs.
	p = StartSummary(r.dir)
	p.ReadRest()
	p.Wait()
	first := slices.Clone(p.early)
	if err := r.dir.Append(prefdata.FileFailures, prefdata.Failure{Stage: prefdata.StageGenerate, Item: "p-later/gen-a", Component: "gen-a", Error: "later failure"}); err != nil {
		t.Fatal(err)
	}
	p.ReadRest()
	p.Wait()
	for i, g := range journalGroups() {
		if i == 0 {
			continue
		}
		failures := slices.Contains(g.files, prefdata.FileFailures)
		if reread := p.early[i] != first[i]; reread != failures {
			t.Errorf("journal group %v read again: %v, want %v", g.files, reread, failures)
		}
	}
	got, err = p.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if want, err = Summarize(r.dir); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pending summary after a second ReadRest differs:\n got %+v\nwant %+v", got, want)
	}
}

// A scores line that is not one, or has no value, is an error naming the
// journal and the line; a good line is read with its value.
func TestSummarizeBadScoresLine(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`{"key":"k-bad","prompt_id":"p","component":"rm"}`, "missing or null"},
		{`{"key":"k-bad","prompt_id":"p","component":"rm","value":null}`, "missing or null"},
		{`{"key":"k-bad","prompt_id":"p","component":"rm","value":{"responses":"none"}}`, "cannot unmarshal"},
	} {
		checkBadLine(t, prefdata.FileScores, tc.line, tc.want)
	}
}

// checkBadLine appends line to the named journal of a sample run and
// checks that Summarize fails naming the journal, the line and want.
func checkBadLine(t *testing.T, file, line, want string) {
	t.Helper()
	r := runSample(t)
	n := countLines(t, r.dir.Path(file))
	f, err := os.OpenFile(r.dir.Path(file), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Summarize(r.dir)
	if err == nil {
		t.Fatalf("%s: no error", line)
	}
	for _, w := range []string{file, fmt.Sprintf(":%d", n+1), want} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not say %q", line, err, w)
		}
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// The summary reads the responses, scores and pairs journals with the hand
// decoders of package prefdata. The same directory with the first key of
// every line of those journals spelled "V" for "v" (the hand decoders give
// up on it, encoding/json takes it, as its keys match case-insensitively;
// no offset moves) has the same summary: a field the hand decoders dropped
// or misread would show.
func TestSummaryHandDecodedIsEncodingJSON(t *testing.T) {
	r := runSample(t)
	fast, err := Summarize(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	slow := copyRunDir(t, r.dir, func(name string, line []byte) []byte {
		switch name {
		case prefdata.FilePairs:
			if _, ok := prefdata.DecodePairsRecord(line); !ok {
				t.Fatalf("%s: not decoded by hand: the test would compare encoding/json with itself", line)
			}
		case prefdata.FileResponses:
			if _, _, ok := prefdata.DecodeResponsesLine(line); !ok {
				t.Fatalf("%s: not decoded by hand: the test would compare encoding/json with itself", line)
			}
		case prefdata.FileScores:
			if _, _, ok := prefdata.DecodeCandidateLine(line); !ok {
				t.Fatalf("%s: not decoded by hand: the test would compare encoding/json with itself", line)
			}
		default:
			return line
		}
		if !bytes.HasPrefix(line, []byte(`{"v":`)) {
			t.Fatalf("%s: a line not as the pipeline writes it", line)
		}
		return append([]byte(`{"V":`), line[len(`{"v":`):]...)
	})
	want, err := Summarize(slow)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fast, want) {
		t.Errorf("hand-decoded summary differs:\n got %+v\nwant %+v", fast, want)
	}
	// What the two journals give the summary is there to compare.
	systems, sampling := 0, 0
	for _, m := range want.Models {
		systems += m.Systems
		sampling += len(m.Sampling)
	}
	if len(want.Scores) == 0 || len(want.Judges) == 0 || want.Judges[0].Comparisons == 0 || sampling == 0 || len(want.GeneratorRuns) == 0 || want.GeneratorRuns[0].Journaled == 0 {
		t.Errorf("the sample run lacks figures the journals give: %+v", want)
	}
	t.Logf("systems %d, sampling %d, scores %d, judges %+v", systems, sampling, len(want.Scores), want.Judges)
}

// copyRunDir copies d's files into a new run directory, each line of its
// journals passed through edit.
func copyRunDir(t *testing.T, d *prefdata.RunDir, edit func(name string, line []byte) []byte) *prefdata.RunDir {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(d.Path(""))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || name == "run.lock" {
			continue
		}
		b, err := os.ReadFile(d.Path(name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".jsonl") {
			var out []byte
			for _, line := range bytes.SplitAfter(b, []byte("\n")) {
				if l := bytes.TrimSuffix(line, []byte("\n")); len(l) > 0 {
					out = append(append(out, edit(name, l)...), '\n')
				}
			}
			b = out
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := prefdata.OpenRunDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A bad line of the pairs journal, which the hand decoder leaves to
// encoding/json, is named by file and line.
func TestSummarizeBadPairsLine(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`{"v":3,"key":"k-bad","prompt_id":"p","pairs":"none"}`, "cannot unmarshal"},
		{`{"v":3,"key":"k-bad","prompt_id":"p","pairs":[{"chosen":{"id":"r-1"}}],"sources":[{"key":"k-none","offset":999999}]}`, "byte 999999"},
	} {
		checkBadLine(t, prefdata.FilePairs, tc.line, tc.want)
	}
}
