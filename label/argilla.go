package label

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/prefdata/prefdata"
)

// Names of the fields and questions of the Argilla dataset [ArgillaSettings]
// describes.
const (
	ArgillaPrompt     = "prompt"
	ArgillaResponseA  = "response_a"
	ArgillaResponseB  = "response_b"
	ArgillaPreference = "preference" // label question: response_a, response_b, tie, both_bad
	ArgillaStrength   = "strength"   // rating question: 1, 2, 3
	ArgillaComment    = "comment"    // text question
)

// ArgillaSettings returns the dataset settings the exported records need,
// as JSON in the shape Argilla's Python SDK writes and reads
// (rg.Settings.to_json / rg.Settings.from_json): the prompt and the two
// responses as text fields; a label question (response_a, response_b, tie,
// both_bad), a 1-3 rating for the strength and a text question for a
// comment; the records' metadata as terms properties hidden from
// annotators; and the task distribution, minSubmitted annotators per
// record. Create the dataset with them before logging the records.
func ArgillaSettings(guidelines string, minSubmitted int) ([]byte, error) {
	if minSubmitted < 1 {
		minSubmitted = 1
	}
	type option struct {
		Value any    `json:"value"`
		Text  string `json:"text,omitempty"`
	}
	type settings struct {
		Type                string   `json:"type"`
		UseMarkdown         *bool    `json:"use_markdown,omitempty"`
		Options             []option `json:"options,omitempty"`
		VisibleForAnnotator *bool    `json:"visible_for_annotators,omitempty"`
	}
	type property struct {
		Name                 string   `json:"name"`
		Title                string   `json:"title"`
		Description          string   `json:"description,omitempty"`
		Required             *bool    `json:"required,omitempty"`
		VisibleForAnnotators *bool    `json:"visible_for_annotators,omitempty"`
		Settings             settings `json:"settings"`
	}
	yes, no := true, false
	text := func(name, title string, required bool) property {
		return property{Name: name, Title: title, Required: &required, Settings: settings{Type: "text", UseMarkdown: &no}}
	}
	terms := func(name string) property {
		return property{Name: name, Title: name, VisibleForAnnotators: &no, Settings: settings{Type: "terms", VisibleForAnnotator: &no}}
	}
	v := struct {
		Guidelines         string     `json:"guidelines"`
		AllowExtraMetadata bool       `json:"allow_extra_metadata"`
		Fields             []property `json:"fields"`
		Questions          []property `json:"questions"`
		Metadata           []property `json:"metadata"`
		Vectors            []property `json:"vectors"`
		Distribution       any        `json:"distribution"`
	}{
		Guidelines:         guidelines,
		AllowExtraMetadata: false,
		Fields: []property{
			text(ArgillaPrompt, "Prompt", true),
			text(ArgillaResponseA, "Response A", true),
			text(ArgillaResponseB, "Response B", true),
		},
		Questions: []property{
			{Name: ArgillaPreference, Title: "Which response is better?", Required: &yes, Settings: settings{Type: "label_selection", Options: []option{
				{"response_a", "A is better"}, {"response_b", "B is better"}, {"tie", "Tie"}, {"both_bad", "Both bad"},
			}}},
			{Name: ArgillaStrength, Title: "How much better? (1 slightly, 2 clearly, 3 much)", Required: &no, Settings: settings{Type: "rating", Options: []option{
				{Value: 1}, {Value: 2}, {Value: 3},
			}}},
			text(ArgillaComment, "Comment", false),
		},
		Metadata:     []property{terms("pair_id"), terms("prompt_id"), terms("response_a_id"), terms("response_b_id")},
		Vectors:      []property{},
		Distribution: map[string]any{"strategy": "overlap", "min_submitted": minSubmitted},
	}
	return json.MarshalIndent(v, "", "  ")
}

// ArgillaRecord is a record in the JSON form of Argilla's Python SDK
// (Record.to_dict / records.to_json): fields, metadata, suggestions and
// responses keyed by question name.
type ArgillaRecord struct {
	ID          string                       `json:"id"`
	Fields      map[string]string            `json:"fields"`
	Metadata    map[string]string            `json:"metadata,omitempty"`
	Suggestions map[string]ArgillaSuggestion `json:"suggestions,omitempty"`
	// Responses is read from both SDK shapes: {"question": [{"value",
	// "user_id", "status"}]} (Argilla 2) or [{"user_id", "status",
	// "values": {"question": {"value"}}}] (Argilla 1 FeedbackRecord).
	Responses json.RawMessage `json:"responses,omitempty"`
	Status    string          `json:"status,omitempty"`
}

