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
	// the same items.
	PercentAgreement float64           `json:"percent_agreement"`
	Annotators       []AnnotatorReport `json:"annotators"`
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
			c := l.category(p)
			if c == catAI {
				a.agreeAI++
			}
			if l.LeadTime > 0 {
				a.secs = append(a.secs, l.LeadTime)
			}
			for j, o := range ls {
				if i != j {
					a.compared++
					if o.category(p) == c {
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
	rep.PercentAgreement, _ = PercentAgreement(ratings)
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
