package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
)

// manyPairs makes n prompts with k pairs each, at stages 2, 3 and 4 in turn.
func manyPairs(n, k int) []prefdata.Pair {
	var out []prefdata.Pair
	for i := range n {
		pr := prefdata.Prompt{Messages: []prefdata.Message{msg("user", fmt.Sprintf("question %d", i))}}
		pr.ID = prefdata.ContentID(pr.Messages)
		for j := range k {
			c := prefdata.Response{ID: fmt.Sprintf("r-%d-%d-c", i, j), PromptID: pr.ID, Model: "m1", Text: fmt.Sprintf("good %d", j)}
			r := prefdata.Response{ID: fmt.Sprintf("r-%d-%d-r", i, j), PromptID: pr.ID, Model: "m2", Text: fmt.Sprintf("bad %d", j)}
			out = append(out, prefdata.Pair{
				ID: prefdata.PairID(pr.ID, c.ID, r.ID), Prompt: pr, Chosen: c, Rejected: r,
				Provenance: prefdata.Provenance{Stage: prefdata.Stage(2 + (i+j)%3)},
			})
		}
	}
	return out
}

func writeFolder(t *testing.T, dir string, f Format, o FolderOptions, pairs []prefdata.Pair) *Folder {
	t.Helper()
	fo, err := NewFolder(dir, f, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		if err := fo.WritePair(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	if err := fo.Flush(); err != nil {
		t.Fatal(err)
	}
	return fo
}

func readFolder(t *testing.T, dir string, f Format, files []DataFile) map[string][]prefdata.Pair {
	t.Helper()
	out := map[string][]prefdata.Pair{}
	for _, df := range files {
		fh, err := os.Open(filepath.Join(dir, filepath.FromSlash(df.Path)))
		if err != nil {
			t.Fatal(err)
		}
		ps, err := ReadAll(fh, df.Path, f)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != df.Rows {
			t.Errorf("%s: %d rows read, Files says %d", df.Path, len(ps), df.Rows)
		}
		out[df.Config+"/"+df.Split] = ps
	}
	return out
}

func TestFolderSplitsByPromptAndStage(t *testing.T) {
	pairs := manyPairs(200, 3)
	dir := t.TempDir()
	o := FolderOptions{Options: Options{Provenance: true}, TestFraction: 0.25, Seed: "s1", ByStage: true}
	fo := writeFolder(t, dir, Hub, o, pairs)
	files := fo.Files()
	got := readFolder(t, dir, Hub, files)

	// Every pair is in the default config once; a prompt's pairs never
	// straddle train and test.
	splitOf := map[string]string{}
	n := 0
	for _, split := range []string{SplitTrain, SplitTest} {
		for _, p := range got[ConfigDefault+"/"+split] {
			n++
			if s, ok := splitOf[p.Prompt.ID]; ok && s != split {
				t.Fatalf("prompt %s is in both %s and %s", p.Prompt.ID, s, split)
			}
			splitOf[p.Prompt.ID] = split
			if want := SplitOf(p.Prompt.ID, "s1", 0.25); want != split {
				t.Errorf("pair %s in %s, SplitOf says %s", p.ID, split, want)
			}
		}
	}
	if n != len(pairs) {
		t.Fatalf("default config holds %d pairs, want %d", n, len(pairs))
	}
	test := 0
	for _, s := range splitOf {
		if s == SplitTest {
			test++
		}
	}
	// The hash is fixed, so this count is too; it must be near a quarter.
	if test < 30 || test > 70 {
		t.Errorf("%d of 200 prompts in test, want about 50", test)
	}

	// Each stage config holds exactly that stage's pairs, split the same way.
	for _, st := range []prefdata.Stage{prefdata.StageGenerate, prefdata.StageFilter, prefdata.StageLabel} {
		want := 0
		for _, p := range pairs {
			if p.Provenance.Stage == st {
				want++
			}
		}
		have := 0
		for _, split := range []string{SplitTrain, SplitTest} {
			for _, p := range got[StageConfig(st)+"/"+split] {
				have++
				if p.Provenance.Stage != st {
					t.Errorf("pair %s of stage %d in %s", p.ID, p.Provenance.Stage, StageConfig(st))
				}
				if splitOf[p.Prompt.ID] != split {
					t.Errorf("pair %s is in %s of %s but %s of default", p.ID, split, StageConfig(st), splitOf[p.Prompt.ID])
				}
			}
		}
		if have != want {
			t.Errorf("%s holds %d pairs, want %d", StageConfig(st), have, want)
		}
	}
	if len(files) != 8 || files[0].Path != "data/train.jsonl" || files[1].Path != "data/test.jsonl" {
		t.Errorf("files = %+v", files)
	}

	// The split does not depend on the order of the pairs.
	rev := append([]prefdata.Pair(nil), pairs...)
	sort.Slice(rev, func(i, j int) bool { return rev[i].ID > rev[j].ID })
	dir2 := t.TempDir()
	writeFolder(t, dir2, Hub, o, rev)
	for _, df := range files {
		a, _ := os.ReadFile(filepath.Join(dir, df.Path))
		b, err := os.ReadFile(filepath.Join(dir2, df.Path))
		if err != nil {
			t.Fatal(err)
		}
		if sortedLines(a) != sortedLines(b) {
			t.Errorf("%s differs when the pairs come in another order", df.Path)
		}
	}
}

func sortedLines(b []byte) string {
	ls := strings.Split(strings.TrimSpace(string(b)), "\n")
	sort.Strings(ls)
	return strings.Join(ls, "\n")
}

func TestFolderLlamaFactoryInfo(t *testing.T) {
	dir := t.TempDir()
	fo := writeFolder(t, dir, Alpaca, FolderOptions{TestFraction: 0.5, Name: "mine"}, manyPairs(20, 2))
	b, err := os.ReadFile(filepath.Join(dir, "dataset_info.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]struct {
		FileName string `json:"file_name"`
		Ranking  bool   `json:"ranking"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	if len(info) != len(fo.Files()) {
		t.Errorf("dataset_info.json has %d entries for %d files", len(info), len(fo.Files()))
	}
	for name, e := range info {
		if !e.Ranking {
			t.Errorf("%s: ranking is false", name)
		}
		if _, err := os.Stat(filepath.Join(dir, e.FileName)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if info["mine"].FileName != "data/train.jsonl" || info["mine_default_test"].FileName != "data/test.jsonl" {
		t.Errorf("entries: %+v", info)
	}
	if err := fo.WritePair(context.Background(), manyPairs(1, 1)[0]); err == nil {
		t.Error("WritePair after Flush succeeded")
	}
}

func TestFolderOptionsChecked(t *testing.T) {
	if _, err := NewFolder(t.TempDir(), Hub, FolderOptions{TestFraction: 1}); err == nil || !strings.Contains(err.Error(), "TestFraction") {
		t.Errorf("TestFraction 1: %v", err)
	}
	if _, err := NewFolder(t.TempDir(), Format("parquet"), FolderOptions{}); err == nil || !strings.Contains(err.Error(), "parquet") {
		t.Errorf("unknown format: %v", err)
	}
}

func TestFolderAsPipelineSink(t *testing.T) {
	// The pipeline calls Flush at the end of the run: the files are complete
	// when Run returns.
	out := t.TempDir()
	fo, err := NewFolder(out, TRLConversational, FolderOptions{ByStage: true})
	if err != nil {
		t.Fatal(err)
	}
	p := &prefdata.Pipeline{
		Source:     prefdata.Prompts(samplePrompts()...),
		Generators: []prefdata.Generator{sampleGenerator("gen-a", "model-a", 1), sampleGenerator("gen-b", "model-b", 4)},
		Filters:    sampleFilters(), Labeler: sampleLabeler(), Sink: fo,
	}
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := readFolder(t, out, TRLConversational, fo.Files())
	if n := len(got["default/train"]); n != st.PairsAI {
		t.Errorf("default/train holds %d pairs, the run wrote %d", n, st.PairsAI)
	}
	if n := len(got["stage2/train"]) + len(got["stage3/train"]); n != st.PairsAI {
		t.Errorf("stage configs hold %d pairs, the run wrote %d", n, st.PairsAI)
	}
}

// TestFolderLeavesNoEmptyFile: a split whose every pair the format cannot
// express gets no file, no card entry and no dataset_info.json entry (an
// empty data file is an error for loaders, not an empty split).
func TestFolderLeavesNoEmptyFile(t *testing.T) {
	dir := t.TempDir()
	good := manyPairs(1, 1)[0]
	bad := good
	bad.ID = "pair-bad"
	bad.Prompt.ID = "p-other"
	bad.Prompt.Messages = []prefdata.Message{msg("system", "no user turn")}
	// Find a seed that puts the bad pair's prompt in test and the good one in train.
	seed := ""
	for i := 0; ; i++ {
		seed = fmt.Sprint(i)
		if SplitOf(bad.Prompt.ID, seed, 0.5) == SplitTest && SplitOf(good.Prompt.ID, seed, 0.5) == SplitTrain {
			break
		}
	}
	fo := writeFolder(t, dir, ShareGPT, FolderOptions{TestFraction: 0.5, Seed: seed, ByStage: true}, []prefdata.Pair{good, bad})
	if len(fo.Skipped()) != 1 {
		t.Fatalf("skipped %v, want the bad pair", fo.Skipped())
	}
	for _, f := range fo.Files() {
		if f.Rows == 0 {
			t.Errorf("Files lists %s with no rows", f.Path)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "test.jsonl")); !os.IsNotExist(err) {
		t.Errorf("data/test.jsonl: %v, want no such file", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "dataset_info.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "test.jsonl") {
		t.Errorf("dataset_info.json names the empty split:\n%s", b)
	}
}
