package label

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
)

// TestHelperServe is not a test: TestKillLosesNothing runs the test binary
// with it as a server process that it then kills.
func TestHelperServe(t *testing.T) {
	dirName := os.Getenv("LABEL_HELPER_DIR")
	if dirName == "" {
		t.Skip("helper process for TestKillLosesNothing")
	}
	dir, err := prefdata.OpenRunDir(dirName)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(Config{Dir: dir, Annotators: []Annotator{{Name: "alice", Token: testToken("alice")}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ADDR %s\n", ln.Addr())
	t.Fatal(http.Serve(ln, srv)) // runs until killed
}

// startHelper starts the server process on dir and returns its base URL.
func startHelper(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServe$")
	cmd.Env = append(os.Environ(), "LABEL_HELPER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd, "http://" + addr
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	t.Fatal("the server process printed no address")
	return nil, ""
}

func call(t *testing.T, method, u string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	var req *http.Request
	if form != nil {
		req, _ = http.NewRequest(method, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req, _ = http.NewRequest(method, u, nil)
	}
	req.Header.Set("Authorization", "Bearer "+testToken("alice"))
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
	return resp, []byte(b.String())
}

// A server killed with SIGKILL loses no acknowledged label, and a new one
// on the same directory carries on where the annotator stopped.
func TestKillLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dirName := t.TempDir()
	dir, err := prefdata.OpenRunDir(dirName)
	if err != nil {
		t.Fatal(err)
	}
	const items, before = 12, 7
	for i := range items {
		if err := dir.Append(prefdata.FileQueue, queuePair(i, fmt.Sprint("a", i), fmt.Sprint("b", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := dir.Close(); err != nil {
		t.Fatal(err)
	}
	label := func(base string) string {
		resp, body := call(t, "GET", base+"/api/next", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("next: %s %s", resp.Status, body)
		}
		var n NextItem
		if err := json.Unmarshal(body, &n); err != nil {
			t.Fatal(err)
		}
		resp, body = call(t, "POST", base+"/label", url.Values{"csrf": {n.CSRF}, "item": {n.Item}, "choice": {"b"}, "strength": {"3"}})
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("label: %s %s", resp.Status, body)
		}
		return n.Item
	}
	cmd, base := startHelper(t, dirName)
	acked := map[string]bool{}
	for range before {
		acked[label(base)] = true
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no chance to flush
		t.Fatal(err)
	}
	_ = cmd.Wait()

	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(store.Labels()); got != before {
		t.Fatalf("%d labels survived the kill, want %d", got, before)
	}
	for _, l := range store.Labels() {
		if !acked[l.PairID] {
			t.Errorf("label of %s was not acknowledged", l.PairID)
		}
	}

	cmd, base = startHelper(t, dirName)
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	resp, body := call(t, "GET", base+"/api/progress", nil)
	var pr Progress
	if err := json.Unmarshal(body, &pr); err != nil || resp.StatusCode != 200 {
		t.Fatalf("progress: %s %s", resp.Status, body)
	}
	if pr.Done != before || pr.Remaining != items-before {
		t.Fatalf("after restart progress = %+v", pr)
	}
	for range items - before {
		if item := label(base); acked[item] {
			t.Fatalf("item %s served again after restart", item)
		}
	}
	if resp, _ := call(t, "GET", base+"/api/next", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("after all items: %s", resp.Status)
	}
}
