package label

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/runstore"
)

// FileHumanLabels is the run-directory file that holds every human label,
// one [Label] per line, from the web app and from imports alike. It is
// append-only: an undo is a later line that retracts an earlier one.
const FileHumanLabels = runstore.FileHumanLabels

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

// Label is one person's judgment of one pair, as stored in
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

// category returns catAI when l prefers p's Chosen (the AI's tentative
// winner), catOther when it prefers Rejected, or the verdict's name.
func (l Label) category(p prefdata.Pair) string {
	if l.Verdict != VerdictPrefer {
		return string(l.Verdict)
	}
	if l.Preferred == p.Chosen.ID {
		return catAI
	}
	return catOther
}

// Vote categories of a label relative to its pair.
const (
	catAI    = "ai"    // agrees with the AI's tentative order
	catOther = "other" // prefers the AI's rejected response
)

// swapped reports whether annotator should see pair p with its sides
// swapped: a stable pseudo-random choice per annotator and item, so a
// reload or a restart shows the same order.
func swapped(seed, annotator, pairID string) bool {
	h := sha256.Sum256([]byte(seed + "\x00" + annotator + "\x00" + pairID))
	return h[0]&1 == 1
}

// shownOrder returns the response IDs of p in the order annotator sees them.
func shownOrder(seed, annotator string, p prefdata.Pair) []string {
	if swapped(seed, annotator, p.ID) {
		return []string{p.Rejected.ID, p.Chosen.ID}
	}
	return []string{p.Chosen.ID, p.Rejected.ID}
}

func shortHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}
