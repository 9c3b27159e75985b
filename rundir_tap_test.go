package prefdata

import (
	"reflect"
	"strings"
	"sync"
	"testing"
)

// Tap sees every line the RunDir appends to the file, whichever method
// appends it, at the offset it stands at in the file; not lines another
// RunDir appends, nor lines after stop.
func TestRunDirTap(t *testing.T) {
	d, err := OpenRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var mu sync.Mutex
	tapped := map[int64]string{}
	stop := d.Tap(FileScores, func(off int64, line []byte) {
		mu.Lock()
		tapped[off] = string(line)
		mu.Unlock()
	})
	other, err := OpenRunDir(d.Dir())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := d.Append(FileScores, map[string]int{"append": 1}); err != nil {
		t.Fatal(err)
	}
	if err := other.Append(FileScores, map[string]int{"other": 1}); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(FileScores, CacheRecord{Key: "k", Value: []byte(`{"put":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := d.PutLine(FileScores, "k2", map[string]int{"putline": 1}); err != nil {
		t.Fatal(err)
	}
	if err := d.appendLines(FileScores, nil, [][]byte{[]byte(`{"lines":1}`), []byte(`{"lines":2}`)}); err != nil {
		t.Fatal(err)
	}
	if err := d.Append(FilePairs, map[string]int{"another file": 1}); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := d.Append(FileScores, map[string]int{"after stop": 1}); err != nil {
		t.Fatal(err)
	}
	var lines []Record
	if err := d.Scan(FileScores, func(r Record) error {
		lines = append(lines, Record{Line: r.Line, Offset: r.Offset, Data: append([]byte(nil), r.Data...)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 7 {
		t.Fatalf("%d lines in the file, want 7", len(lines))
	}
	want := map[int64]string{}
	for _, r := range lines {
		if s := string(r.Data); !strings.Contains(s, "other") && !strings.Contains(s, "after stop") {
			want[r.Offset] = s
		}
	}
	if !reflect.DeepEqual(tapped, want) {
		t.Errorf("tapped %v\nwant %v", tapped, want)
	}
}
