package filter_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
)

// judgePromptsDigest runs the quickstart's judges (a 1-10 rubric judge and
// a three-way pairwise judge in both orders, JSON verdicts) on a fixed
// candidate and digests every prompt they send: ID, messages and options,
// in a fixed order.
func judgePromptsDigest(t *testing.T) (n, withOptions int, digest string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	gen := judgeGen{func(_ context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
		b, err := json.Marshal(struct {
			ID       string
			Messages []prefdata.Message
			Options  *prefdata.GenerateOptions
		}{p.ID, p.Messages, p.Options})
		if err != nil {
			return nil, err
		}
		mu.Lock()
		if p.Options != nil {
			withOptions++
		}
		seen = append(seen, string(b))
		mu.Unlock()
		text := "A is better. [[A]]"
		if strings.Contains(p.Messages[len(p.Messages)-1].Content, "Grade") {
			text = "Fine. Rating: [[7]]"
		}
		return []prefdata.Response{{ID: "r-" + p.ID, PromptID: p.ID, Model: "judge", Text: text}}, nil
	}}
	c := prefdata.Candidate{Prompt: prefdata.Prompt{ID: "p1", Messages: []prefdata.Message{{Role: prefdata.RoleSystem, Content: "Be brief & <kind>."}, {Role: prefdata.RoleUser, Content: "Explain \"JSON\"\nin one line."}}}}
	for i, text := range []string{"JSON is text.", "A format <for> data & more", "It is \u2028 a\ttab", "é 你好"} {
		c.Responses = append(c.Responses, prefdata.Response{ID: fmt.Sprintf("r%d", i), PromptID: "p1", Model: "m", Text: text})
	}
	judges := []prefdata.Filter{
		filter.Scores(&filter.RubricJudge{Generator: gen, Style: filter.StyleSingle}),
		&filter.PairwiseJudge{Generator: gen, Scale: filter.ThreeWay, Mode: filter.ConsistentOnly, MaxResponses: 4},
	}
	for _, j := range judges {
		out, err := j.Filter(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		c = out
	}
	// The calls run concurrently: digest them in a fixed order.
	sortStrings(seen)
	h := sha256.Sum256([]byte(strings.Join(seen, "\n")))
	return len(seen), withOptions, hex.EncodeToString(h[:])
}

type judgeGen struct {
	f func(context.Context, prefdata.Prompt) ([]prefdata.Response, error)
}

func (g judgeGen) Generate(ctx context.Context, p prefdata.Prompt) ([]prefdata.Response, error) {
	return g.f(ctx, p)
}
func (judgeGen) Name() string        { return "judge" }
func (judgeGen) Model() string       { return "judge" }
func (judgeGen) Fingerprint() string { return "judge-fp" }

func sortStrings(ss []string) {
	for i := 1; i < len(ss); i++ {
		for k := i; k > 0 && ss[k] < ss[k-1]; k-- {
			ss[k], ss[k-1] = ss[k-1], ss[k]
		}
	}
}

// The judges send the very prompts they sent before their templates were
// compiled and their schemas and hints kept: the same IDs, messages and
// options, so a run directory's journaled judge calls are found again and
// nothing is paid twice. The digest was taken on the code before those
// changes (066977a).
func TestJudgePromptsUnchanged(t *testing.T) {
	n, withOptions, got := judgePromptsDigest(t)
	t.Logf("%d prompts (%d with options), digest %s", n, withOptions, got)
	if n != 16 || withOptions == 0 { // 4 grades, 6 pairs in both orders
		t.Fatalf("%d judge prompts, %d with options: want 16, some with a schema", n, withOptions)
	}
	if want := "47dd0ab07e44da2b89189650ba8ab39d81ffbf05e73daf15aee8329a27de960b"; got != want {
		t.Errorf("the judge prompts changed: digest %s, was %s", got, want)
	}
}
