package label

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/prefdata/prefdata"
)

// ExportLabels writes labels as JSON lines, one [Label] each, in the form
// of [FileHumanLabels].
func ExportLabels(w io.Writer, labels []Label) error {
	enc := json.NewEncoder(w)
	for _, l := range labels {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return nil
}

// byPair groups labels by pair ID.
func byPair(labels []Label) map[string][]Label {
	out := map[string][]Label{}
	for _, l := range labels {
		out[l.PairID] = append(out[l.PairID], l)
	}
	return out
}

// ExportLabelStudioLabels writes the pairs as [ExportLabelStudio] does,
// each task with the labels of its pair as annotations (completed_by is
// the annotator's name as an email-like user, lead_time the seconds spent),
// so the work done here can be reviewed in Label Studio, or imported back
// with [ImportLabelStudio].
func ExportLabelStudioLabels(w io.Writer, pairs []prefdata.Pair, labels []Label) error {
	per := byPair(labels)
	tasks := make([]LSTask, 0, len(pairs))
	for i, p := range pairs {
		left, right := p.Chosen, p.Rejected
		if exportSwap("labelstudio", p) {
			left, right = p.Rejected, p.Chosen
		}
		t := LSTask{ID: i + 1, Data: LSData{Prompt: renderPrompt(p.Prompt), Left: left.Text, Right: right.Text, PairID: p.ID, PromptID: p.Prompt.ID, LeftID: left.ID, RightID: right.ID}}
		for _, l := range per[p.ID] {
			t.Annotations = append(t.Annotations, lsAnnotation(l, left.ID))
		}
		tasks = append(tasks, t)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(tasks)
}

func lsAnnotation(l Label, leftID string) LSAnnotation {
	val := func(v any) json.RawMessage {
		b, _ := json.Marshal(v)
		return b
	}
	var res []LSResult
	switch l.Verdict {
	case VerdictPrefer:
		sel := "right"
		if l.Preferred == leftID {
			sel = "left"
		}
		res = append(res, LSResult{FromName: LSPairwise, ToName: LSPairwise, Type: "pairwise", Value: val(map[string]string{"selected": sel})})
		if name := map[Strength]string{Slightly: "Slightly better", Clearly: "Clearly better", Much: "Much better"}[l.Strength]; name != "" {
			res = append(res, LSResult{FromName: LSStrength, ToName: "prompt", Type: "choices", Value: val(map[string][]string{"choices": {name}})})
		}
	case VerdictTie, VerdictBothBad:
		name := "Tie"
		if l.Verdict == VerdictBothBad {
			name = "Both bad"
		}
		res = append(res, LSResult{FromName: LSOverall, ToName: "prompt", Type: "choices", Value: val(map[string][]string{"choices": {name}})})
	}
	if l.Comment != "" {
		res = append(res, LSResult{FromName: LSComment, ToName: "prompt", Type: "textarea", Value: val(map[string][]string{"text": {l.Comment}})})
	}
	ts := l.Time.UTC().Format(time.RFC3339Nano)
	return LSAnnotation{
		ID:          val(l.ID),
		CompletedBy: val(map[string]string{"email": l.Annotator}),
		Result:      res,
		LeadTime:    l.LeadTime,
		CreatedAt:   ts,
		UpdatedAt:   ts,
	}
}

// ExportArgillaLabels writes the pairs as [ExportArgilla] does, each record
// with the labels of its pair as submitted responses (user_id is the
// annotator's name), so the work done here can be reviewed in Argilla, or
// imported back with [ImportArgilla].
func ExportArgillaLabels(w io.Writer, pairs []prefdata.Pair, labels []Label) error {
	per := byPair(labels)
	recs := make([]ArgillaRecord, 0, len(pairs))
	for _, p := range pairs {
		a, b := p.Chosen, p.Rejected
		if exportSwap("argilla", p) {
			a, b = p.Rejected, p.Chosen
		}
		rec := ArgillaRecord{
			ID:     p.ID,
			Fields: map[string]string{ArgillaPrompt: renderPrompt(p.Prompt), ArgillaResponseA: a.Text, ArgillaResponseB: b.Text},
			Metadata: map[string]string{
				"pair_id": p.ID, "prompt_id": p.Prompt.ID, "response_a_id": a.ID, "response_b_id": b.ID,
			},
		}
		responses := map[string][]argillaResponse{}
		add := func(q, user string, v any) {
			raw, _ := json.Marshal(v)
			responses[q] = append(responses[q], argillaResponse{Value: raw, UserID: user, Status: "submitted"})
		}
		for _, l := range per[p.ID] {
			switch l.Verdict {
			case VerdictPrefer:
				pref := "response_b"
				if l.Preferred == a.ID {
					pref = "response_a"
				}
				add(ArgillaPreference, l.Annotator, pref)
				if l.Strength != 0 {
					add(ArgillaStrength, l.Annotator, int(l.Strength))
				}
			case VerdictTie, VerdictBothBad:
				add(ArgillaPreference, l.Annotator, string(l.Verdict))
			default:
				continue
			}
			if l.Comment != "" {
				add(ArgillaComment, l.Annotator, l.Comment)
			}
		}
		if len(responses) > 0 {
			raw, err := json.Marshal(responses)
			if err != nil {
				return fmt.Errorf("label: pair %s: %w", p.ID, err)
			}
			rec.Responses = raw
			rec.Status = "completed"
		}
		recs = append(recs, rec)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(recs)
}
