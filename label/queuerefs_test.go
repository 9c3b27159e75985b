package label

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prefdatatest"
)

// occurrences counts the JSON-encoded s in the files under root.
func occurrences(t *testing.T, root, s string) (n int, where []string) {
	t.Helper()
	enc, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if k := bytes.Count(b, enc); k > 0 {
			n += k
			where = append(where, filepath.Base(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, where
}

// A pair queued for people refers to its responses by ID: each response
// text is in the run directory once (responses.jsonl), and the queue and
// the label server still give the whole pair.
func TestQueuedResponseTextStoredOnce(t *testing.T) {
	root := t.TempDir()
	dir, err := prefdata.OpenRunDir(root)
	if err != nil {
		t.Fatal(err)
	}
	st, err := humanPipeline(dir, &prefdatatest.Sink{}, HumanOptions{}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.PairsHuman == 0 {
		t.Fatal("no pair was queued")
	}
	if err := dir.Sync(); err != nil {
		t.Fatal(err)
	}
	q, err := OpenQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	if q.Len() != st.PairsHuman || len(q.BadLines()) > 0 {
		t.Fatalf("queue: %d pairs of %d, bad lines %v", q.Len(), st.PairsHuman, q.BadLines())
	}
	texts := map[string]bool{}
	for _, p := range q.Pairs() {
		for _, r := range []prefdata.Response{p.Chosen, p.Rejected} {
			if r.Text != prefdatatest.Answer(r.Model, p.Prompt, r.Sample) || r.PromptID != p.Prompt.ID {
				t.Fatalf("pair %s: response %s read back as %+v", p.ID, r.ID, r)
			}
			texts[r.Text] = true
		}
	}
	for text := range texts {
		if n, where := occurrences(t, root, text); n != 1 {
			t.Errorf("%q is stored %d times (%v), want once", text, n, where)
		}
	}
	raw, err := os.ReadFile(dir.Path(prefdata.FileQueue))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(`"chosen":{"id":"`)) || !bytes.Contains(raw, []byte(`"sources":[{"key":"`)) {
		t.Errorf("queue lines do not refer to their responses: %s", raw)
	}

	// The server shows the texts.
	f := fixtureOn(t, dir, Policy{Labels: 1}, "alice")
	item := f.next("alice")
	p, ok := q.Pair(item.Item)
	if !ok {
		t.Fatalf("served unknown item %q", item.Item)
	}
	shown := item.A + "\x00" + item.B
	if !strings.Contains(shown, p.Chosen.Text) || !strings.Contains(shown, p.Rejected.Text) {
		t.Errorf("served %q / %q for pair %s (%q, %q)", item.A, item.B, p.ID, p.Chosen.Text, p.Rejected.Text)
	}
}

// The pairs label.Human queues itself (Wait) refer to their responses too.
func TestHumanWaitQueuesByReference(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := fixtureOn(t, dir, Policy{Labels: 1}, "alice")
	p := humanPipeline(dir, &prefdatatest.Sink{}, HumanOptions{Policy: Policy{Labels: 1}, Wait: true, Poll: 5 * time.Millisecond})
	done := make(chan error, 1)
	go func() {
		_, err := p.Run(ctx)
		done <- err
	}()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	labeled := 0
loop:
	for {
		labeled += labelAll(t, f, "alice", func(prefdata.Pair) string { return "keep" })
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			break loop
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the run did not finish")
		}
	}
	if labeled == 0 {
		t.Fatal("nothing was queued")
	}
	raw, err := os.ReadFile(dir.Path(prefdata.FileQueue))
	if err != nil {
		t.Fatal(err)
	}
	q, err := OpenQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	if q.Len() != labeled {
		t.Fatalf("%d queued, %d labeled", q.Len(), labeled)
	}
	for _, p := range q.Pairs() {
		for _, r := range []prefdata.Response{p.Chosen, p.Rejected} {
			enc, _ := json.Marshal(r.Text)
			if r.Text == "" || bytes.Contains(raw, enc) {
				t.Errorf("pair %s: response %s: text %q in the queue file (or empty)", p.ID, r.ID, r.Text)
			}
		}
	}
}

// The label server follows a queue another process is writing: it fills
// the references in from the responses journal by offset, so it needs no
// index of that journal caught up with the other writer. Two RunDir
// handles of one folder stand for the two processes; the server's handle
// opened its responses index before the pipeline wrote anything.
func TestQueueFollowsAnotherWritersReferences(t *testing.T) {
	root := t.TempDir()
	serverDir, err := prefdata.OpenRunDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := serverDir.Index(prefdata.FileResponses); err != nil {
		t.Fatal(err)
	}
	q, err := OpenQueue(serverDir)
	if err != nil {
		t.Fatal(err)
	}
	runDir, err := prefdata.OpenRunDir(root)
	if err != nil {
		t.Fatal(err)
	}
	pl := humanPipeline(runDir, &prefdatatest.Sink{}, HumanOptions{})
	pl.Labeler = prefdatatest.Labeler{HumanBelow: 1e9} // the pipeline queues every pair
	st, err := pl.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n, err := q.Refresh()
	if err != nil {
		t.Fatal(err)
	}
	if n != st.PairsHuman || n == 0 || len(q.BadLines()) > 0 {
		t.Fatalf("refresh found %d of %d queued pairs; bad lines %v", n, st.PairsHuman, q.BadLines())
	}
	for _, p := range q.Pairs() {
		for _, r := range []prefdata.Response{p.Chosen, p.Rejected} {
			if r.Text != prefdatatest.Answer(r.Model, p.Prompt, r.Sample) {
				t.Errorf("pair %s: response %s text %q", p.ID, r.ID, r.Text)
			}
		}
	}
	raw, err := os.ReadFile(runDir.Path(prefdata.FileQueue))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(`"sources":[`)) {
		t.Fatal("the queue holds whole pairs: nothing to follow")
	}
}
