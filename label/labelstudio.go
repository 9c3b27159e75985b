package label

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/prefdata/prefdata"
)

// Names of the controls in [LabelStudioConfig], used in tasks' predictions
// and read back from annotations.
const (
	LSPairwise = "pairwise" // the Pairwise tag: {"selected": "left"|"right"}
	LSOverall  = "overall"  // Choices: "Tie" or "Both bad"
	LSStrength = "strength" // Choices: "Slightly better", "Clearly better", "Much better"
	LSComment  = "comment"  // TextArea
)

// LabelStudioConfig returns the labeling configuration (XML) for the tasks
// [ExportLabelStudio] writes: the prompt, the two responses side by side
// under a Pairwise control, a Choices control for tie or both bad (the
// Pairwise tag has no tie), a strength and a comment.
func LabelStudioConfig() string {
	return `<View>
  <Header value="Prompt"/>
  <Text name="prompt" value="$prompt"/>
  <Header value="Which response is better?"/>
  <Pairwise name="` + LSPairwise + `" toName="left,right" leftClass="left" rightClass="right"/>
  <View style="display: grid; grid-template-columns: 1fr 1fr; column-gap: 1em">
    <View><Header value="Response A"/><Text name="left" value="$left"/></View>
    <View><Header value="Response B"/><Text name="right" value="$right"/></View>
  </View>
  <Header value="Or, if neither is better:"/>
  <Choices name="` + LSOverall + `" toName="prompt" choice="single" showInline="true">
    <Choice value="Tie"/>
    <Choice value="Both bad"/>
  </Choices>
  <Header value="How much better?"/>
  <Choices name="` + LSStrength + `" toName="prompt" choice="single" showInline="true">
    <Choice value="Slightly better"/>
    <Choice value="Clearly better"/>
    <Choice value="Much better"/>
  </Choices>
  <TextArea name="` + LSComment + `" toName="prompt" placeholder="Comment (optional)" maxSubmissions="1"/>
</View>
`
}

// LSTask is a Label Studio task, as imported and as exported (with
// annotations) by Label Studio's JSON format.
type LSTask struct {
	ID          int            `json:"id,omitempty"`
	Data        LSData         `json:"data"`
	Predictions []LSPrediction `json:"predictions,omitempty"`
	Annotations []LSAnnotation `json:"annotations,omitempty"`
}

// LSData is the task data: the texts shown and the IDs that map the sides
// back to the pair.
type LSData struct {
	Prompt   string `json:"prompt"`
	Left     string `json:"left"`
	Right    string `json:"right"`
	PairID   string `json:"pair_id"`
	PromptID string `json:"prompt_id,omitempty"`
	LeftID   string `json:"left_id"`
	RightID  string `json:"right_id"`
}

// LSPrediction is a pre-annotation: the AI judge's verdict.
type LSPrediction struct {
	ModelVersion string     `json:"model_version,omitempty"`
	Score        float64    `json:"score,omitempty"`
	Result       []LSResult `json:"result"`
}

// LSAnnotation is one person's annotation in Label Studio's export.
type LSAnnotation struct {
	ID          json.RawMessage `json:"id,omitempty"`
	CompletedBy json.RawMessage `json:"completed_by,omitempty"`
	Result      []LSResult      `json:"result"`
	WasCanceled bool            `json:"was_cancelled,omitempty"`
	LeadTime    float64         `json:"lead_time,omitempty"`
	CreatedAt   string          `json:"created_at,omitempty"`
	UpdatedAt   string          `json:"updated_at,omitempty"`
}

// LSResult is one region or control result.
type LSResult struct {
	ID       string          `json:"id,omitempty"`
	FromName string          `json:"from_name"`
	ToName   string          `json:"to_name"`
	Type     string          `json:"type"`
	Value    json.RawMessage `json:"value"`
}

// renderPrompt shows a conversation as text: one turn a paragraph, prefixed
// by its role when there is more than one turn.
func renderPrompt(p prefdata.Prompt) string {
	if len(p.Messages) == 1 {
		return p.Messages[0].Content
	}
	var b strings.Builder
	for i, m := range p.Messages {
		if i > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "[%s]\n%s", m.Role, m.Content)
	}
	return b.String()
}

// exportSwap decides the side order of an exported item: random per item
// (position bias), and stable, so exporting twice gives the same file.
func exportSwap(tool string, p prefdata.Pair) bool { return swapped("export", tool, p.ID) }