// ArgillaSuggestion is a model's or judge's answer to a question.
type ArgillaSuggestion struct {
	Value any     `json:"value"`
	Score float64 `json:"score,omitempty"`
	Agent string  `json:"agent,omitempty"`
}

type argillaResponse struct {
	Value  json.RawMessage `json:"value"`
	UserID string          `json:"user_id"`
	Status string          `json:"status"`
}

// ExportArgilla writes the pairs as a JSON array of Argilla records for the
// dataset of [ArgillaSettings], with the AI judge's verdict as the
// preference suggestion (score: the judge's confidence; agent: the judge).
// The sides are shuffled per item; the metadata keeps the response IDs.
func ExportArgilla(w io.Writer, pairs []prefdata.Pair) error {
	recs := make([]ArgillaRecord, 0, len(pairs))
	for _, p := range pairs {
		a, b, sug := p.Chosen, p.Rejected, "response_a"
		if exportSwap("argilla", p) {
			a, b, sug = p.Rejected, p.Chosen, "response_b"
		}
		agent := p.Provenance.Judge
		if agent == "" {
			agent = p.Provenance.Labeler
		}
		recs = append(recs, ArgillaRecord{
			ID:     p.ID,
			Fields: map[string]string{ArgillaPrompt: renderPrompt(p.Prompt), ArgillaResponseA: a.Text, ArgillaResponseB: b.Text},
			Metadata: map[string]string{
				"pair_id": p.ID, "prompt_id": p.Prompt.ID, "response_a_id": a.ID, "response_b_id": b.ID,
			},
			Suggestions: map[string]ArgillaSuggestion{ArgillaPreference: {Value: sug, Score: p.Provenance.Confidence, Agent: agent}},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(recs)
}

// readArgilla reads a JSON array of records or JSON lines, one record each.
func readArgilla(r io.Reader) ([]ArgillaRecord, error) {
	br := bufio.NewReader(r)
	for {
		b, err := br.Peek(1)
		if err != nil {
			return nil, err
		}
		if !bytes.ContainsAny(b, " \t\r\n") {
			break
		}
		_, _ = br.ReadByte()
	}
	dec := json.NewDecoder(br)
	if b, _ := br.Peek(1); b[0] == '[' {
		var recs []ArgillaRecord
		err := dec.Decode(&recs)
		return recs, err
	}
	var recs []ArgillaRecord
	for {
		var rec ArgillaRecord
		err := dec.Decode(&rec)
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return recs, fmt.Errorf("record %d: %w", len(recs), err)
		}
		recs = append(recs, rec)
	}
}

// responsesByUser turns either SDK shape into user → question → response.
func responsesByUser(raw json.RawMessage) (map[string]map[string]argillaResponse, error) {
	out := map[string]map[string]argillaResponse{}
	put := func(user, q string, r argillaResponse) {
		if out[user] == nil {
			out[user] = map[string]argillaResponse{}
		}
		out[user][q] = r
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	if raw[0] == '{' {
		var m map[string][]argillaResponse
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("responses: %w", err)
		}
		for q, rs := range m {
			for _, r := range rs {
				put(r.UserID, q, r)
			}
		}
		return out, nil
	}
	var list []struct {
		UserID string `json:"user_id"`
		Status string `json:"status"`
		Values map[string]struct {
			Value json.RawMessage `json:"value"`
		} `json:"values"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("responses: %w", err)
	}
	for _, r := range list {
		for q, v := range r.Values {
			put(r.UserID, q, argillaResponse{Value: v.Value, UserID: r.UserID, Status: r.Status})
		}
	}
	return out, nil
}

// ImportArgilla reads records exported from Argilla (a JSON array or JSON
// lines, in the SDK's to_dict shape, or Argilla 1's FeedbackRecord shape) of
// a dataset made by [ExportArgilla], and appends one label per annotator
// with a submitted preference response to store, for the pairs in queue.
// Draft and discarded responses are skipped. A record that cannot be read
// is reported (record and user named) and the others are still imported;
// importing the same file again adds nothing. A changed answer supersedes
// the earlier one, but Argilla's records carry no times, so an answer
// changed back to one imported before counts as Existing and the later
// import's answer stays.
func ImportArgilla(store *Store, queue *Queue, r io.Reader, name string) (ImportStats, error) {
	recs, err := readArgilla(r)
	if err != nil {
		return ImportStats{}, fmt.Errorf("label: %s: not an Argilla records export: %w", name, err)
	}
	var st ImportStats
	var errs []error
	for i, rec := range recs {
		md := rec.Metadata
		pairID := md["pair_id"]
		if pairID == "" {
			pairID = rec.ID
		}
		where := fmt.Sprintf("%s: record %d (pair %s)", name, i, pairID)
		p, ok := queue.Pair(pairID)
		if !ok {
			errs = append(errs, fmt.Errorf("label: %s: pair is not in the queue", where))
			continue
		}
		aID, bID := md["response_a_id"], md["response_b_id"]
		if !samePair(p, aID, bID) {
			errs = append(errs, fmt.Errorf("label: %s: metadata response_a_id %q and response_b_id %q are not the responses of the pair", where, aID, bID))
			continue
		}
		users, err := responsesByUser(rec.Responses)
		if err != nil {
			errs = append(errs, fmt.Errorf("label: %s: %w", where, err))
			continue
		}
		names := make([]string, 0, len(users))
		for u := range users {
			names = append(names, u)
		}
		sort.Strings(names)
		for _, u := range names {
			where := fmt.Sprintf("%s user %s", where, u)
			qs := users[u]
			pref, ok := qs[ArgillaPreference]
			if !ok {
				st.Skipped++ // answered other questions only
				continue
			}
			if pref.Status != "" && pref.Status != "submitted" {
				st.Skipped++
				continue
			}
			if u == "" {
				errs = append(errs, fmt.Errorf("label: %s: response without a user_id", where))
				continue
			}
			l, err := argillaLabel(p, aID, bID, u, qs)
			if err := importOne(store, p, l, err, &st); err != nil {
				errs = append(errs, fmt.Errorf("label: %s: %w", where, err))
			}
		}
	}
	return st, errors.Join(errs...)
}

func argillaLabel(p prefdata.Pair, aID, bID, user string, qs map[string]argillaResponse) (Label, error) {
	var pref string
	if err := json.Unmarshal(qs[ArgillaPreference].Value, &pref); err != nil {
		return Label{}, fmt.Errorf("preference value %s: %w", qs[ArgillaPreference].Value, err)
	}
	l := Label{
		PairID:    p.ID,
		PromptID:  p.Prompt.ID,
		Annotator: "argilla:" + user,
		Shown:     []string{aID, bID},
		Source:    SourceArgilla,
	}
	switch pref {
	case "response_a":
		l.Verdict, l.Preferred = VerdictPrefer, aID
	case "response_b":
		l.Verdict, l.Preferred = VerdictPrefer, bID
	case "tie":
		l.Verdict = VerdictTie
	case "both_bad":
		l.Verdict = VerdictBothBad
	default:
		return Label{}, fmt.Errorf("unknown preference %q (want response_a, response_b, tie or both_bad)", pref)
	}
	if r, ok := qs[ArgillaStrength]; ok && l.Verdict == VerdictPrefer && (r.Status == "" || r.Status == "submitted") {
		var n int
		if err := json.Unmarshal(r.Value, &n); err != nil || n < 1 || n > 3 {
			return Label{}, fmt.Errorf("strength %s: want 1, 2 or 3", r.Value)
		}
		l.Strength = Strength(n)
	}
	if r, ok := qs[ArgillaComment]; ok {
		var c string
		if err := json.Unmarshal(r.Value, &c); err != nil {
			return Label{}, fmt.Errorf("comment %s: %w", r.Value, err)
		}
		l.Comment = strings.TrimSpace(c)
	}
	// The same answer imported again is the same label; a changed answer
	// is a new one, which supersedes the old (the latest label counts).
	l.ID = "argilla-" + contentID(l, user)
	return l, nil
}
