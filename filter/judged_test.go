package filter

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadJudgedReportsEveryBadLine(t *testing.T) {
	in := strings.Join([]string{
		`{"id": "p1", "prompt": "q", "a": "x", "b": "y", "verdicts": [{"judge": "j", "first": "a", "winner": "a"}, {"judge": "j", "first": "b", "winner": null}], "scores": [{"scorer": "rm", "a": 1.5, "b": -0.5}]}`,
		``,
		`{"id": "p2", "a": true, "b": 12, "verdicts": [{"judge": "j", "first": "b", "winner": "tie"}]}`,
		`{"id": "p3", "a": "x", "b": "y", "verdicts": [{"judge": "j", "first": "c", "winner": "a"}]}`,
		`{"id": "p4", "a": "x", "b": "y", "verdicts": [{"judge": "j", "first": "a", "winner": "A"}]}`,
		`{"id": "p5", "a": "x", "b": "y", "verdict": []}`,
		`{"id": "p1", "a": "x", "b": "y"}`,
		`not json`,
		`{"a": "x"}`,
	}, "\n")
	pairs, err := ReadJudged(strings.NewReader(in), "P.jsonl")
	if len(pairs) != 2 || pairs[0].ID != "p1" || pairs[1].ID != "p2" {
		t.Fatalf("good pairs %+v, want p1 and p2", pairs)
	}
	if pairs[1].A != "true" || pairs[1].B != "12" {
		t.Errorf("p2: a %q b %q, want the JSON text of a boolean and a number", pairs[1].A, pairs[1].B)
	}
	for _, want := range []string{"P.jsonl:4: ", `first is "c"`, "P.jsonl:5: ", `winner is "A"`, "P.jsonl:6: ", `unknown field "verdict"`,
		"P.jsonl:7: pair p1: duplicate id", "P.jsonl:8: ", `P.jsonl:9: no "id"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	var le *LineError
	if !errors.As(err, &le) || le.File != "P.jsonl" || le.Line != 4 {
		t.Errorf("errors.As: %+v, want the first bad line as a *LineError", le)
	}
	ev := pairs[0].Evidence()
	want := []Judgment{{"j", ChoiceA, ChoiceA}, {"j", ChoiceB, ChoiceNone}}
	if len(ev.Judgments) != 2 || ev.Judgments[0] != want[0] || ev.Judgments[1] != want[1] {
		t.Errorf("judgments %+v, want %+v", ev.Judgments, want)
	}
	if len(ev.Margins) != 1 || ev.Margins[0] != (Margin{"rm", 2}) {
		t.Errorf("margins %+v, want rm 2", ev.Margins)
	}
}

func TestReadHumanLabels(t *testing.T) {
	in := `{"id": "p1", "annotator": "gold", "winner": "a"}
{"id": "p1", "annotator": "x", "winner": "maybe"}
{"id": "p2", "annotator": "x", "winner": "tie"}
`
	hs, err := ReadHumanLabels(strings.NewReader(in), "H.jsonl")
	if len(hs) != 2 || err == nil || !strings.Contains(err.Error(), `H.jsonl:2: pair p1: winner is "maybe"`) {
		t.Errorf("labels %+v, error %v", hs, err)
	}
}

func TestReadJudgedSharedSets(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "judged")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("../shared absent (%v)", err)
	}
	for set, n := range map[string]int{"llmbar-natural": 100, "llmbar-faireval": 66, "pandalm": 999} {
		pairs, err := ReadJudgedFile(filepath.Join(dir, set+".pairs.jsonl"))
		if err != nil || len(pairs) != n {
			t.Errorf("%s: %d pairs, error %v; want %d", set, len(pairs), err, n)
		}
		if _, err := ReadHumanLabelsFile(filepath.Join(dir, set+".human.jsonl")); err != nil {
			t.Errorf("%s labels: %v", set, err)
		}
	}
}
