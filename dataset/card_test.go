package dataset

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleCard writes the sample run's pairs into a folder and returns the
// card for it.
func sampleCard(t *testing.T) (string, Summary, []DataFile) {
	t.Helper()
	run := runSample(t)
	out := t.TempDir()
	fo, err := NewFolder(out, Hub, FolderOptions{TestFraction: 0.3, ByStage: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range run.pairs {
		if err := fo.WritePair(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	if err := fo.Flush(); err != nil {
		t.Fatal(err)
	}
	s, err := Summarize(run.dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Human.Agreement = &Agreement{Metric: "krippendorff_alpha", Value: 0.71, Items: 40}
	opts := CardOptions{Title: "Sample | prefs", Format: Hub, Files: fo.Files(), Language: []string{"en", "fr"}}
	if err := WriteCardFile(out, s, opts); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, FileCard))
	if err != nil {
		t.Fatal(err)
	}
	return string(b), s, fo.Files()
}

func TestCardGolden(t *testing.T) {
	card, _, _ := sampleCard(t)
	path := filepath.Join("testdata", "card.golden")
	if *update {
		if err := os.WriteFile(path, []byte(card), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if card != string(want) {
		t.Errorf("%s differs:\n%s", path, firstDiff([]byte(card), want))
	}
}

func TestCardStatesHowTheDataWasMade(t *testing.T) {
	card, s, files := sampleCard(t)
	header, body, ok := strings.Cut(strings.TrimPrefix(card, "---\n"), "\n---\n")
	if !strings.HasPrefix(card, "---\n") || !ok {
		t.Fatalf("no YAML header:\n%s", card)
	}
	for _, want := range []string{
		"license: unknown # placeholder",
		"task_categories:\n- text-generation\n",
		"- preference\n",
		"size_categories:\n- n<1K\n",
		"configs:\n- config_name: \"default\"\n  data_files:\n  - split: \"train\"\n    path: \"data/train.jsonl\"\n",
		"language:\n- \"en\"\n- \"fr\"\n",
	} {
		if !strings.Contains(header, want) {
			t.Errorf("header lacks %q:\n%s", want, header)
		}
	}
	// Every file is a data_files entry of its config.
	for _, f := range files {
		entry := "  - split: \"" + f.Split + "\"\n    path: \"" + f.Path + "\"\n"
		if !strings.Contains(header+"\n", entry) {
			t.Errorf("header lacks the entry for %s", f.Path)
		}
		if !strings.Contains(header, "- config_name: \""+f.Config+"\"\n") {
			t.Errorf("header lacks config %s", f.Config)
		}
	}
	st := s.Stats
	for _, want := range []string{
		"# Sample \\| prefs",
		"| seed.jsonl | 5 | 0 |",
		"| mt\\_bench.jsonl | 2 | 1 |",
		"not-vague dropped 1",
		"| model-a | 14 | temperature 0.7, max\\_tokens 256 |",
		"Generator gen-b was asked 7 prompts in the last run, answered 6 and failed on 1 (14.3%)",
		"by route and reason (`ai/` kept by the AI, `human/` sent to people): ai/unspecified 6, human/small gap 1.",
		"no-bad 1 (of 26 responses; 25 kept)",
		"rm:plus (reward model): 25 scores",
		"judge:j1 (LLM judge): 0 scores, 12 pairwise comparisons",
		"of 12 comparisons with the responses in both orders, 10 gave the same preference, 0 a tie in both orders, 2 disagreed between the orders and 0 had an order without a verdict (83.3% of the decided ones agree)",
		"6 pairs were labeled by AI: 1 from scores alone (stage 2) and 5 by the AI judges and reward models (stage 3), counted from the data files.",
		"This run wrote 6 pairs to the dataset (6 labeled by AI, 0 by people).",
		"1 pair the AI was unsure of went to people; 0 pairs were decided by people",
		"krippendorff\\_alpha = 0.710 over 40 items",
		"generate: 1 failed item",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	if st.PairsHuman != 1 || st.Filter.In != 26 {
		t.Fatalf("the sample run changed: %+v", st)
	}
	rows := 0
	for _, f := range files {
		if f.Config == ConfigDefault {
			rows += f.Rows
		}
	}
	if rows != st.PairsAI {
		t.Errorf("default config holds %d rows, the run wrote %d pairs", rows, st.PairsAI)
	}
}