// ExportLabelStudio writes the pairs as a JSON array of Label Studio tasks
// for [LabelStudioConfig], each with the AI judge's verdict as a prediction
// (the score is the judge's confidence). The sides are shuffled per item;
// the task data keeps the response IDs of each side.
func ExportLabelStudio(w io.Writer, pairs []prefdata.Pair) error {
	tasks := make([]LSTask, 0, len(pairs))
	for _, p := range pairs {
		left, right, sel := p.Chosen, p.Rejected, "left"
		if exportSwap("labelstudio", p) {
			left, right, sel = p.Rejected, p.Chosen, "right"
		}
		val, _ := json.Marshal(map[string]string{"selected": sel})
		model := p.Provenance.Judge
		if model == "" {
			model = p.Provenance.Labeler
		}
		tasks = append(tasks, LSTask{
			Data: LSData{Prompt: renderPrompt(p.Prompt), Left: left.Text, Right: right.Text, PairID: p.ID, PromptID: p.Prompt.ID, LeftID: left.ID, RightID: right.ID},
			Predictions: []LSPrediction{{ModelVersion: model, Score: p.Provenance.Confidence, Result: []LSResult{{
				// A Pairwise result names the control itself as to_name.
				FromName: LSPairwise, ToName: LSPairwise, Type: "pairwise", Value: val,
			}}}},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(tasks)
}

// ImportStats counts what an import did.
type ImportStats struct {
	Imported int // labels appended
	Existing int // labels already in the store (an earlier import)
	Skipped  int // cancelled, draft or discarded annotations
	// Stale counts answers older, by the tool's own time, than the label
	// that already counts for the same annotator and pair: an older export
	// imported after a newer one.
	Stale int
}

// ImportLabelStudio reads Label Studio's JSON export (tasks with
// annotations) of tasks made by [ExportLabelStudio] and appends a label per
// annotation to store, for the pairs in queue. name names the input in
// errors. An annotation that cannot be read is reported (task and
// annotation named) and the others are still imported; importing the same
// file again adds nothing.
func ImportLabelStudio(store *Store, queue *Queue, r io.Reader, name string) (ImportStats, error) {
	var tasks []LSTask
	if err := json.NewDecoder(r).Decode(&tasks); err != nil {
		return ImportStats{}, fmt.Errorf("label: %s: not a Label Studio JSON export: %w", name, err)
	}
	var st ImportStats
	var errs []error
	for ti, t := range tasks {
		where := fmt.Sprintf("%s: task %d (id %d, pair %s)", name, ti, t.ID, t.Data.PairID)
		p, ok := queue.Pair(t.Data.PairID)
		if !ok {
			errs = append(errs, fmt.Errorf("label: %s: pair is not in the queue", where))
			continue
		}
		if !samePair(p, t.Data.LeftID, t.Data.RightID) {
			errs = append(errs, fmt.Errorf("label: %s: left_id %q and right_id %q are not the responses of the pair", where, t.Data.LeftID, t.Data.RightID))
			continue
		}
		for ai, a := range t.Annotations {
			where := fmt.Sprintf("%s annotation %d (id %s)", where, ai, string(a.ID))
			if a.WasCanceled {
				st.Skipped++
				continue
			}
			l, err := lsLabel(p, t, a)
			if err := importOne(store, p, l, err, &st); err != nil {
				errs = append(errs, fmt.Errorf("label: %s: %w", where, err))
			}
		}
	}
	return st, errors.Join(errs...)
}

func samePair(p prefdata.Pair, a, b string) bool {
	return a == p.Chosen.ID && b == p.Rejected.ID || a == p.Rejected.ID && b == p.Chosen.ID
}

// importOne checks the label read from an import (err: why it could not
// be read) against its pair and adds it once.
func importOne(store *Store, p prefdata.Pair, l Label, err error, st *ImportStats) error {
	if err == nil {
		err = l.Check(p)
	}
	if err != nil {
		return err
	}
	return addOnce(store, l, st)
}

func addOnce(store *Store, l Label, st *ImportStats) error {
	if _, ok := store.Get(l.ID); ok {
		st.Existing++
		return nil
	}
	if l.Time.IsZero() {
		l.Time = time.Now().UTC() // the export does not say when
	} else if cur, ok := store.counting(l.PairID, l.Annotator); ok && cur.Time.After(l.Time) {
		st.Stale++
		return nil
	}
	err := store.Add(l)
	if errors.Is(err, ErrDuplicate) {
		st.Existing++
		return nil
	}
	if err == nil {
		st.Imported++
	}
	return err
}

// contentID identifies an imported label by its origin and its content.
func contentID(l Label, origin ...string) string {
	return shortHash(append(origin, l.PairID, l.Annotator, string(l.Verdict), l.Preferred, fmt.Sprint(int(l.Strength)), l.Comment)...)
}

// lsUser turns completed_by (a user ID, or an object with id and email)
// into an annotator name.
func lsUser(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", errors.New("no completed_by")
	}
	var id json.Number
	if err := json.Unmarshal(raw, &id); err == nil {
		return "labelstudio:" + id.String(), nil
	}
	var u struct {
		ID    json.Number `json:"id"`
		Email string      `json:"email"`
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		return "", fmt.Errorf("completed_by %s: %w", raw, err)
	}
	if u.Email != "" {
		return "labelstudio:" + u.Email, nil
	}
	if u.ID != "" {
		return "labelstudio:" + u.ID.String(), nil
	}
	return "", fmt.Errorf("completed_by %s names no user", raw)
}

func lsLabel(p prefdata.Pair, t LSTask, a LSAnnotation) (Label, error) {
	who, err := lsUser(a.CompletedBy)
	if err != nil {
		return Label{}, err
	}
	annID := strings.Trim(string(a.ID), `"`)
	l := Label{
		PairID:    p.ID,
		PromptID:  p.Prompt.ID,
		Annotator: who,
		Shown:     []string{t.Data.LeftID, t.Data.RightID},
		Source:    SourceLabelStudio,
		LeadTime:  a.LeadTime,
	}
	for _, ts := range []string{a.UpdatedAt, a.CreatedAt} {
		if tm, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			l.Time = tm.UTC()
			break
		}
	}
	var selected, overall, strength string
	for _, res := range a.Result {
		switch {
		case res.FromName == LSPairwise || res.Type == "pairwise":
			var v struct {
				Selected string `json:"selected"`
			}
			if err := json.Unmarshal(res.Value, &v); err != nil {
				return Label{}, fmt.Errorf("pairwise value %s: %w", res.Value, err)
			}
			selected = v.Selected
		case res.FromName == LSOverall || res.FromName == LSStrength:
			var v struct {
				Choices []string `json:"choices"`
			}
			if err := json.Unmarshal(res.Value, &v); err != nil || len(v.Choices) != 1 {
				return Label{}, fmt.Errorf("%s value %s: want one choice", res.FromName, res.Value)
			}
			if res.FromName == LSOverall {
				overall = v.Choices[0]
			} else {
				strength = v.Choices[0]
			}
		case res.FromName == LSComment:
			var v struct {
				Text []string `json:"text"`
			}
			if err := json.Unmarshal(res.Value, &v); err != nil {
				return Label{}, fmt.Errorf("comment value %s: %w", res.Value, err)
			}
			l.Comment = strings.Join(v.Text, "\n")
		}
	}
	switch {
	case overall != "" && selected != "":
		return Label{}, fmt.Errorf("both a side (%s) and %q chosen", selected, overall)
	case overall == "Tie":
		l.Verdict = VerdictTie
	case overall == "Both bad":
		l.Verdict = VerdictBothBad
	case overall != "":
		return Label{}, fmt.Errorf("unknown %s choice %q (want Tie or Both bad)", LSOverall, overall)
	case selected == "left":
		l.Verdict, l.Preferred = VerdictPrefer, t.Data.LeftID
	case selected == "right":
		l.Verdict, l.Preferred = VerdictPrefer, t.Data.RightID
	case selected == "":
		return Label{}, errors.New("no pairwise selection and no tie or both-bad choice")
	default:
		return Label{}, fmt.Errorf("pairwise selected %q (want left or right)", selected)
	}
	if l.Verdict == VerdictPrefer {
		switch strength {
		case "":
		case "Slightly better":
			l.Strength = Slightly
		case "Clearly better":
			l.Strength = Clearly
		case "Much better":
			l.Strength = Much
		default:
			return Label{}, fmt.Errorf("unknown %s choice %q", LSStrength, strength)
		}
	}
	// An annotation imported again is the same label; one edited in Label
	// Studio since (a new updated_at, even back to an earlier answer) is a
	// new one, which supersedes the old.
	l.ID = "ls-" + contentID(l, fmt.Sprint(t.ID), annID, a.UpdatedAt)
	return l, nil
}
