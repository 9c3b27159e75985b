package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/prefdata/prefdata"
)

// realPairs pairs two models' real AlpacaEval answers to the same 805
// instructions (Mixtral's as chosen, Llama 2's as rejected).
func realPairs(t *testing.T) []prefdata.Pair {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "alpaca_eval")
	load := func(name string) []struct{ Instruction, Output, Generator string } {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Skipf("real data absent (%v): this test needs ../shared/data", err)
		}
		var rows []struct{ Instruction, Output, Generator string }
		if err := json.Unmarshal(b, &rows); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	a, b := load("Mixtral-8x7B-Instruct-v0.1.json"), load("llama-2-7b-chat-hf.json")
	if len(a) != len(b) {
		t.Fatalf("%d vs %d rows", len(a), len(b))
	}
	var out []prefdata.Pair
	for i := range a {
		if a[i].Instruction != b[i].Instruction {
			t.Fatalf("row %d: instructions differ", i)
		}
		msgs := []prefdata.Message{{Role: "user", Content: a[i].Instruction}}
		pid := prefdata.ContentID(msgs)
		c := prefdata.Response{ID: prefdata.ResponseID(pid, a[i].Generator, "", prefdata.Sampling{}, 0), PromptID: pid, Model: a[i].Generator, Text: a[i].Output}
		r := prefdata.Response{ID: prefdata.ResponseID(pid, b[i].Generator, "", prefdata.Sampling{}, 0), PromptID: pid, Model: b[i].Generator, Text: b[i].Output}
		out = append(out, prefdata.Pair{ID: prefdata.PairID(pid, c.ID, r.ID), Prompt: prefdata.Prompt{ID: pid, Messages: msgs, Source: "alpaca_eval"}, Chosen: c, Rejected: r,
			Provenance: prefdata.Provenance{Stage: prefdata.StageFilter}})
	}
	return out
}

// TestRealDataRoundTrip writes 805 real pairs in every format and reads
// them back: nothing is skipped, and the texts come back byte for byte.
func TestRealDataRoundTrip(t *testing.T) {
	pairs := realPairs(t)
	for _, f := range Formats() {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, f, Options{Provenance: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pairs {
			if err := w.WritePair(context.Background(), p); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		if sk := w.Skipped(); len(sk) > 0 {
			t.Errorf("%s: %d pairs skipped, first: %v", f, len(sk), sk[0])
		}
		got, err := ReadAll(bytes.NewReader(buf.Bytes()), string(f), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != w.Rows() {
			t.Fatalf("%s: read %d of %d rows", f, len(got), w.Rows())
		}
		for i, p := range got {
			if p.Chosen.Text != pairs[i].Chosen.Text || p.Rejected.Text != pairs[i].Rejected.Text || p.Prompt.Text() != pairs[i].Prompt.Text() || p.ID != pairs[i].ID {
				t.Errorf("%s: pair %d changed in the round trip", f, i)
				break
			}
		}
	}
}
