package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prefdata/prefdata/filter"
)

// writeSet writes n simulated judged pairs (three judges, both orders;
// one biased to the first position) and, per pair, `annotators` labels
// (each right with probability 0.97) to dir; it returns the paths and the
// truth.
func writeSet(t *testing.T, dir string, n, annotators int) (pairsPath, humanPath string, truth map[string]string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	truth = map[string]string{}
	pf, err := os.Create(filepath.Join(dir, "P.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	hf, err := os.Create(filepath.Join(dir, "H.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	flip := map[string]string{"a": "b", "b": "a"}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("p%d", i)
		w := "a"
		if rng.IntN(2) == 0 {
			w = "b"
		}
		truth[id] = w
		p := filter.JudgedPair{ID: id, Prompt: "q", A: "x", B: "y"}
		for _, j := range []struct {
			name        string
			skill, bias float64
		}{{"good", 0.9, 0.05}, {"biased", 0.8, 0.5}, {"weak", 0.7, 0.1}} {
			for _, first := range []string{"a", "b"} {
				v := w
				switch {
				case rng.Float64() < j.bias:
					v = first
				case rng.Float64() >= j.skill:
					v = flip[w]
				}
				p.Verdicts = append(p.Verdicts, filter.JudgedVerdict{Judge: j.name, First: first, Winner: &v})
			}
		}
		b, _ := json.Marshal(p)
		fmt.Fprintf(pf, "%s\n", b)
		for k := 0; k < annotators; k++ {
			l := w
			if rng.Float64() < 0.03 {
				l = flip[w]
			}
			b, _ := json.Marshal(filter.HumanLabel{ID: id, Annotator: fmt.Sprintf("ann%d", k), Winner: l})
			fmt.Fprintf(hf, "%s\n", b)
		}
	}
	pf.Close()
	hf.Close()
	return pf.Name(), hf.Name(), truth
}

func readOut(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("D line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

var lastLine = regexp.MustCompile(`^human (\d+) of (\d+) pairs \(([0-9.]+)%\); AI-labeled accuracy predicted ([0-9.]+) \[([0-9.]+), ([0-9.]+)\]$`)

func TestRouteStudyContract(t *testing.T) {
	dir := t.TempDir()
	pairsPath, humanPath, truth := writeSet(t, dir, 300, 1)
	out := filepath.Join(dir, "D.jsonl")
	var buf strings.Builder
	if err := run([]string{"-pairs", pairsPath, "-human", humanPath, "-target", "0.9", "-seed", "2", "-out", out, "-bootstrap", "5"}, &buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	m := lastLine.FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last line %q does not match the contract", lines[len(lines)-1])
	}
	human, _ := strconv.Atoi(m[1])
	total, _ := strconv.Atoi(m[2])
	pct, _ := strconv.ParseFloat(m[3], 64)
	pred, _ := strconv.ParseFloat(m[4], 64)
	lo, _ := strconv.ParseFloat(m[5], 64)
	hi, _ := strconv.ParseFloat(m[6], 64)
	if total != 300 || human <= 0 || human >= total {
		t.Errorf("human %d of %d: want some but not all of 300", human, total)
	}
	if d := pct - 100*float64(human)/float64(total); d > 0.06 || d < -0.06 {
		t.Errorf("percentage %.1f for %d of %d", pct, human, total)
	}
	if pred < 0.9 || lo > pred || hi < pred {
		t.Errorf("predicted %.3f [%.3f, %.3f]: below the target or outside its interval", pred, lo, hi)
	}
	d := readOut(t, out)
	if len(d) != 300 {
		t.Fatalf("%d D lines, want one per pair (300)", len(d))
	}
	seen := map[string]bool{}
	var nHuman, aiN, aiRight int
	for _, l := range d {
		id, _ := l["id"].(string)
		if seen[id] || truth[id] == "" {
			t.Errorf("D line with id %q: unknown or repeated", id)
		}
		seen[id] = true
		w := l["winner"]
		if w != "a" && w != "b" {
			t.Errorf("%s: winner %v, want a or b", id, w)
		}
		switch l["by"] {
		case "human":
			nHuman++
			if _, ok := l["p"]; ok {
				t.Errorf("%s: a human line has p", id)
			}
		case "ai":
			p, ok := l["p"].(float64)
			if !ok || p < 0.5 || p > 1 {
				t.Errorf("%s: AI line p %v, want in [0.5, 1]", id, l["p"])
			}
			aiN++
			if w == truth[id] {
				aiRight++
			}
		default:
			t.Errorf("%s: by %v", id, l["by"])
		}
	}
	if nHuman != human {
		t.Errorf("%d human lines, last line says %d", nHuman, human)
	}
	// The target is met on the simulated truth.
	if w := filter.Wilson(aiRight, aiN); w.Hi < 0.9 {
		t.Errorf("AI-labeled accuracy %v misses the target 0.9", w)
	}
	if !strings.Contains(buf.String(), "audit: ") {
		t.Errorf("no audit line in\n%s", buf.String())
	}
}

// TestRouteStudyRevealsOnlyWhatItAsks checks the people's side: a label
// is read only for a pair sent to people, k of them with -overlap k, each
// counted as work; the seed changes which are revealed.
func TestRouteStudyRevealsOnlyWhatItAsks(t *testing.T) {
	dir := t.TempDir()
	pairsPath, humanPath, _ := writeSet(t, dir, 200, 3)
	pairs, err := filter.ReadJudgedFile(pairsPath)
	if err != nil {
		t.Fatal(err)
	}
	labels, err := filter.ReadHumanLabelsFile(humanPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{1, 2} {
		pp := newPeople(labels, k, 5)
		res, err := study(pairs, pp, studyConfig{goal: filter.TargetAccuracy(0.95), audit: 0.05, rounds: 5, seed: 5, bootstrap: 5, byDoubt: true})
		if err != nil {
			t.Fatal(err)
		}
		asked := 0
		for _, l := range res.lines {
			got := len(pp.revealed[l.ID])
			switch {
			case l.By == "human":
				asked++
				if got != k {
					t.Errorf("overlap %d: %s went to people with %d labels revealed", k, l.ID, got)
				}
			case pp.asked(l.ID):
				t.Errorf("overlap %d: %s is AI-labeled but its labels were read", k, l.ID)
			}
		}
		if pp.work != asked*k || res.human != asked {
			t.Errorf("overlap %d: work %d, human %d, asked %d: each revealed label must count", k, pp.work, res.human, asked)
		}
	}
	a, b := newPeople(labels, 1, 1), newPeople(labels, 1, 2)
	differ := 0
	for _, p := range pairs {
		a.ask(p.ID)
		b.ask(p.ID)
		if a.revealed[p.ID][0].Annotator != b.revealed[p.ID][0].Annotator {
			differ++
		}
	}
	if differ == 0 {
		t.Error("seeds 1 and 2 revealed the same annotators everywhere")
	}
}

func TestRouteStudyOverlapCurveAlpha(t *testing.T) {
	dir := t.TempDir()
	pairsPath, humanPath, _ := writeSet(t, dir, 150, 3)
	out := filepath.Join(dir, "D.jsonl")
	var buf strings.Builder
	if err := run([]string{"-pairs", pairsPath, "-human", humanPath, "-target", "0.95", "-seed", "1", "-out", out, "-overlap", "3", "-curve", "-bootstrap", "5"}, &buf); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, want := range []string{"human fraction  predicted accuracy\n0.000  ", "\n1.000  1.000\n", "Krippendorff's alpha ", "human labels: "} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	m := lastLine.FindStringSubmatch(s[strings.LastIndex(strings.TrimSpace(s), "\n")+1 : len(s)-1])
	if m == nil {
		t.Fatalf("last line does not match:\n%s", s)
	}
	var labels int
	fmt.Sscanf(s[strings.Index(s, "human labels: "):], "human labels: %d", &labels)
	h, _ := strconv.Atoi(m[1])
	if labels != 3*h {
		t.Errorf("%d labels for %d pairs at overlap 3", labels, h)
	}
}

func TestRouteStudyBadInput(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "P.jsonl")
	os.WriteFile(p, []byte(`{"id":"x","prompt":"q","a":"1","b":"2","verdicts":[],"scores":[]}`+"\n"+`{"id":"y","a":"1","b":"2","verdicts":[{"judge":"j","first":"c","winner":"a"}]}`+"\n"), 0o644)
	h := filepath.Join(dir, "H.jsonl")
	os.WriteFile(h, []byte(`{"id":"x","annotator":"a","winner":"a"}`+"\n"), 0o644)
	err := run([]string{"-pairs", p, "-human", h, "-out", filepath.Join(dir, "D.jsonl")}, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "P.jsonl:2:") {
		t.Errorf("error %v, want one naming P.jsonl:2", err)
	}
	if err := run([]string{"-pairs", p, "-human", h}, &strings.Builder{}); err == nil {
		t.Error("no -out: no error")
	}
}

// sharedSets is the judged data beside the repository, or a skip.
func sharedSets(t *testing.T) string {
	dir := filepath.Join("..", "..", "..", "shared", "data", "judged")
	if _, err := os.Stat(filepath.Join(dir, "pandalm.pairs.jsonl")); err != nil {
		t.Skipf("../shared absent (%v): the real judged sets are not here", err)
	}
	return dir
}

// TestRouteStudyTableAudit: -table takes -audit and -sets, and leaves the
// defaults as they were for the next run. On llmbar-natural at 0.85 the
// goal sends nobody to people, so the audit (5% of 100 pairs, drawn by
// doubt: 5 pairs) is all of the human work, and with -audit 0 there is none.
func TestRouteStudyTableAudit(t *testing.T) {
	dir := sharedSets(t)
	frac := func(args ...string) string {
		var out strings.Builder
		if err := run(append([]string{"-table", dir, "-seeds", "1", "-bootstrap", "-1", "-sets", "llmbar-natural"}, args...), &out); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(line, "| llmbar-natural | 0.85 |") {
				return strings.TrimSpace(strings.Split(line, "|")[3])
			}
		}
		t.Fatalf("no 0.85 row in\n%s", out.String())
		return ""
	}
	if got := frac("-audit", "0"); got != "0.000" {
		t.Errorf("-audit 0: human fraction %s at 0.85, want 0.000", got)
	}
	if got := frac(); got == "0.000" {
		t.Errorf("default audit: human fraction %s at 0.85, want the audit's pairs", got)
	}
	if fmt.Sprint(benchSets) != "[llmbar-natural llmbar-faireval pandalm]" || benchAudit != 0.05 {
		t.Errorf("the table's settings leaked into the defaults: sets %v, audit %g", benchSets, benchAudit)
	}
}

// TestPairedOf: the mean of the per-seed differences and the standard
// error of that mean, sd/sqrt(n); one seed has no spread, so no error.
func TestPairedOf(t *testing.T) {
	p := pairedOf([]float64{0.01, -0.01, 0.03, 0.01})
	// mean 0.01; deviations 0, -0.02, 0.02, 0: variance 0.0008/3, se sqrt(0.0008/3/4)
	if math.Abs(p.mean-0.01) > 1e-12 || math.Abs(p.se-math.Sqrt(0.0008/12)) > 1e-12 {
		t.Errorf("pairedOf = %+v, want mean 0.01, se %.6f", p, math.Sqrt(0.0008/12))
	}
	if got := p.String(); got != "+0.010 ± 0.008" {
		t.Errorf("String = %q", got)
	}
	if p := pairedOf([]float64{-0.02}); p.mean != -0.02 || p.se != 0 {
		t.Errorf("one seed: %+v, want mean -0.02, se 0", p)
	}
	if p := pairedOf(nil); p != (pairedDiff{}) {
		t.Errorf("no seeds: %+v", p)
	}
}
