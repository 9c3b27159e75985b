// Command label-server serves the human-labeling queue of a run directory
// to annotators in their browsers.
//
//	go run ./examples/label-server -run DIR -annotators alice,bob,carol -overlap 3
//
// It prints each new annotator's link (with a generated token, unless given
// as name=token; a weak token is refused) and the dashboard's. Tokens are
// kept, hashed, in DIR/label_accounts.jsonl: on a restart the links handed
// out keep working (they are not printed again: only their hashes are
// stored). Annotators can be added and revoked from the dashboard.
// -gold FILE mixes items with known answers (label.GoldItem, one JSON a
// line) among the queue's at -gold-rate, to measure each annotator's
// accuracy. Labels go to DIR/human_labels.jsonl as
// they are made; a later pipeline run over DIR with label.Human picks them
// up. It can also export the queue for Label Studio or Argilla and import
// their exports:
//
//	go run ./examples/label-server -run DIR -export-labelstudio tasks.json
//	go run ./examples/label-server -run DIR -import-labelstudio export.json
//	go run ./examples/label-server -run DIR -export-argilla records.json
//	go run ./examples/label-server -run DIR -import-argilla records.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/label"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "label-server:", err)
		os.Exit(1)
	}
}

// defaultAddr is loopback: the app is for people on this machine (or behind
// a proxy the data owner sets up), never the open network by accident.
const defaultAddr = "127.0.0.1:8080"

