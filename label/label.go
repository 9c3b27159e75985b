package label

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/runstore"
)

// FileHumanLabels is the run-directory file that holds every human label,
// one [Label] per line, from the web app and from imports alike. It is
// append-only: an undo is a later line that retracts an earlier one.
const FileHumanLabels = runstore.FileHumanLabels

// Label is one person's judgment of one pair, as stored in
// [FileHumanLabels]. The record is declared once, in package runstore
// (which reads it for dataset and users); this is the same type.
type Label = runstore.Label

// Verdict is what an annotator decided about a pair.
type Verdict = runstore.Verdict

// The verdicts. A "both bad" or tie outcome yields no pair.
const (
	VerdictPrefer  = runstore.VerdictPrefer  // Label.Preferred names the better response
	VerdictTie     = runstore.VerdictTie     // equally good
	VerdictBothBad = runstore.VerdictBothBad // neither is acceptable
)

// Strength is how much better the preferred response is (Llama 2 style). It
// becomes the pair's margin.
type Strength = runstore.Strength

// The strengths.
const (
	Slightly = runstore.Slightly
	Clearly  = runstore.Clearly
	Much     = runstore.Much
)

// MaxCommentBytes bounds a label's comment.
const MaxCommentBytes = runstore.MaxCommentBytes

// Sources of labels.
const (
	SourceApp         = runstore.SourceApp
	SourceLabelStudio = runstore.SourceLabelStudio
	SourceArgilla     = runstore.SourceArgilla
)

// category returns catAI when l prefers p's Chosen (the AI's tentative
// winner), catOther when it prefers Rejected, or the verdict's name.
func category(l Label, p prefdata.Pair) string {
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
