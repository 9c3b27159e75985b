package runstore

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/prefdata/prefdata"
)

// FileHumanLabels is the run-directory file of human labels: one [Label] a
// line, from package label's web app and its imports alike. It is
// append-only: an undo is a later line that retracts an earlier one.
const FileHumanLabels = "human_labels.jsonl"

// The human label is a record of the run store, declared here once: package
// label writes it (and names it label.Label, an alias), runstore and
// dataset read it. It lives in runstore rather than in the root package
// because the pipeline never reads or writes it, and runstore is the one
// package both label and dataset import.

// Verdict is what an annotator decided about a pair.
type Verdict string

// The verdicts. A "both bad" or tie outcome yields no pair.
const (
	VerdictPrefer  Verdict = "prefer"   // Label.Preferred names the better response
	VerdictTie     Verdict = "tie"      // equally good
	VerdictBothBad Verdict = "both_bad" // neither is acceptable
)

// Strength is how much better the preferred response is (Llama 2 style). It
// becomes the pair's margin.
type Strength int

// The strengths.
const (
	Slightly Strength = 1
	Clearly  Strength = 2
	Much     Strength = 3
)

// String returns "slightly", "clearly" or "much".
func (s Strength) String() string {
	switch s {
	case Slightly:
		return "slightly"
	case Clearly:
		return "clearly"
	case Much:
		return "much"
	}
	return fmt.Sprintf("strength(%d)", int(s))
}

// MaxCommentBytes bounds a label's comment.
const MaxCommentBytes = 4000

// Sources of labels.
const (
	SourceApp         = "app"
	SourceLabelStudio = "labelstudio"
	SourceArgilla     = "argilla"
)

// Label is one person's judgment of one pair: one line of
// [FileHumanLabels].
type Label struct {
	// ID is unique per label. Imports derive it from the tool's own IDs, so
	// importing the same file twice adds nothing.
	ID        string  `json:"id"`
	PairID    string  `json:"pair_id"`
	PromptID  string  `json:"prompt_id,omitempty"`
	Annotator string  `json:"annotator"`
	Verdict   Verdict `json:"verdict,omitempty"`
	// Preferred is the ID of the better response when Verdict is
	// VerdictPrefer.
	Preferred string   `json:"preferred,omitempty"`
	Strength  Strength `json:"strength,omitempty"`
	Comment   string   `json:"comment,omitempty"`
	// Shown lists the response IDs in the order the annotator saw them, left
	// (A) first: the sides are shuffled per annotator and item against
	// position bias.
	Shown []string `json:"shown,omitempty"`
	// Source is SourceApp, SourceLabelStudio or SourceArgilla.
	Source string    `json:"source"`
	Time   time.Time `json:"time"`
	// LeadTime is the seconds the annotator spent on the item, when known.
	LeadTime float64 `json:"lead_time_s,omitempty"`
	// Undoes, on a retraction line, is the ID of the label it retracts; the
	// other fields then only say who retracted it and when.
	Undoes string `json:"undoes,omitempty"`
}

// Check reports what is wrong with l as a label of pair p, or nil. A
// retraction is not checked against a pair.
func (l Label) Check(p prefdata.Pair) error {
	var errs []error
	if l.ID == "" {
		errs = append(errs, errors.New("empty label id"))
	}
	if l.Annotator == "" {
		errs = append(errs, errors.New("empty annotator"))
	}
	if l.PairID != p.ID {
		errs = append(errs, fmt.Errorf("pair %q is not %q", l.PairID, p.ID))
	}
	switch l.Verdict {
	case VerdictPrefer:
		if l.Preferred != p.Chosen.ID && l.Preferred != p.Rejected.ID {
			errs = append(errs, fmt.Errorf("preferred response %q is not a response of pair %s", l.Preferred, p.ID))
		}
		if l.Strength != 0 && (l.Strength < Slightly || l.Strength > Much) {
			errs = append(errs, fmt.Errorf("strength %d is not 1 (slightly), 2 (clearly) or 3 (much)", l.Strength))
		}
	case VerdictTie, VerdictBothBad:
		if l.Preferred != "" {
			errs = append(errs, fmt.Errorf("verdict %s names a preferred response", l.Verdict))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown verdict %q (want prefer, tie or both_bad)", l.Verdict))
	}
	if len(l.Comment) > MaxCommentBytes {
		errs = append(errs, fmt.Errorf("comment is %d bytes, more than the %d allowed", len(l.Comment), MaxCommentBytes))
	}
	if !utf8.ValidString(l.Comment) {
		errs = append(errs, errors.New("comment is not valid UTF-8"))
	}
	return errors.Join(errs...)
}

// HumanLabels calls fn for every human label line (retractions too), in
// file order. A line that is not a label gives a *LineError.
func (s *Store) HumanLabels(fn func(Label) error) error {
	return scan(s, FileHumanLabels, func(_ int, l Label) error { return fn(l) })
}

// CurrentLabels returns the human labels that count, by label ID: every
// label line that no retraction line retracts. Lines without an ID (not
// written by package label) count once each.
func (s *Store) CurrentLabels() (map[string]Label, error) {
	labels, undone := map[string]Label{}, map[string]bool{}
	n := 0
	err := s.HumanLabels(func(l Label) error {
		if l.Undoes != "" {
			undone[l.Undoes] = true
			return nil
		}
		key := l.ID
		if key == "" {
			key = fmt.Sprintf("\x00line %d", n)
		}
		n++
		labels[key] = l
		return nil
	})
	for id := range undone {
		delete(labels, id)
	}
	return labels, err
}
