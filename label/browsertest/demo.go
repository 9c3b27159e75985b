// Package browsertest drives the labeling app in headless Chromium: its
// tests check what annotators and the admin see and do, and
// cmd/screenshots makes the README's pictures. It is a module of its own so
// that chromedp is not a dependency of prefdata.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/chromedp/chromedp"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/label"
)

// Chromium returns the browser to drive: $PREFDATA_CHROMIUM, or chromium
// (or chromium-browser) on PATH; "" when there is none.
func Chromium() string {
	if p := os.Getenv("PREFDATA_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser starts headless Chromium (exe) with its profile in dataDir and
// returns a context for chromedp actions; cancel stops the browser.
func Browser(ctx context.Context, exe, dataDir string, width, height int) (context.Context, context.CancelFunc) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(width, height),
		chromedp.UserDataDir(dataDir),
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	return bctx, func() { bcancel(); acancel() }
}

// Pair makes a queued pair of a conversation and two answers.
func Pair(msgs []prefdata.Message, a, b string, value float64) prefdata.Pair {
	pr := prefdata.Prompt{ID: prefdata.ContentID(msgs), Messages: msgs}
	c := prefdata.Response{ID: "r-" + prefdata.ContentID([]prefdata.Message{{Role: "a", Content: a}}), PromptID: pr.ID, Model: "model-1", Text: a}
	r := prefdata.Response{ID: "r-" + prefdata.ContentID([]prefdata.Message{{Role: "b", Content: b}}), PromptID: pr.ID, Model: "model-2", Text: b}
	return prefdata.Pair{
		ID: prefdata.PairID(pr.ID, c.ID, r.ID), Prompt: pr, Chosen: c, Rejected: r, NeedsHuman: true,
		Provenance: prefdata.Provenance{Stage: prefdata.StageFilter, Labeler: "judge", Confidence: 0.55, Value: value},
	}
}

// DemoPairs are realistic queue items: a multi-turn conversation with code
// and a table in Markdown, answers that differ in a few words.
func DemoPairs() []prefdata.Pair {
	conv := []prefdata.Message{
		{Role: prefdata.RoleSystem, Content: "You are a careful Go reviewer."},
		{Role: prefdata.RoleUser, Content: "Why does this loop print `3 3 3`?\n\n```go\nfor i := 0; i < 3; i++ {\n\tdefer func() { fmt.Print(i, \" \") }()\n}\n```"},
		{Role: prefdata.RoleAssistant, Content: "Which Go version do you build with?"},
		{Role: prefdata.RoleUser, Content: "Go 1.21. And what changes in **Go 1.22**?"},
	}
	a := "Before Go 1.22 the loop variable `i` is **one variable shared** by all iterations, so every deferred closure sees its last value, 3.\n\n" +
		"| Go version | `i` per iteration | prints |\n|---|---|---|\n| 1.21 | shared | `3 3 3` |\n| 1.22+ | new each time | `2 1 0` |\n\n" +
		"On 1.21, copy it:\n\n```go\nfor i := 0; i < 3; i++ {\n\ti := i // a new i for this iteration\n\tdefer func() { fmt.Print(i, \" \") }()\n}\n```\n\n" +
		"Deferred calls run last-in first-out, hence `2 1 0`."
	b := "Before Go 1.22 the loop variable `i` is **one variable shared** by all iterations, so every deferred closure sees its final value, 3.\n\n" +
		"| Go version | `i` per iteration | prints |\n|---|---|---|\n| 1.21 | shared | `3 3 3` |\n| 1.22+ | new each time | `0 1 2` |\n\n" +
		"On 1.21, pass it as an argument:\n\n```go\nfor i := 0; i < 3; i++ {\n\tdefer func(i int) { fmt.Print(i, \" \") }(i)\n}\n```"
	return []prefdata.Pair{
		Pair(conv, a, b, 0.9),
		Pair([]prefdata.Message{{Role: prefdata.RoleUser, Content: "Name three prime numbers."}}, "2, 3 and 5.", "1, 2 and 3.", 0.5),
		Pair([]prefdata.Message{{Role: prefdata.RoleUser, Content: "Translate *good morning* into French."}}, "Bonjour.", "Bonsoir.", 0.2),
	}
}

// QueueDemo appends pairs to a run directory's queue.
func QueueDemo(dir *prefdata.RunDir, pairs []prefdata.Pair) error {
	for _, p := range pairs {
		if err := dir.Append(prefdata.FileQueue, p); err != nil {
			return fmt.Errorf("queue: %w", err)
		}
	}
	return nil
}

// Gold makes a gold item with a known better answer (the first).
func Gold(question, good, bad string) label.GoldItem {
	p := Pair([]prefdata.Message{{Role: prefdata.RoleUser, Content: question}}, good, bad, 0)
	return label.GoldItem{Pair: p, Verdict: label.VerdictPrefer, Preferred: p.Chosen.ID}
}
