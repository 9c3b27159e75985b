// Command screenshots makes the README's pictures of the labeling app: it
// queues demo items in a temporary run directory, serves them on loopback,
// and has headless Chromium take the labeling page, its difference view and
// the dashboard.
//
//	cd label/browsertest && go run ./cmd/screenshots -out ../../docs/screenshots
//
// With -report FILE it also takes a run report (report.html, as the
// quickstart writes it) as report.png.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/label"
	"github.com/prefdata/prefdata/label/browsertest"
)

func main() {
	if err := run(os.Args[1:]); errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fl := flag.NewFlagSet("screenshots", flag.ContinueOnError)
	out := fl.String("out", "screenshots", "folder to write the PNG files to")
	width := fl.Int("width", 1400, "window width in pixels")
	height := fl.Int("height", 1000, "window height in pixels")
	report := fl.String("report", "", "also take this report.html (as written by dataset.WriteReportFiles, e.g. by the quickstart) as report.png")
	review := fl.Bool("review", false, "also take the other pages (ranking, skip box, done, errors, dashboard after changes), to look at")
	if err := fl.Parse(args); err != nil {
		return err
	}
	exe := browsertest.Chromium()
	if exe == "" {
		return errors.New("no browser: set PREFDATA_CHROMIUM or install Debian's chromium")
	}
	tmp, err := os.MkdirTemp("", "prefdata-screenshots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dir, err := prefdata.OpenRunDir(filepath.Join(tmp, "run"))
	if err != nil {
		return err
	}
	defer dir.Close()
	pairs := browsertest.DemoPairs()
	if *review {
		// A prompt with three responses: the ranking view.
		msgs := []prefdata.Message{{Role: prefdata.RoleUser, Content: "Write a one-line **slogan** for a bakery."}}
		a, b, c := "Fresh from *our* oven to your table.", "Bread. Good.", "We knead you every morning."
		p1, p2 := browsertest.Pair(msgs, a, b, 0.6), browsertest.Pair(msgs, a, c, 0.6)
		pairs = append(pairs, p1, p2)
	}
	if err := browsertest.QueueDemo(dir, pairs); err != nil {
		return err
	}
	alice, bob, admin := label.NewToken(), label.NewToken(), label.NewToken()
	srv, err := label.NewServer(label.Config{
		Dir:        dir,
		Annotators: []label.Annotator{{Name: "alice", Token: alice}, {Name: "bob", Token: bob}},
		AdminToken: admin, Policy: label.Policy{Labels: 2}, Title: "prefdata labeling",
	})
	if err != nil {
		return err
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bctx, stop := browsertest.Browser(ctx, exe, filepath.Join(tmp, "profile"), *width, *height)
	defer stop()

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			png, err := chromedp.CaptureScreenshot()(ctx, t)
			if err != nil {
				return chromedp.Void{}, err
			}
			path := filepath.Join(*out, name)
			fmt.Println(path)
			return chromedp.Void{}, os.WriteFile(path, png, 0o644)
		}
	}
	if err := chromedp.Do(bctx,
		// Bob labels the first item, so the dashboard has figures.
		chromedp.Navigate(ts.URL+"/?token="+bob),
		chromedp.WaitVisible(chromedp.CSS("#labelform")),
		chromedp.KeyEvent("2"), chromedp.KeyEvent("a"),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		// Alice's view of the same item.
		chromedp.Navigate(ts.URL+"/?token="+alice),
		chromedp.WaitVisible(chromedp.CSS("#labelform")),
		shot("label.png"),
		chromedp.KeyEvent("d"),
		chromedp.WaitVisible(chromedp.CSS("#side-a .view-diff")),
		shot("label-diff.png"),
		chromedp.KeyEvent("d"),
		chromedp.KeyEvent("b"),
		chromedp.WaitVisible(chromedp.CSS("#hint")),
		shot("label-strength.png"),
		chromedp.KeyEvent("3"),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		chromedp.Navigate(ts.URL+"/admin?token="+admin),
		chromedp.WaitVisible(chromedp.CSS("#annotators")),
		shot("dashboard.png"),
	); err != nil {
		return err
	}
	if *report != "" {
		abs, err := filepath.Abs(*report)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return err
		}
		if err := chromedp.Do(bctx,
			chromedp.Navigate("file://"+filepath.ToSlash(abs)),
			chromedp.WaitVisible(chromedp.CSS("body")),
			shot("report.png"),
		); err != nil {
			return err
		}
	}
	if !*review {
		return nil
	}
	dark := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	})
	return chromedp.Do(bctx,
		chromedp.Navigate(ts.URL+"/label"),
		chromedp.WaitVisible(chromedp.CSS("#rankform")),
		dark,
		shot("review-rank-dark.png"),
		shot("review-rank.png"),
		chromedp.KeyEvent("s"),
		chromedp.WaitVisible(chromedp.CSS("#reason")),
		chromedp.KeyEvent(kb.End),
		shot("review-skip.png"),
		chromedp.SendKeys(chromedp.CSS("#reason"), "The prompt is unclear"),
		chromedp.Click(chromedp.CSS("#flag")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		shot("review-after-flag.png"),
		chromedp.Navigate(ts.URL+"/guidelines"),
		chromedp.WaitVisible(chromedp.CSS("#guidelines")),
		shot("review-guidelines.png"),
		chromedp.Navigate(ts.URL+"/admin"),
		chromedp.WaitVisible(chromedp.CSS("#newname")),
		chromedp.SendKeys(chromedp.CSS("#newname"), "carol"),
		chromedp.Click(chromedp.CSS("#add")),
		chromedp.WaitVisible(chromedp.CSS("#newlink")),
		shot("review-dashboard-added.png"),
		chromedp.Navigate(ts.URL+"/label?token=nope"),
		chromedp.WaitVisible(chromedp.CSS("#error-message")),
		shot("review-error.png"),
	)
}
