package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prefdata/prefdata"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func msg(role, content string) prefdata.Message {
	return prefdata.Message{Role: role, Content: content}
}

// samplePairs covers what the formats must carry: a plain prompt, a system
// prompt with an earlier exchange, text that JSON and HTML escape, non-ASCII
// text, and full provenance.
func samplePairs() []prefdata.Pair {
	mk := func(id string, msgs []prefdata.Message, chosen, rejected string) prefdata.Pair {
		pid := prefdata.ContentID(msgs)
		return prefdata.Pair{
			ID:       id,
			Prompt:   prefdata.Prompt{ID: pid, Messages: msgs, Source: "seed.jsonl", Category: "general"},
			Chosen:   prefdata.Response{ID: "r-" + id + "-c", PromptID: pid, Model: "model-a", Text: chosen},
			Rejected: prefdata.Response{ID: "r-" + id + "-r", PromptID: pid, Model: "model-b", Text: rejected},
			Margin:   1.5, ScoreChosen: 3.25, ScoreRejected: 1.75,
			Provenance: prefdata.Provenance{Stage: prefdata.StageFilter, Labeler: "best-worst", Judge: "judge:j1", Confidence: 0.9},
		}
	}
	a := mk("pair-a", []prefdata.Message{msg("user", "What is 2+2?")}, "4", "5")
	b := mk("pair-b", []prefdata.Message{
		msg("system", "You are terse."),
		msg("user", "Name a colour."),
		msg("assistant", "Red."),
		msg("user", "Another <one> & \"quoted\"?"),
	}, "Blue.\nAlso green.", "I can't help with that.")
	b.Scores = []prefdata.Score{{ResponseID: "r-pair-b-c", Scorer: "rm:x", Value: 3.25}, {ResponseID: "r-pair-b-r", Scorer: "rm:x", Value: 1.75}}
	b.Provenance.Stage = prefdata.StageLabel
	b.Provenance.Annotators = []string{"ann1", "ann2"}
	c := mk("pair-c", []prefdata.Message{msg("user", "Traduis « bonjour » en japonais 🙂")}, "こんにちは", "Hello\tworld\\")
	c.Provenance.Stage = prefdata.StageGenerate
	c.ScoreChosen, c.ScoreRejected, c.Margin = -0.5, -2, 1.5
	return []prefdata.Pair{a, b, c}
}

func writeAll(t *testing.T, f Format, o Options, pairs []prefdata.Pair) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, f, o)
	if err != nil {
		t.Fatal(err)
	}
	w.Strict = true
	for _, p := range pairs {
		if err := w.WritePair(context.Background(), p); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Rows() != len(pairs) {
		t.Fatalf("%s: Rows() = %d, want %d", f, w.Rows(), len(pairs))
	}
	return buf.Bytes()
}

// carried returns what format f keeps of p, as the reader should give it
// back: the projection the round trip must preserve.
func carried(f Format, o Options, p prefdata.Pair) prefdata.Pair {
	var q prefdata.Pair
	if o.Provenance {
		q.ID = p.ID
		q.Prompt.ID, q.Prompt.Source, q.Prompt.Category = p.Prompt.ID, p.Prompt.Source, p.Prompt.Category
		q.Chosen.ID, q.Rejected.ID = p.Chosen.ID, p.Rejected.ID
		q.Chosen.PromptID, q.Rejected.PromptID = p.Prompt.ID, p.Prompt.ID
		q.Chosen.Model, q.Rejected.Model = p.Chosen.Model, p.Rejected.Model
		q.ScoreChosen, q.ScoreRejected, q.Margin = p.ScoreChosen, p.ScoreRejected, p.Margin
		q.Scores = p.Scores
		q.Provenance = p.Provenance
		q.Provenance.Reason = ""
	}
	q.Prompt.Messages = p.Prompt.Messages
	q.Chosen.Text, q.Rejected.Text = p.Chosen.Text, p.Rejected.Text
	switch f {
	case TRLStandard:
		q.Prompt.Messages = []prefdata.Message{msg("user", StandardPrompt(p.Prompt.Messages))}
		if o.Margin {
			q.Margin = p.Margin
		}
	case TRLConversational:
		if o.Margin {
			q.Margin = p.Margin
		}
	case Hub:
		q.Prompt.ID = p.Prompt.ID
		q.Chosen.PromptID, q.Rejected.PromptID = p.Prompt.ID, p.Prompt.ID
		q.ScoreChosen, q.ScoreRejected = p.ScoreChosen, p.ScoreRejected
		q.Chosen.Model, q.Rejected.Model = p.Chosen.Model, p.Rejected.Model
	}
	fillIDs(&q) // what the row did not carry is derived from its content
	return q
}

