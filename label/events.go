package label

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/prefdata/prefdata"
)

// FileLabelEvents is the run-directory file of what annotators did besides
// labeling queue pairs: skips (with a reason), items flagged as broken, and
// answers to gold items. One [Event] a line, append-only; an undo is a later
// line that retracts an earlier one.
const FileLabelEvents = "label_events.jsonl"

// Kinds of [Event].
const (
	EventSkip   = "skip"   // the annotator passed on the item (Reason says why)
	EventBroken = "broken" // the annotator flagged the item as broken (Reason says how)
	EventGold   = "gold"   // the annotator answered a gold item (Label, Correct)
	EventUndo   = "undo"   // retracts the event Undoes
)

// Event is one line of [FileLabelEvents].
type Event struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	PairID    string    `json:"pair_id,omitempty"`
	Annotator string    `json:"annotator"`
	Reason    string    `json:"reason,omitempty"`
	Time      time.Time `json:"time"`
	// LeadTime is the seconds the annotator spent on the item.
	LeadTime float64 `json:"lead_time_s,omitempty"`
	// Label is the answer to a gold item, and Correct whether it matches
	// the known answer (the verdict and, for a preference, the side; the
	// strength does not count).
	Label   *Label `json:"label,omitempty"`
	Correct bool   `json:"correct,omitempty"`
	Undoes  string `json:"undoes,omitempty"`
}

// MaxReasonBytes bounds the reason of a skip or flag.
const MaxReasonBytes = 1000

// events is the in-memory index of FileLabelEvents.
type events struct {
	dir *prefdata.RunDir

	mu      sync.Mutex
	list    []Event          // in file order, retracted ones included
	live    map[string]bool  // event ID → counts (not retracted)
	passed  map[string]bool  // annotator\x00pair → skipped, flagged or answered (gold)
	byID    map[string]Event //
	bad     []string
	version uint64
	size    int64 // of the file when last read or written by us
}

func openEvents(dir *prefdata.RunDir) (*events, error) {
	e := &events{dir: dir}
	return e, e.load()
}

// load (re)reads the file. e.mu is held (or e is not shared yet).
func (e *events) load() error {
	e.list, e.live, e.passed, e.byID, e.bad = nil, map[string]bool{}, map[string]bool{}, map[string]Event{}, nil
	e.size = e.fileSize()
	return e.dir.Scan(FileLabelEvents, func(r prefdata.Record) error {
		var ev Event
		if err := json.Unmarshal(r.Data, &ev); err != nil || ev.ID == "" || ev.Annotator == "" {
			e.bad = append(e.bad, fmt.Sprintf("%s line %d: not an event", FileLabelEvents, r.Line))
			return nil
		}
		e.index(ev)
		return nil
	})
}

func (e *events) fileSize() int64 {
	st, err := os.Stat(e.dir.Path(FileLabelEvents))
	if err != nil {
		return 0
	}
	return st.Size()
}

// refresh rereads the file when another process (a second server on the
// same run directory) appended to it.
func (e *events) refresh() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fileSize() == e.size {
		return nil
	}
	return e.load()
}

// index adds ev to the in-memory state. e.mu is held (or e is not shared
// yet).
func (e *events) index(ev Event) {
	e.version++
	if ev.Kind == EventUndo {
		if old, ok := e.byID[ev.Undoes]; ok && e.live[old.ID] {
			e.live[old.ID] = false
			delete(e.passed, old.Annotator+"\x00"+old.PairID)
		}
		e.list = append(e.list, ev)
		return
	}
	e.list = append(e.list, ev)
	e.byID[ev.ID] = ev
	e.live[ev.ID] = true
	e.passed[ev.Annotator+"\x00"+ev.PairID] = true
}

func (e *events) add(ev Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.dir.Append(FileLabelEvents, ev); err != nil {
		return err
	}
	e.index(ev)
	e.size = e.fileSize()
	return nil
}

// hasPassed reports whether annotator skipped, flagged or answered (gold)
// the pair.
func (e *events) hasPassed(annotator, pairID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.passed[annotator+"\x00"+pairID]
}

// last returns annotator's latest event that counts.
func (e *events) last(annotator string) (Event, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.list) - 1; i >= 0; i-- {
		ev := e.list[i]
		if ev.Annotator == annotator && ev.Kind != EventUndo && e.live[ev.ID] {
			return ev, true
		}
	}
	return Event{}, false
}

// counting returns the events that count, in file order.
func (e *events) counting() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, ev := range e.list {
		if ev.Kind != EventUndo && e.live[ev.ID] {
			out = append(out, ev)
		}
	}
	return out
}

func (e *events) badLines() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.bad...)
}

// countBy counts annotator's events that count.
func (e *events) countBy(annotator string) int {
	gold, skipped := e.tally(annotator)
	return gold + skipped
}

// tally counts annotator's gold answers, and skips and flags, that count.
func (e *events) tally(annotator string) (gold, skipped int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.list {
		if ev.Annotator != annotator || !e.live[ev.ID] {
			continue
		}
		switch ev.Kind {
		case EventGold:
			gold++
		case EventSkip, EventBroken:
			skipped++
		}
	}
	return gold, skipped
}
