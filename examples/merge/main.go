// Command merge joins the run directories of a sharded run into one
// dataset, equal to the output of the same run done unsharded on one
// machine.
//
// Shard a run over N machines by putting response.ShardFilter(i, N) first
// among the prompt filters of machine i (the same prompts file, the same
// configuration everywhere): each machine answers its share of the prompts
// and keeps its own run directory. Copy the directories to one place and
// run
//
//	go run ./examples/merge -out pairs.jsonl [-format trl-conversational] shard0/run shard1/run shard2/run
//
// merge reads the pairs of the latest run of each directory (through
// package runstore), puts them in the source's order (each pairs record
// holds its prompt's position in the source, the same on every machine
// since each reads the whole source and the shard filter passes over the
// others' prompts) and writes them in one of the dataset package's formats
// ("pairs", the default, is the pipeline's own Pair JSON). Shard with
// ShardFilter, not ShardSource: a ShardSource skips the other prompts
// before the pipeline counts them, and the positions are then the shard's
// own.
// A prompt finished in two directories (overlapping shards) is an error.
// The output is written to a temporary file and renamed at the end.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/dataset"
	"github.com/prefdata/prefdata/runstore"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "merge:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "output file (required)")
	format := fs.String("format", "pairs", "output format: pairs (prefdata.Pair JSON lines) or a dataset format (trl, trl-conversational, ...)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return errors.New("usage: merge -out FILE [-format F] RUN_DIR...")
	}
	sink, finish, err := create(*out, *format)
	if err != nil {
		return err
	}
	n, err := Merge(context.Background(), fs.Args(), sink)
	if err = finish(err); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d pairs from %d run directories: %s\n", n, fs.NArg(), *out)
	return nil
}

// create opens a temporary file beside path and a sink of the format on it;
// finish flushes and renames it over path, or removes it when the merge
// failed.
func create(path, format string) (prefdata.Sink, func(error) error, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, nil, err
	}
	var sink prefdata.Sink
	var flush func() error
	if format == "pairs" {
		w := newPairWriter(f)
		sink, flush = w, w.Flush
	} else {
		fm, err := dataset.ParseFormat(format)
		if err == nil {
			var w *dataset.Writer
			if w, err = dataset.NewWriter(f, fm, dataset.Options{}); err == nil {
				sink, flush = w, w.Flush
			}
		}
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, nil, err
		}
	}
	finish := func(err error) error {
		if err == nil {
			err = flush()
		}
		err = errors.Join(err, f.Close())
		if err == nil {
			err = os.Rename(f.Name(), path)
		}
		if err != nil {
			os.Remove(f.Name())
		}
		return err
	}
	return sink, finish, nil
}

// Merge writes the pairs of the latest run of each run directory to sink, in
// source order, and returns how many it wrote.
func Merge(ctx context.Context, dirs []string, sink prefdata.Sink) (int, error) {
	type prompt struct {
		pairs []prefdata.Pair
		pos   int64
		dir   string
	}
	done := map[string]*prompt{}
	for _, path := range dirs {
		st, err := runstore.OpenDir(path)
		if err != nil {
			return 0, err
		}
		if _, ok := st.Manifest(); !ok {
			err = fmt.Errorf("not a run directory (no %s)", prefdata.FileManifest)
		}
		if err == nil {
			err = st.Pairs(func(r prefdata.PairsRecord, current bool) error {
				if !current {
					return nil
				}
				if p, ok := done[r.PromptID]; ok && p.dir != path {
					return fmt.Errorf("prompt %s is finished in both %s and %s: the shards overlap", r.PromptID, p.dir, path)
				}
				done[r.PromptID] = &prompt{pairs: r.Pairs, pos: r.Pos, dir: path}
				return nil
			})
		}
		if cerr := st.Dir().Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
	}
	ids := make([]string, 0, len(done))
	for id := range done {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if pi, pj := done[ids[i]].pos, done[ids[j]].pos; pi != pj {
			return pi < pj
		}
		return ids[i] < ids[j]
	})
	n := 0
	for _, id := range ids {
		for _, p := range done[id].pairs {
			if err := sink.WritePair(ctx, p); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
