package dataset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
)

// hhRows returns n HH-RLHF rows with no ID columns, as Anthropic's files
// have them.
func hhRows(n int) string {
	var b strings.Builder
	for i := range n {
		q := fmt.Sprintf("\n\nHuman: Question %d: how do I do thing %d?", i, i*7)
		row, _ := json.Marshal(map[string]string{
			"chosen":   q + fmt.Sprintf("\n\nAssistant: Carefully, step %d.", i),
			"rejected": q + "\n\nAssistant: No idea.",
		})
		b.Write(row)
		b.WriteByte('\n')
	}
	return b.String()
}

// HH pairs read back have prompt, response and pair IDs derived from their
// content, so a Folder splits them by prompt (before, every pair had an
// empty prompt ID and went to one split).
func TestHHPairsGetContentIDsAndSplit(t *testing.T) {
	rows := hhRows(2307)
	pairs, err := ReadAll(strings.NewReader(rows), "hh.jsonl", HHRLHF)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for i, p := range pairs {
		if p.Prompt.ID == "" || p.ID == "" || p.Chosen.ID == "" || p.Rejected.ID == "" {
			t.Fatalf("pair %d has an empty ID: %q %q %q %q", i, p.ID, p.Prompt.ID, p.Chosen.ID, p.Rejected.ID)
		}
		if p.Prompt.ID != prefdata.ContentID(p.Prompt.Messages) {
			t.Errorf("pair %d: prompt ID %s is not the content ID", i, p.Prompt.ID)
		}
		if p.ID != prefdata.PairID(p.Prompt.ID, p.Chosen.ID, p.Rejected.ID) {
			t.Errorf("pair %d: pair ID %s", i, p.ID)
		}
		if p.Chosen.PromptID != p.Prompt.ID {
			t.Errorf("pair %d: chosen's prompt ID %q", i, p.Chosen.PromptID)
		}
		ids[p.ID] = true
	}
	if len(ids) != len(pairs) {
		t.Errorf("%d distinct pair IDs for %d pairs", len(ids), len(pairs))
	}
	again, _ := ReadAll(strings.NewReader(rows), "hh.jsonl", HHRLHF)
	if !reflect.DeepEqual(again, pairs) {
		t.Error("IDs differ between two reads of one file")
	}

	fo, err := NewFolder(t.TempDir(), HHRLHF, FolderOptions{TestFraction: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		if err := fo.WritePair(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	if err := fo.Flush(); err != nil {
		t.Fatal(err)
	}
	rowsBySplit := map[string]int{}
	for _, f := range fo.Files() {
		rowsBySplit[f.Split] += f.Rows
	}
	t.Logf("2307 HH pairs: %v", rowsBySplit)
	if test := rowsBySplit["test"]; test < 150 || test > 320 {
		t.Errorf("test split has %d of %d rows, want about 10%%", test, len(pairs))
	}
	if rowsBySplit["train"]+rowsBySplit["test"] != len(pairs) {
		t.Errorf("splits hold %v, want %d rows", rowsBySplit, len(pairs))
	}
}

// IDs a row carries (provenance columns) are kept, not derived.
func TestReadKeepsCarriedIDs(t *testing.T) {
	p := samplePairs()[0]
	out := writeAll(t, HHRLHF, Options{Provenance: true}, []prefdata.Pair{p})
	got, err := ReadAll(strings.NewReader(string(out)), "x", HHRLHF)
	if err != nil || len(got) != 1 {
		t.Fatal(err)
	}
	if got[0].ID != p.ID || got[0].Prompt.ID != p.Prompt.ID || got[0].Chosen.ID != p.Chosen.ID {
		t.Errorf("IDs %q %q %q, want %q %q %q", got[0].ID, got[0].Prompt.ID, got[0].Chosen.ID, p.ID, p.Prompt.ID, p.Chosen.ID)
	}
}

// parseHHQuadratic is the parser before it was made linear, kept as the
// reference the new one must agree with.
func parseHHQuadratic(s string) ([]prefdata.Message, error) {
	var msgs []prefdata.Message
	first := true
	for len(s) > 0 {
		h, a := strings.Index(s, hhHuman), strings.Index(s, hhAssistant)
		next := -1
		switch {
		case h >= 0 && (a < 0 || h < a):
			next = h
		case a >= 0:
			next = a
		}
		if first {
			first = false
			if next != 0 {
				if next < 0 {
					return nil, errors.New("no turn")
				}
				msgs = append(msgs, prefdata.Message{Role: prefdata.RoleSystem, Content: s[:next]})
				s = s[next:]
				continue
			}
		}
		role, marker := prefdata.RoleUser, hhHuman
		if strings.HasPrefix(s, hhAssistant) {
			role, marker = prefdata.RoleAssistant, hhAssistant
		}
		s = s[len(marker):]
		end := len(s)
		if i := strings.Index(s, hhHuman); i >= 0 {
			end = i
		}
		if i := strings.Index(s, hhAssistant); i >= 0 && i < end {
			end = i
		}
		msgs = append(msgs, prefdata.Message{Role: role, Content: s[:end]})
		s = s[end:]
	}
	return msgs, nil
}

func TestParseHHTranscriptAgreesWithReference(t *testing.T) {
	pieces := []string{"\n", "\n\n", "\n\n\n", "Human: ", "Assistant: ", "Human:", "hi", " ", "H", "\n\nHuman: ", "\n\nAssistant: ", "x\n\ny"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		got, err := ParseHHTranscript(s)
		want, werr := parseHHQuadratic(s)
		if (err != nil) != (werr != nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d %q:\n got %q, %v\nwant %q, %v", i, s, got, err, want, werr)
		}
	}
}

// hhTranscript returns an HH transcript of about size bytes in turns of
// about turn bytes; with humanOnly, every turn is the human's (the shape
// that made the old parser quadratic: each turn searched the whole rest for
// an Assistant marker).
func hhTranscript(size, turn int, humanOnly bool) string {
	var b strings.Builder
	body := strings.Repeat("w", max(turn-len(hhHuman), 1))
	for i := 0; b.Len() < size; i++ {
		if i%2 == 0 || humanOnly {
			b.WriteString(hhHuman)
		} else {
			b.WriteString(hhAssistant)
		}
		b.WriteString(body)
	}
	b.WriteString(hhAssistant + "end")
	return b.String()
}

var hhBenchCases = []struct {
	name      string
	turn      int
	humanOnly bool
}{
	{"turns-of-16B-human-only", 16, true},
	{"turns-of-100B", 100, false},
	{"turns-of-1MiB", 1 << 20, false},
}

// BenchmarkParseHHTranscript parses one 16 MiB transcript (the reader's line
// limit).
func BenchmarkParseHHTranscript(b *testing.B) {
	for _, c := range hhBenchCases {
		s := hhTranscript(16<<20, c.turn, c.humanOnly)
		b.Run("16MiB-"+c.name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			for range b.N {
				if _, err := ParseHHTranscript(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseHHTranscriptBefore is the old parser on 320 KB of the
// quadratic shape, for comparison.
func BenchmarkParseHHTranscriptBefore(b *testing.B) {
	s := hhTranscript(320<<10, 16, true)
	b.SetBytes(int64(len(s)))
	for range b.N {
		if _, err := parseHHQuadratic(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadHHRow reads one HH-RLHF row of 16 MiB (two 8 MiB
// transcripts of short human turns) through the Reader: JSON decoding,
// parsing and IDs.
func BenchmarkReadHHRow(b *testing.B) {
	t := hhTranscript(8<<20-64, 16, true)
	row, _ := json.Marshal(map[string]string{"chosen": t + hhAssistant + "yes", "rejected": t + hhAssistant + "no"})
	b.SetBytes(int64(len(row)))
	for range b.N {
		ps, err := ReadAll(strings.NewReader(string(row)), "big.jsonl", HHRLHF)
		if err != nil || len(ps) != 1 {
			b.Fatal(err)
		}
	}
}
