package label

import (
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
)

// Two writers of one labels file, as two processes would have them (the
// server and an import run from the command line, or two servers): each
// has its own RunDir on the same folder. Their appends interleave and none
// is lost.
func TestTwoWritersLoseNothing(t *testing.T) {
	path := t.TempDir()
	open := func() *Store {
		dir, err := prefdata.OpenRunDir(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := OpenStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(), open()
	want := 0
	for i := range 5 {
		for _, s := range []*Store{a, b} {
			l := Label{ID: fmt.Sprintf("l-%d-%d", i, want), PairID: fmt.Sprintf("pair-%d", want), Annotator: "ann", Verdict: VerdictTie, Source: SourceApp}
			if err := s.Add(l); err != nil {
				t.Fatal(err)
			}
			want++
		}
	}
	if n := len(open().Labels()); n != want {
		t.Fatalf("%d labels in the file, want %d: one writer overwrote the other's lines", n, want)
	}
	for _, s := range []*Store{a, b} {
		if err := s.Refresh(); err != nil {
			t.Fatal(err)
		}
		if n := len(s.Labels()); n != want {
			t.Errorf("a writer sees %d labels after Refresh, want %d", n, want)
		}
	}
}

// A crash can leave half a line at the end of the labels file. The next
// label starts on a line of its own, the broken line is skipped and
// reported, and no reader fails on it.
func TestHalfWrittenLabelLine(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir.Path(FileHumanLabels), []byte(`{"id":"ok","pair_id":"p1","annotator":"ann","verdict":"tie","source":"app"}`+"\n"+`{"id":"cut","pair_id":"p2","annot`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Label{ID: "next", PairID: "p3", Annotator: "ann", Verdict: VerdictTie, Source: SourceApp}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fresh, err := OpenStore(dir)
	if err != nil {
		t.Fatalf("reading the file after a crash: %v", err)
	}
	var ids []string
	for _, l := range fresh.Labels() {
		ids = append(ids, l.ID)
	}
	if fmt.Sprint(ids) != "[ok next]" {
		t.Errorf("labels %v, want [ok next]", ids)
	}
	if bad := fresh.BadLines(); len(bad) != 1 || !strings.Contains(bad[0], FileHumanLabels+":2:") {
		t.Errorf("bad lines %q, want line 2 named", bad)
	}
	// The dashboard lists it.
	srv, err := NewServer(Config{Dir: dir, Annotators: []Annotator{{Name: "ann"}}, AdminToken: testToken("admin")})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/admin", nil)
	r.Header.Set("Authorization", "Bearer "+testToken("admin"))
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	if !strings.Contains(w.Body.String(), `id="badlines"`) || !strings.Contains(w.Body.String(), FileHumanLabels+":2:") {
		t.Errorf("the dashboard does not list the bad line: %s", w.Body.String())
	}
}

// A bad line in the queue file (edited by hand, say) keeps neither the
// server from starting nor the other pairs from people; it is named.
func TestBadQueueLine(t *testing.T) {
	dir, err := prefdata.OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.Append(prefdata.FileQueue, queuePair(1, "a", "b")); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(dir.Path(prefdata.FileQueue), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("{\"id\": \"\"}\nnot json\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := dir.Close(); err != nil { // the journal reopens at the new end
		t.Fatal(err)
	}
	if err := dir.Append(prefdata.FileQueue, queuePair(2, "c", "d")); err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(Config{Dir: dir, Annotators: []Annotator{{Name: "ann"}}})
	if err != nil {
		t.Fatalf("a bad queue line stopped the server: %v", err)
	}
	if n := srv.Queue().Len(); n != 2 {
		t.Errorf("%d pairs queued, want 2", n)
	}
	bad := srv.Queue().BadLines()
	if len(bad) != 2 || !strings.Contains(bad[0], prefdata.FileQueue+":2: pair without an id") || !strings.Contains(bad[1], prefdata.FileQueue+":3:") {
		t.Errorf("bad lines %q", bad)
	}
}
