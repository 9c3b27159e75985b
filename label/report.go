package label

import (
	"sort"

	"github.com/prefdata/prefdata"
)

// AnnotatorReport is one annotator's line of a [Report].
type AnnotatorReport struct {
	Name   string `json:"name"`
	Labels int    `json:"labels"`
	// MedianSeconds is the median time spent per label (labels without a
	// lead time are left out).
	MedianSeconds float64 `json:"median_seconds"`
	// AgreeOthers is the share of comparisons with other annotators' labels
	// of the same items that agree (Compared comparisons).
	AgreeOthers float64 `json:"agree_others"`
	Compared    int     `json:"compared"`
	// AgreeAI is the share of this annotator's labels that keep the AI
	// judge's tentative order.
	AgreeAI float64 `json:"agree_ai"`
	// Skipped and Flagged count the items passed on and flagged as broken.
	Skipped int `json:"skipped"`
	Flagged int `json:"flagged"`
	// Gold counts the gold items answered, GoldCorrect those answered as
	// known; GoldAccuracy is their share (meaningless when Gold is 0).
	Gold         int     `json:"gold"`
	GoldCorrect  int     `json:"gold_correct"`
	GoldAccuracy float64 `json:"gold_accuracy"`
}

// Report summarizes the labeling of a queue: the dashboard's figures.
type Report struct {
	Items   int `json:"items"`
	Decided int `json:"decided"`
	Dropped int `json:"dropped"`
	Pending int `json:"pending"`
	Labels  int `json:"labels"`
	// Alpha is Krippendorff's alpha (nominal: keeps the AI's order / flips
	// it / tie / both bad) over the items with two labels or more; AlphaOK
	// is false when it is undefined, and AlphaNote then says why.
	Alpha     float64 `json:"alpha"`
	AlphaOK   bool    `json:"alpha_ok"`
	AlphaNote string  `json:"alpha_note,omitempty"`
	// PercentAgreement is the mean share of agreeing pairs of labels over
	// the same items; PercentAgreementOK is false when no item has two
	// labels (it is then undefined, not 0).
	PercentAgreement   float64           `json:"percent_agreement"`
	PercentAgreementOK bool              `json:"percent_agreement_ok"`
	Annotators         []AnnotatorReport `json:"annotators"`
	// Skipped, Flagged and Gold count the events of [FileLabelEvents] (see
	// [AddEvents]).
	Skipped int `json:"skipped"`
	Flagged int `json:"flagged"`
	Gold    int `json:"gold"`
	// Broken lists the flags as broken, with their reasons.
	Broken []Event `json:"broken,omitempty"`
}

var categoryCode = map[string]int{catAI: 0, catOther: 1, string(VerdictTie): 2, string(VerdictBothBad): 3}

// Summarize computes the figures of a [Report] from the queued pairs and
// the labels that count ([Store.Labels]).
func Summarize(pairs []prefdata.Pair, labels []Label, pol Policy) Report {
	rep := Report{Items: len(pairs), Labels: len(labels)}
	byPair := map[string][]Label{}
	for _, l := range labels {
		byPair[l.PairID] = append(byPair[l.PairID], l)
	}
	type acc struct {
		n, agreeAI, agreeOthers, compared int
		secs                              []float64
	}
	per := map[string]*acc{}
	get := func(name string) *acc {
		a := per[name]
		if a == nil {
			a = &acc{}
			per[name] = a
		}
		return a
	}
	var ratings Ratings
	for _, p := range pairs {
		ls := byPair[p.ID]
		switch pol.Decide(p, ls).Status {
		case Decided:
			rep.Decided++
		case Dropped:
			rep.Dropped++
		default:
			rep.Pending++
		}
		row := make([]int, 0, len(ls))
		for i, l := range ls {
			a := get(l.Annotator)
			a.n++
			c := category(l, p)
			if c == catAI {
				a.agreeAI++
			}
			if l.LeadTime > 0 {
				a.secs = append(a.secs, l.LeadTime)
			}
			for j, o := range ls {
				if i != j {
					a.compared++
					if category(o, p) == c {
						a.agreeOthers++
					}
				}
			}
			row = append(row, categoryCode[c])
		}
		if len(row) >= 2 {
			ratings = append(ratings, row)
		}
	}
	switch a, err := KrippendorffAlpha(ratings, Nominal); {
	case err == nil:
		rep.Alpha, rep.AlphaOK = a, true
	case len(ratings) == 0:
		rep.AlphaNote = "no item has two labels yet"
	default:
		rep.AlphaNote = "every label is the same: no variation to measure agreement on"
	}
	if pa, err := PercentAgreement(ratings); err == nil {
		rep.PercentAgreement, rep.PercentAgreementOK = pa, true
	}
	for name, a := range per {
		ar := AnnotatorReport{Name: name, Labels: a.n, Compared: a.compared}
		if a.n > 0 {
			ar.AgreeAI = float64(a.agreeAI) / float64(a.n)
		}
		if a.compared > 0 {
			ar.AgreeOthers = float64(a.agreeOthers) / float64(a.compared)
		}
		if len(a.secs) > 0 {
			sort.Float64s(a.secs)
			m := len(a.secs) / 2
			ar.MedianSeconds = a.secs[m]
			if len(a.secs)%2 == 0 {
				ar.MedianSeconds = (a.secs[m-1] + a.secs[m]) / 2
			}
		}
		rep.Annotators = append(rep.Annotators, ar)
	}
	sort.Slice(rep.Annotators, func(i, j int) bool { return rep.Annotators[i].Name < rep.Annotators[j].Name })
	return rep
}

// AddEvents adds to rep the skips, flags and gold answers of events (those
// that count, as read from [FileLabelEvents]): per annotator, and the flags
// with their reasons.
func AddEvents(rep *Report, events []Event) {
	idx := map[string]int{}
	for i, a := range rep.Annotators {
		idx[a.Name] = i
	}
	get := func(name string) *AnnotatorReport {
		i, ok := idx[name]
		if !ok {
			i = len(rep.Annotators)
			idx[name] = i
			rep.Annotators = append(rep.Annotators, AnnotatorReport{Name: name})
		}
		return &rep.Annotators[i]
	}
	for _, ev := range events {
		switch ev.Kind {
		case EventSkip:
			rep.Skipped++
			get(ev.Annotator).Skipped++
		case EventBroken:
			rep.Flagged++
			get(ev.Annotator).Flagged++
			rep.Broken = append(rep.Broken, ev)
		case EventGold:
			rep.Gold++
			a := get(ev.Annotator)
			a.Gold++
			if ev.Correct {
				a.GoldCorrect++
			}
			a.GoldAccuracy = float64(a.GoldCorrect) / float64(a.Gold)
		default:
			get(ev.Annotator) // the annotator's line, even without figures
		}
	}
	sort.Slice(rep.Annotators, func(i, j int) bool { return rep.Annotators[i].Name < rep.Annotators[j].Name })
}
