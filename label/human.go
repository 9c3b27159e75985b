package label

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prefdata/prefdata"
)

// HumanOptions configure [Human].
type HumanOptions struct {
	// Policy aggregates the labels of a pair (overlap, tie rule, agreement
	// threshold). Give the server the same one.
	Policy Policy
	// Wait makes Label wait until people have decided every pair that needs
	// them ("the pipeline waits while the server runs"), polling the labels
	// file. Without it ("stop after stage 3, collect later"), undecided
	// pairs come back still NeedsHuman and a later run collects them.
	Wait bool
	// Poll is the interval between reads of the labels file while waiting
	// (default 200ms).
	Poll time.Duration
}

// HumanLabeler is the [prefdata.Labeler] returned by [Human].
type HumanLabeler struct {
	inner prefdata.Labeler
	dir   *prefdata.RunDir
	opts  HumanOptions

	mu    sync.Mutex // guards store and queue, opened on first use
	store *Store
	queue *Queue
}

var (
	_ prefdata.Labeler = (*HumanLabeler)(nil)
	_ prefdata.Namer   = (*HumanLabeler)(nil)
)

// Human wraps the AI labeler inner so that the pairs it is unsure of are
// settled by the human labels collected in dir (by the web app or an
// import). For each pair inner returns with NeedsHuman it aggregates the
// labels with opts.Policy: a decided pair comes back labeled by people
// (NeedsHuman false, Provenance.Stage StageLabel, the annotators named,
// Chosen and Rejected swapped if people preferred the other response); a
// tie, "both bad" or low-agreement outcome yields no pair; an undecided pair
// comes back unchanged, still NeedsHuman, unless opts.Wait is set.
//
// Give it the pipeline's own *RunDir (Pipeline.Dir): with Wait it appends
// to the queue file the pipeline appends to, and two RunDir values on one
// folder would each write at their own idea of the file's end.
//
// HumanLabeler has no Fingerprint on purpose: its output changes as labels
// arrive, so the pipeline must not cache it.
func Human(inner prefdata.Labeler, dir *prefdata.RunDir, opts HumanOptions) *HumanLabeler {
	return &HumanLabeler{inner: inner, dir: dir, opts: opts}
}

// Name returns "human(" and the inner labeler's name.
func (h *HumanLabeler) Name() string {
	if n, ok := h.inner.(prefdata.Namer); ok {
		return "human(" + n.Name() + ")"
	}
	return fmt.Sprintf("human(%T)", h.inner)
}

func (h *HumanLabeler) open() (*Store, *Queue, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.store == nil {
		s, err := OpenStore(h.dir)
		if err != nil {
			return nil, nil, err
		}
		h.store = s
	}
	if h.queue == nil {
		q, err := OpenQueue(h.dir)
		if err != nil {
			return nil, nil, err
		}
		h.queue = q
	}
	return h.store, h.queue, nil
}

// Label implements [prefdata.Labeler].
func (h *HumanLabeler) Label(ctx context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) {
	if h.inner == nil {
		return nil, errors.New("label: Human: the AI labeler is nil")
	}
	pairs, err := h.inner.Label(ctx, c)
	if err != nil {
		return nil, err
	}
	needs := false
	for _, p := range pairs {
		needs = needs || p.NeedsHuman
	}
	if !needs {
		return pairs, nil
	}
	store, queue, err := h.open()
	if err != nil {
		return nil, err
	}
	if err := store.Refresh(); err != nil {
		return nil, err
	}
	out := make([]prefdata.Pair, 0, len(pairs))
	for _, p := range pairs {
		if !p.NeedsHuman {
			out = append(out, p)
			continue
		}
		if p.ID == "" {
			p.ID = prefdata.PairID(c.Prompt.ID, p.Chosen.ID, p.Rejected.ID)
		}
		d := h.opts.Policy.Decide(p, store.ForPair(p.ID))
		if d.Status == Pending && h.opts.Wait {
			if d, err = h.wait(ctx, p, store, queue); err != nil {
				return nil, err
			}
		}
		switch d.Status {
		case Pending:
			out = append(out, p)
		case Decided:
			hp, _ := Apply(p, d)
			out = append(out, hp)
		case Dropped:
			// people settled it with no pair
		}
	}
	return out, nil
}

// wait puts p in the queue file, where the server finds it, and polls the
// labels until p is decided or ctx is done.
func (h *HumanLabeler) wait(ctx context.Context, p prefdata.Pair, store *Store, queue *Queue) (Decision, error) {
	h.mu.Lock()
	_, err := queue.Refresh()
	if err == nil {
		if _, ok := queue.Pair(p.ID); !ok {
			// Responses the pipeline stored go in by reference.
			var rec prefdata.QueueRecord
			if rec, err = prefdata.NewQueueRecord(ctx, h.dir, p); err == nil {
				err = h.dir.Append(prefdata.FileQueue, rec)
			}
		}
	}
	h.mu.Unlock()
	if err != nil {
		return Decision{}, err
	}
	poll := h.opts.Poll
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return Decision{}, ctx.Err()
		case <-t.C:
		}
		if err := store.Refresh(); err != nil {
			return Decision{}, err
		}
		if d := h.opts.Policy.Decide(p, store.ForPair(p.ID)); d.Status != Pending {
			return d, nil
		}
	}
}
