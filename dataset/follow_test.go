package dataset

import (
	"reflect"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
)

// checkFollowed compares a followed summary of d with Summarize's, and
// reports whether the generated group came from the lines followed (not
// from reading the files again).
func checkFollowed(t *testing.T, p *PendingSummary, d *prefdata.RunDir) (followed bool) {
	t.Helper()
	got, err := p.Summary()
	if err != nil {
		t.Fatal(err)
	}
	want, err := Summarize(d)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("followed summary differs:\n got %+v\nwant %+v", got, want)
	}
	return p.follow.built != nil
}

// followedSample runs the sample pipeline, several prompts and stages at
// once, on a new directory a summary follows.
func followedSample(t *testing.T) (*prefdata.RunDir, *PendingSummary) {
	t.Helper()
	d, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	p := FollowSummary(d)
	runSampleOn(t, d, prefdata.Limits{Prompt: 4, Generate: 4, Filter: 4})
	return d, p
}

// A summary that follows the journals while a run writes them, several
// prompts and stages at once so the lines come in any order, is
// Summarize's: on a new directory, and on one earlier runs wrote (the
// lines before are read from disk, the run's own from memory).
func TestFollowSummaryIsSummarize(t *testing.T) {
	d, p := followedSample(t)
	if !checkFollowed(t, p, d) {
		t.Fatal("a run alone on its directory was read again from disk")
	}

	// A second run adds a model: the first run's lines are read from
	// disk, the new ones followed.
	p = FollowSummary(d)
	if p.follow.starts[0] == 0 || p.follow.starts[1] == 0 {
		t.Fatal("the journals are empty before the second run: the test would test nothing")
	}
	runSampleOn(t, d, prefdata.Limits{Prompt: 4, Generate: 4, Filter: 4}, sampleGenerator("gen-a", "model-a", 1), sampleGenerator("gen-b", "model-b", 4), sampleGenerator("gen-c", "model-c", 2))
	if !checkFollowed(t, p, d) {
		t.Fatal("the second run was read again from disk")
	}
	got, _ := p.Summary()
	if !hasModel(got, "model-c") {
		t.Error("the second run's model is missing")
	}
}

func hasModel(s Summary, model string) bool {
	for _, m := range s.Models {
		if m.Model == model {
			return true
		}
	}
	return false
}

// Lines another writer appends (another process, another RunDir on the
// same folder) are not seen by the taps: the summary reads the journals
// again, and has them.
func TestFollowSummaryAnotherWriter(t *testing.T) {
	d, p := followedSample(t)
	other, err := prefdata.OpenRunDir(d.Dir())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Put(prefdata.FileResponses, prefdata.CacheRecord{Key: "k-other", PromptID: "p-other", Component: "gen-x",
		Value: []byte(`[{"id":"r-other","prompt_id":"p-other","model":"model-x","sampling":{},"sample":0,"text":"other","usage":{"prompt_tokens":0,"completion_tokens":0}}]`)}); err != nil {
		t.Fatal(err)
	}
	if checkFollowed(t, p, d) {
		t.Error("the followed lines were used although another writer appended")
	}
	got, _ := p.Summary()
	if !hasModel(got, "model-x") {
		t.Error("the other writer's response is missing")
	}
}

// A line that does not decode, appended through the followed RunDir, gives
// the error Summarize gives: the journal and the line.
func TestFollowSummaryBadLine(t *testing.T) {
	d, p := followedSample(t)
	if err := d.Put(prefdata.FileScores, prefdata.CacheRecord{Key: "k-null", PromptID: "p-null", Component: "rm", Value: []byte(`null`)}); err != nil {
		t.Fatal(err)
	}
	_, got := p.Summary()
	_, want := Summarize(d)
	if got == nil || want == nil || got.Error() != want.Error() {
		t.Fatalf("error %v, Summarize's %v", got, want)
	}
	if !strings.Contains(got.Error(), prefdata.FileScores) {
		t.Errorf("error %v does not name %s", got, prefdata.FileScores)
	}
}

// A summary that is never asked for still stops following: the taps are
// removed, and appends after it are not kept.
func TestFollowSummaryWaitStops(t *testing.T) {
	d, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p := FollowSummary(d)
	p.Wait()
	if err := d.Append(prefdata.FileScores, map[string]string{"after": "wait"}); err != nil {
		t.Fatal(err)
	}
	f := p.follow
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.files[1].pending); n != 0 {
		t.Errorf("%d lines kept after Wait", n)
	}
	select {
	case <-f.done:
	default:
		t.Error("the follower is still running after Wait")
	}
}
