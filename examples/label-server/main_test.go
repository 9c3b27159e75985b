package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/label"
)

func TestDefaultAddrIsLoopback(t *testing.T) {
	host, _, err := net.SplitHostPort(defaultAddr)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("default address %s is not loopback", defaultAddr)
	}
}

// The command's export and import round trip: the queue goes out as Label
// Studio tasks (with the labeling config), an annotated export comes back as
// labels in the run directory.
func TestLabelStudioCommands(t *testing.T) {
	tmp := t.TempDir()
	runDir := filepath.Join(tmp, "run")
	dir, err := prefdata.OpenRunDir(runDir)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []prefdata.Message{{Role: prefdata.RoleUser, Content: "Name a prime."}}
	pr := prefdata.Prompt{ID: prefdata.ContentID(msgs), Messages: msgs}
	a := prefdata.Response{ID: "r-a", PromptID: pr.ID, Text: "7"}
	b := prefdata.Response{ID: "r-b", PromptID: pr.ID, Text: "9"}
	pair := prefdata.Pair{ID: prefdata.PairID(pr.ID, a.ID, b.ID), Prompt: pr, Chosen: a, Rejected: b, NeedsHuman: true}
	if err := dir.Append(prefdata.FileQueue, pair); err != nil {
		t.Fatal(err)
	}
	if err := dir.Close(); err != nil {
		t.Fatal(err)
	}

	tasksFile := filepath.Join(tmp, "tasks.json")
	var out bytes.Buffer
	if err := run([]string{"-run", runDir, "-export-labelstudio", tasksFile}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "1 tasks written") {
		t.Errorf("export said %q", out.String())
	}
	if cfg, err := os.ReadFile(tasksFile + ".xml"); err != nil || !strings.Contains(string(cfg), "<Pairwise") {
		t.Fatalf("labeling config: %v %s", err, cfg)
	}
	raw, err := os.ReadFile(tasksFile)
	if err != nil {
		t.Fatal(err)
	}
	var tasks []label.LSTask
	if err := json.Unmarshal(raw, &tasks); err != nil || len(tasks) != 1 {
		t.Fatalf("tasks: %v %s", err, raw)
	}
	data, _ := json.Marshal(tasks[0].Data)
	exported := fmt.Sprintf(`[{"id": 1, "data": %s, "annotations": [{"id": 11, "completed_by": 2,
		"result": [{"from_name": "pairwise", "to_name": "pairwise", "type": "pairwise", "value": {"selected": "right"}}],
		"was_cancelled": false, "updated_at": "2026-01-05T10:00:00Z", "lead_time": 4.5}]}]`, data)
	exportFile := filepath.Join(tmp, "export.json")
	if err := os.WriteFile(exportFile, []byte(exported), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run([]string{"-run", runDir, "-import-labelstudio", exportFile}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "imported 1 labels") {
		t.Errorf("import said %q", out.String())
	}
	dir2, err := prefdata.OpenRunDir(runDir)
	if err != nil {
		t.Fatal(err)
	}
	store, err := label.OpenStore(dir2)
	if err != nil {
		t.Fatal(err)
	}
	ls := store.Labels()
	if len(ls) != 1 || ls[0].Preferred != tasks[0].Data.RightID || ls[0].Annotator != "labelstudio:2" {
		t.Fatalf("labels after import: %+v", ls)
	}
}

func TestRunNeedsARunDirectory(t *testing.T) {
	var out bytes.Buffer
	if err := run(nil, &out); err == nil || !strings.Contains(err.Error(), "-run") {
		t.Errorf("err = %v", err)
	}
}

// A weak token on the command line is refused with a message saying why,
// before anything listens.
func TestWeakTokenOnCommandLine(t *testing.T) {
	runDir := t.TempDir()
	for _, args := range [][]string{
		{"-annotators", "alice=d"},
		{"-annotators", "alice=<script>"},
		{"-annotators", "alice", "-admin-token", "adm2"},
	} {
		var out bytes.Buffer
		err := run(append([]string{"-run", runDir, "-addr", "127.0.0.1:0"}, args...), &out)
		if err == nil || !strings.Contains(err.Error(), "weak token refused") {
			t.Errorf("%v: err = %v, want a weak-token refusal", args, err)
		}
		if strings.Contains(out.String(), "serving") {
			t.Errorf("%v: the server started: %s", args, out.String())
		}
	}
}