func optionSets() map[string]Options {
	return map[string]Options{
		"plain":      {},
		"margin":     {Margin: true},
		"provenance": {Provenance: true, Margin: true},
		"prov-only":  {Provenance: true},
	}
}

func TestRoundTripEveryFormat(t *testing.T) {
	pairs := samplePairs()
	for _, f := range Formats() {
		for name, o := range optionSets() {
			t.Run(string(f)+"/"+name, func(t *testing.T) {
				first := writeAll(t, f, o, pairs)
				if !utf8.Valid(first) {
					t.Fatal("output is not valid UTF-8")
				}
				lines := bytes.Split(bytes.TrimSuffix(first, []byte("\n")), []byte("\n"))
				if len(lines) != len(pairs) {
					t.Fatalf("%d lines, want %d", len(lines), len(pairs))
				}
				for i, l := range lines {
					if !json.Valid(l) {
						t.Fatalf("line %d is not JSON: %s", i+1, l)
					}
				}
				if hasProv := bytes.Contains(first, []byte(`"pair_id"`)); hasProv != o.Provenance {
					t.Errorf("provenance columns present: %v, want %v", hasProv, o.Provenance)
				}
				if hasMargin := bytes.Contains(first, []byte(`"margin"`)); hasMargin != (o.Provenance || o.Margin && (f == TRLStandard || f == TRLConversational)) {
					t.Errorf("margin column present: %v with %+v", hasMargin, o)
				}
				got, err := ReadAll(bytes.NewReader(first), "out.jsonl", f)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(pairs) {
					t.Fatalf("read %d pairs, want %d", len(got), len(pairs))
				}
				for i := range pairs {
					want := carried(f, o, pairs[i])
					if !pairsEqual(got[i], want) {
						t.Errorf("pair %d read back as\n%+v\nwant\n%+v", i, got[i], want)
					}
				}
				if second := writeAll(t, f, o, got); !bytes.Equal(first, second) {
					t.Errorf("writing the pairs read back changed the file:\n%s\nvs\n%s", first, second)
				}
			})
		}
	}
}

func pairsEqual(a, b prefdata.Pair) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// TestGolden pins each format's bytes for the rows of the sample run. Run
// with -update to rewrite the files after an intended change.
func TestGolden(t *testing.T) {
	pairs := sampleRunPairs(t)
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			got := writeAll(t, f, Options{Provenance: true, Margin: true}, pairs)
			path := filepath.Join("testdata", string(f)+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the output:\n%s", path, firstDiff(got, want))
			}
			back, err := ReadAll(bytes.NewReader(want), path, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(back) != len(pairs) {
				t.Errorf("golden file holds %d pairs, want %d", len(back), len(pairs))
			}
		})
	}
}

func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return ""
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestConversationalShape checks the TRL conversational rows rule by rule,
// on every sample pair and on a prompt that ends with an assistant turn.
func TestConversationalShape(t *testing.T) {
	pairs := samplePairs()
	prefill := pairs[0]
	prefill.ID = "pair-prefill"
	prefill.Prompt.Messages = []prefdata.Message{msg("user", "Write a haiku."), msg("assistant", "Here it is:")}
	pairs = append(pairs, prefill)
	out := writeAll(t, TRLConversational, Options{}, pairs)
	for i, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var row struct {
			Prompt, Chosen, Rejected []prefdata.Message
		}
		if err := json.Unmarshal(line, &row); err != nil {
			t.Fatal(err)
		}
		p := pairs[i]
		// Rule 1: the prompt ends with a user turn.
		if n := len(row.Prompt); n == 0 || row.Prompt[n-1].Role != "user" {
			t.Errorf("row %d: prompt does not end with a user turn: %+v", i, row.Prompt)
		}
		for _, side := range []struct {
			name string
			msgs []prefdata.Message
			text string
		}{{"chosen", row.Chosen, p.Chosen.Text}, {"rejected", row.Rejected, p.Rejected.Text}} {
			// Rule 2: each side is a single assistant message, or a list
			// of assistant messages ending with the answer.
			if len(side.msgs) == 0 {
				t.Fatalf("row %d: %s is empty", i, side.name)
			}
			for _, m := range side.msgs {
				if m.Role != "assistant" {
					t.Errorf("row %d: %s holds a %q turn", i, side.name, m.Role)
				}
			}
			if last := side.msgs[len(side.msgs)-1]; last.Content != side.text {
				t.Errorf("row %d: %s ends with %q, want the answer %q", i, side.name, last.Content, side.text)
			}
			if len(side.msgs) != 1 && p.ID != "pair-prefill" {
				t.Errorf("row %d: %s has %d messages, want a single one", i, side.name, len(side.msgs))
			}
		}
		// Rule 3: the same prompt for both sides: prompt plus each side's
		// lead-in gives back the pair's whole prompt.
		for _, side := range [][]prefdata.Message{row.Chosen, row.Rejected} {
			whole := append(append([]prefdata.Message(nil), row.Prompt...), side[:len(side)-1]...)
			if !equalMsgs(whole, p.Prompt.Messages) {
				t.Errorf("row %d: prompt+lead-in = %+v, want %+v", i, whole, p.Prompt.Messages)
			}
		}
		if err := CheckConversationalRow(row.Prompt, row.Chosen, row.Rejected); err != nil {
			t.Errorf("row %d: %v", i, err)
		}
	}
	if len(pairs[3].Prompt.Messages) != 2 {
		t.Fatal("prefill pair lost its messages")
	}
}

