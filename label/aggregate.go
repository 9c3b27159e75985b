package label

import (
	"fmt"
	"sort"

	"github.com/prefdata/prefdata"
)

// TieRule says what happens when two or more outcomes get the most votes.
type TieRule int

// The tie rules.
const (
	// TieDrop drops the pair: no one outcome won.
	TieDrop TieRule = iota
	// TieMoreLabels asks for one more label, up to Policy.MaxLabels, and
	// drops the pair if the tie remains then.
	TieMoreLabels
	// TieKeepAI keeps the AI's tentative order when it is among the tied
	// outcomes, and drops the pair otherwise.
	TieKeepAI
)

// LowAgreement says what happens to an item whose agreement is below
// Policy.MinAgreement.
type LowAgreement int

// The low-agreement actions.
const (
	// LowDrop drops the pair.
	LowDrop LowAgreement = iota
	// LowMoreLabels asks for one more label, up to Policy.MaxLabels, and
	// drops the pair if agreement is still low then.
	LowMoreLabels
)

// Policy aggregates the labels of one pair into a decision. The zero value
// asks for one label per pair and takes it.
type Policy struct {
	// Labels is the number of distinct annotators per pair, the overlap k
	// (default 1).
	Labels int
	// MaxLabels caps the labels asked for when a tie or low agreement asks
	// for more (default Labels+2).
	MaxLabels int
	// Tie decides between outcomes with equal votes (default TieDrop).
	Tie TieRule
	// MinAgreement is the share of labels that must agree with the winning
	// outcome, in [0, 1] (default 0: no threshold). With three annotators,
	// 0.6 needs two of three.
	MinAgreement float64
	// Low decides what happens below MinAgreement (default LowDrop).
	Low LowAgreement
}

func (p Policy) labels() int { return max(p.Labels, 1) }

func (p Policy) maxLabels() int {
	if p.MaxLabels < p.labels() {
		return p.labels() + 2
	}
	return p.MaxLabels
}

// Status is the state of a pair's labeling.
type Status int

// The statuses.
const (
	Pending Status = iota // needs more labels
	Decided               // the outcome is settled
	Dropped               // settled with no pair: tie, both bad, or disagreement
)

func (s Status) String() string {
	switch s {
	case Pending:
		return "pending"
	case Decided:
		return "decided"
	case Dropped:
		return "dropped"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Decision is the aggregate of a pair's labels.
type Decision struct {
	Status Status
	// Want is the number of labels the pair needs in all (more than Labels
	// when a tie or low agreement asked for more).
	Want int
	// Verdict is the winning outcome; Preferred the response it prefers.
	Verdict   Verdict
	Preferred string
	// Agreement is the share of labels that voted for the winning outcome.
	Agreement float64
	// Strength is the mean strength of the winning votes (0 when none was
	// given).
	Strength float64
	// Annotators lists, sorted, the people whose labels were counted.
	Annotators []string
	Reason     string
}

// Decide aggregates labels (at most one per annotator, as [Store.ForPair]
// returns them) of pair p.
func (pol Policy) Decide(p prefdata.Pair, labels []Label) Decision {
	d := Decision{Want: pol.labels()}
	n := len(labels)
	for _, l := range labels {
		d.Annotators = append(d.Annotators, l.Annotator)
	}
	sort.Strings(d.Annotators)
	if n < d.Want {
		d.Reason = fmt.Sprintf("%d of %d labels", n, d.Want)
		return d
	}
	votes := map[string]int{}
	for _, l := range labels {
		votes[category(l, p)]++
	}
	best := 0
	var top []string
	for _, c := range []string{catAI, catOther, string(VerdictTie), string(VerdictBothBad)} {
		switch v := votes[c]; {
		case v > best:
			best, top = v, []string{c}
		case v == best && v > 0:
			top = append(top, c)
		}
	}
	d.Agreement = float64(best) / float64(n)
	more := func(reason string) Decision {
		if n < pol.maxLabels() {
			d.Status, d.Want, d.Reason = Pending, n+1, reason+": one more label asked"
			return d
		}
		d.Status, d.Reason = Dropped, reason+fmt.Sprintf(" after %d labels", n)
		return d
	}
	winner := top[0]
	if len(top) > 1 {
		reason := fmt.Sprintf("tie between %v at %d of %d votes", top, best, n)
		switch pol.Tie {
		case TieMoreLabels:
			return more(reason)
		case TieKeepAI:
			keep := false
			for _, c := range top {
				keep = keep || c == catAI
			}
			if !keep {
				d.Status, d.Reason = Dropped, reason
				return d
			}
			winner = catAI
		default:
			d.Status, d.Reason = Dropped, reason
			return d
		}
	}
	if pol.MinAgreement > 0 && d.Agreement < pol.MinAgreement {
		reason := fmt.Sprintf("agreement %.2f below %.2f", d.Agreement, pol.MinAgreement)
		if pol.Low == LowMoreLabels {
			return more(reason)
		}
		d.Status, d.Reason = Dropped, reason
		return d
	}
	switch winner {
	case catAI, catOther:
		d.Verdict = VerdictPrefer
		d.Preferred = p.Chosen.ID
		if winner == catOther {
			d.Preferred = p.Rejected.ID
		}
		sum, k := 0, 0
		for _, l := range labels {
			if category(l, p) == winner && l.Strength > 0 {
				sum += int(l.Strength)
				k++
			}
		}
		if k > 0 {
			d.Strength = float64(sum) / float64(k)
		}
		d.Status = Decided
		d.Reason = fmt.Sprintf("human majority %d of %d", best, n)
	default:
		d.Verdict = Verdict(winner)
		d.Status = Dropped
		d.Reason = fmt.Sprintf("human verdict %s, %d of %d", winner, best, n)
	}
	return d
}

// Apply returns the pair people decided on: p with NeedsHuman cleared,
// Chosen and Rejected swapped when people preferred the AI's rejected
// response, the mean strength as margin, and the stage-4 provenance. ok is
// false unless d is Decided.
func Apply(p prefdata.Pair, d Decision) (out prefdata.Pair, ok bool) {
	if d.Status != Decided || d.Verdict != VerdictPrefer {
		return prefdata.Pair{}, false
	}
	out = p
	key := ReasonHumanAgrees
	if d.Preferred == p.Rejected.ID {
		out.Chosen, out.Rejected = p.Rejected, p.Chosen
		out.ScoreChosen, out.ScoreRejected = p.ScoreRejected, p.ScoreChosen
		key = ReasonHumanFlipped
	}
	out.Margin = d.Strength
	out.NeedsHuman = false
	out.Provenance.Stage = prefdata.StageLabel
	out.Provenance.Annotators = append([]string(nil), d.Annotators...)
	out.Provenance.Reason = key + ": " + d.Reason
	return out, true
}

// The keys of a human-labeled pair's Provenance.Reason (counted by the
// pipeline in Stats.Routes): people kept the AI's order, or flipped it.
const (
	ReasonHumanAgrees  = "human-agrees"
	ReasonHumanFlipped = "human-flipped"
)