func run(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("label-server", flag.ContinueOnError)
	var (
		runDir     = fl.String("run", "", "run directory (required)")
		addr       = fl.String("addr", defaultAddr, "address to listen on (loopback by default)")
		annotators = fl.String("annotators", "annotator", "comma-separated annotators, each name or name=token")
		admin      = fl.String("admin-token", "", "dashboard token (kept from the last start, or generated, when empty)")
		newAdmin   = fl.Bool("new-admin-token", false, "replace the dashboard's token by a new one (the old link stops working)")
		goldFile   = fl.String("gold", "", "file of gold items (label.GoldItem, one JSON a line) mixed in unmarked")
		goldRate   = fl.Float64("gold-rate", 0.1, "share of the items served that are gold ones (with -gold)")
		optional   = fl.Bool("strength-optional", false, "let A or B be chosen without saying how much better")
		overlap    = fl.Int("overlap", 1, "distinct annotators per pair")
		minAgree   = fl.Float64("min-agreement", 0, "share of labels that must agree with the majority (0: none)")
		more       = fl.Bool("more-labels", false, "on a tie or low agreement ask for another label instead of dropping the pair")
		lease      = fl.Duration("lease", 10*time.Minute, "time an annotator holds an item before it goes back to the queue")
		guidelines = fl.String("guidelines", "", "file with the labeling guidelines (Markdown)")
		title      = fl.String("title", "", "page title")
		syncEach   = fl.Bool("fsync-each", false, "fsync every label before answering (default: fsync at least once a second)")
		exportLS   = fl.String("export-labelstudio", "", "write the queue as Label Studio tasks to this file and exit (the labeling config goes to FILE.xml)")
		importLS   = fl.String("import-labelstudio", "", "import a Label Studio JSON export and exit")
		exportAR   = fl.String("export-argilla", "", "write the queue as Argilla records to this file and exit (the settings go to FILE.settings.json)")
		importAR   = fl.String("import-argilla", "", "import Argilla records (JSON or JSON lines) and exit")
	)
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *runDir == "" {
		fl.Usage()
		return errors.New("-run is required")
	}
	dir, err := prefdata.OpenRunDir(*runDir)
	if err != nil {
		return err
	}
	defer dir.Close()
	if *syncEach {
		dir.SyncInterval = -1
	}
	pol := label.Policy{Labels: *overlap, MinAgreement: *minAgree}
	if *more {
		pol.Tie, pol.Low = label.TieMoreLabels, label.LowMoreLabels
	}
	var guide string
	if *guidelines != "" {
		b, err := os.ReadFile(*guidelines)
		if err != nil {
			return err
		}
		guide = string(b)
	}

	switch {
	case *exportLS != "" || *exportAR != "":
		q, err := label.OpenQueue(dir)
		if err != nil {
			return err
		}
		if *exportLS != "" {
			if err := writeFile(*exportLS, func(w io.Writer) error { return label.ExportLabelStudio(w, q.Pairs()) }); err != nil {
				return err
			}
			if err := os.WriteFile(*exportLS+".xml", []byte(label.LabelStudioConfig()), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d tasks written to %s, labeling config to %s.xml\n", q.Len(), *exportLS, *exportLS)
		}
		if *exportAR != "" {
			if err := writeFile(*exportAR, func(w io.Writer) error { return label.ExportArgilla(w, q.Pairs()) }); err != nil {
				return err
			}
			settings, err := label.ArgillaSettings(guide, *overlap)
			if err != nil {
				return err
			}
			if err := os.WriteFile(*exportAR+".settings.json", settings, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d records written to %s, settings to %s.settings.json\n", q.Len(), *exportAR, *exportAR)
		}
		return nil
	case *importLS != "" || *importAR != "":
		store, err := label.OpenStore(dir)
		if err != nil {
			return err
		}
		q, err := label.OpenQueue(dir)
		if err != nil {
			return err
		}
		imp, name := label.ImportLabelStudio, *importLS
		if *importAR != "" {
			imp, name = label.ImportArgilla, *importAR
		}
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := imp(store, q, f, name)
		err = errors.Join(err, store.Close())
		fmt.Fprintf(stdout, "imported %d labels (%d already there, %d older than the one that counts, %d skipped)\n", st.Imported, st.Existing, st.Stale, st.Skipped)
		return err
	}

	var as []label.Annotator
	for _, a := range strings.Split(*annotators, ",") {
		name, tok, _ := strings.Cut(strings.TrimSpace(a), "=")
		if name != "" {
			as = append(as, label.Annotator{Name: name, Token: tok})
		}
	}
	if *newAdmin && *admin == "" {
		*admin = label.NewToken()
	}
	var gold []label.GoldItem
	if *goldFile != "" {
		f, err := os.Open(*goldFile)
		if err != nil {
			return err
		}
		gold, err = label.ReadGold(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *goldFile, err)
		}
	}
	srv, err := label.NewServer(label.Config{
		Dir: dir, Annotators: as, AdminToken: *admin, Policy: pol, Lease: *lease,
		Guidelines: guide, Title: *title, StrengthOptional: *optional, Gold: gold, GoldRate: *goldRate,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "serving %d queued pairs from %s, %d annotator(s) per pair\n", srv.Queue().Len(), *runDir, pol.Labels)
	for _, a := range srv.Annotators() {
		if a.Token == "" {
			fmt.Fprintf(stdout, "  %-12s link unchanged (handed out before; revoke and add again from the dashboard for a new one)\n", a.Name)
			continue
		}
		fmt.Fprintf(stdout, "  %-12s %s/?token=%s\n", a.Name, base, a.Token)
	}
	if tok := srv.AdminToken(); tok != "" {
		fmt.Fprintf(stdout, "  %-12s %s/admin?token=%s\n", "dashboard", base, tok)
	} else {
		fmt.Fprintf(stdout, "  %-12s %s/admin (link unchanged; -new-admin-token makes a new one)\n", "dashboard", base)
	}

	hs := label.NewHTTPServer(srv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	// Labels are written before each answer; this bounds how long one can
	// sit unsynced when no label follows it.
	synced := make(chan struct{})
	go func() {
		defer close(synced)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := errors.Join(dir.Sync(), srv.Store().Sync()); err != nil {
					log.Printf("sync: %v", err)
				}
			}
		}
	}()
	defer func() { stop(); <-synced }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Printf("shutdown: %v", err)
	}
	return errors.Join(dir.Sync(), srv.Store().Close())
}

func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