// TestCheckConversationalRowRules shows that each rule of the checker fires.
func TestCheckConversationalRowRules(t *testing.T) {
	u, a, s := msg("user", "q"), msg("assistant", "x"), msg("system", "s")
	cases := []struct {
		name                     string
		prompt, chosen, rejected []prefdata.Message
		want                     string
	}{
		{"empty prompt", nil, []prefdata.Message{a}, []prefdata.Message{a}, "prompt: empty"},
		{"prompt ends with assistant", []prefdata.Message{u, a}, []prefdata.Message{a}, []prefdata.Message{a}, "prompt: ends with a \"assistant\""},
		{"empty chosen", []prefdata.Message{u}, nil, []prefdata.Message{a}, "chosen: empty"},
		{"rejected ends with user", []prefdata.Message{u}, []prefdata.Message{a}, []prefdata.Message{a, u}, "rejected: ends with a \"user\""},
		{"system in chosen", []prefdata.Message{u}, []prefdata.Message{s, a}, []prefdata.Message{s, a}, "chosen[0]: a \"system\" turn"},
		{"different lead-ins", []prefdata.Message{u}, []prefdata.Message{msg("assistant", "1"), a}, []prefdata.Message{msg("assistant", "2"), a}, "not the same for both"},
	}
	for _, c := range cases {
		err := CheckConversationalRow(c.prompt, c.chosen, c.rejected)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if err := CheckConversationalRow([]prefdata.Message{s, u}, []prefdata.Message{a}, []prefdata.Message{msg("assistant", "y")}); err != nil {
		t.Errorf("a good row: %v", err)
	}
}

func TestWriterSkipsWhatTheFormatCannotSay(t *testing.T) {
	good := samplePairs()[0]
	noUser := good
	noUser.ID = "pair-nouser"
	noUser.Prompt.Messages = []prefdata.Message{msg("system", "only a system message")}
	badUTF8 := good
	badUTF8.ID = "pair-utf8"
	badUTF8.Chosen.Text = "bad \xff byte"
	marker := good
	marker.ID = "pair-marker"
	marker.Chosen.Text = "a\n\nHuman: injected"
	nan := good
	nan.ID = "pair-nan"
	nan.ScoreChosen = nan.ScoreChosen / zero()

	cases := []struct {
		f    Format
		p    prefdata.Pair
		want string
	}{
		{TRLConversational, noUser, "no user message"},
		{OpenAI, noUser, "does not end with a user message"},
		{Alpaca, noUser, "alternate"},
		{Hub, badUTF8, "not valid UTF-8"},
		{HHRLHF, marker, "Human:"},
		{Hub, nan, "unsupported value"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, c.f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []prefdata.Pair{good, c.p, good} {
			if err := w.WritePair(context.Background(), p); err != nil {
				t.Fatalf("%s: %v", c.f, err)
			}
		}
		w.Flush()
		sk := w.Skipped()
		if w.Rows() != 2 || len(sk) != 1 || sk[0].PairID != c.p.ID || !strings.Contains(sk[0].Error(), c.want) {
			t.Errorf("%s %s: rows %d, skipped %v; want 2 rows and one skip naming %s with %q", c.f, c.p.ID, w.Rows(), sk, c.p.ID, c.want)
		}
		if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 2 {
			t.Errorf("%s: %d lines written, want 2", c.f, n)
		}
		w.Strict = true
		var se *SkipError
		if err := w.WritePair(context.Background(), c.p); !errors.As(err, &se) {
			t.Errorf("%s strict: got %v, want a *SkipError", c.f, err)
		}
	}
}

func zero() float64 { return 0 }

func TestReaderErrorsNameFileAndLine(t *testing.T) {
	trl := writeAll(t, TRLStandard, Options{}, samplePairs()[:1])
	in := append(append([]byte{}, trl...), []byte("{\"prompt\": \"x\", \"chosen\": 1}\n")...)
	in = append(in, trl...)
	r, err := NewReader(bytes.NewReader(in), "mixed.jsonl", TRLStandard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(); err == nil || !strings.Contains(err.Error(), "mixed.jsonl:2") {
		t.Errorf("bad line: %v, want an error naming mixed.jsonl:2", err)
	}
	if _, err := r.Read(); err != nil {
		t.Errorf("the line after a bad one: %v", err)
	}
	// A file of another format is refused by its columns.
	if _, err := ReadAll(bytes.NewReader(trl), "trl.jsonl", OpenAI); err == nil || !strings.Contains(err.Error(), "trl.jsonl:1") {
		t.Errorf("TRL read as OpenAI: %v", err)
	}
	if _, err := NewReader(bytes.NewReader(nil), "x", Format("csv")); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestHHTranscriptForm(t *testing.T) {
	p := samplePairs()[1]
	out := writeAll(t, HHRLHF, Options{}, []prefdata.Pair{p})
	var row struct{ Chosen, Rejected string }
	if err := json.Unmarshal(out, &row); err != nil {
		t.Fatal(err)
	}
	want := "You are terse.\n\nHuman: Name a colour.\n\nAssistant: Red.\n\nHuman: Another <one> & \"quoted\"?\n\nAssistant: Blue.\nAlso green."
	if row.Chosen != want {
		t.Errorf("chosen transcript\n%q\nwant\n%q", row.Chosen, want)
	}
}

func TestDatasetInfo(t *testing.T) {
	files := []DataFile{{Config: "default", Split: "train", Path: "data/train.jsonl"}, {Config: "stage4", Split: "test", Path: "stage4/test.jsonl"}}
	b, err := DatasetInfo(ShareGPT, "mydata", files)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]struct {
		FileName   string            `json:"file_name"`
		Formatting string            `json:"formatting"`
		Ranking    bool              `json:"ranking"`
		Columns    map[string]string `json:"columns"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	e, ok := info["mydata"]
	if !ok || !e.Ranking || e.Formatting != "sharegpt" || e.FileName != "data/train.jsonl" || e.Columns["messages"] != "conversations" {
		t.Errorf("entry mydata = %+v", e)
	}
	if e := info["mydata_stage4_test"]; e.FileName != "stage4/test.jsonl" || !e.Ranking {
		t.Errorf("entry mydata_stage4_test = %+v", e)
	}
	if _, err := DatasetInfo(Hub, "x", files); err == nil {
		t.Error("DatasetInfo accepted the hub format")
	}
}

// TestProvenanceCarriesMarginInTRL: Options.Provenance promises a margin
// column in every format; in the TRL formats the format's own optional
// margin column must not hide it.
func TestProvenanceCarriesMarginInTRL(t *testing.T) {
	p := samplePairs()[0]
	for _, f := range []Format{TRLStandard, TRLConversational} {
		out := writeAll(t, f, Options{Provenance: true}, samplePairs()[:1])
		var row map[string]any
		if err := json.Unmarshal(out, &row); err != nil {
			t.Fatal(err)
		}
		if m, ok := row["margin"]; !ok || m != p.Margin {
			t.Errorf("%s with provenance: margin column %v (present %v), want %v", f, m, ok, p.Margin)
		}
	}
}

// TestStandardPromptCuesTheAnswer: TRL's standard format concatenates
// prompt and chosen; a multi-turn transcript must end with the assistant's
// header so the answer reads as the assistant's turn, not as more of the
// user's.
func TestStandardPromptCuesTheAnswer(t *testing.T) {
	p := samplePairs()[1] // system, user, assistant, user
	got := StandardPrompt(p.Prompt.Messages)
	want := "System: You are terse.\n\nUser: Name a colour.\n\nAssistant: Red.\n\nUser: Another <one> & \"quoted\"?\n\nAssistant:"
	if got != want {
		t.Errorf("StandardPrompt = %q, want %q", got, want)
	}
	if one := StandardPrompt(samplePairs()[0].Prompt.Messages); one != "What is 2+2?" {
		t.Errorf("a lone user message became %q, want its text", one)
	}
}

func TestStandardPromptOfNothing(t *testing.T) {
	if got := StandardPrompt(nil); got != "" {
		t.Errorf("StandardPrompt(nil) = %q", got)
	}
}
