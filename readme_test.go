package prefdata_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prefdata/prefdata/response/openaitest"
)

// readmeCommand is one shell command of README.md's code blocks, its
// continuation lines joined and its comment cut.
type readmeCommand struct {
	line int
	env  []string // VAR=value before the command
	args []string // go run ./examples/... and its arguments
}

var envRE = regexp.MustCompile(`^[A-Z_]+=\S*$`)

// readmeCommands returns the `go run ./...` commands of the README's
// indented code blocks.
func readmeCommands(t *testing.T) []readmeCommand {
	t.Helper()
	f, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []readmeCommand
	sc := bufio.NewScanner(f)
	n, start := 0, 0
	var cur strings.Builder
	for sc.Scan() {
		n++
		line := sc.Text()
		if cur.Len() == 0 {
			if !strings.HasPrefix(line, "    ") || !strings.Contains(line, "go run ./") {
				continue
			}
			start = n
		}
		text, _, _ := strings.Cut(strings.TrimSpace(line), " #")
		text = strings.TrimSpace(text)
		if cont, ok := strings.CutSuffix(text, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(text)
		c := readmeCommand{line: start}
		for _, w := range strings.Fields(cur.String()) {
			if len(c.args) == 0 && envRE.MatchString(w) {
				c.env = append(c.env, w)
				continue
			}
			c.args = append(c.args, w)
		}
		cur.Reset()
		if len(c.args) >= 3 && c.args[0] == "go" && c.args[1] == "run" {
			out = append(out, c)
		}
	}
	return out
}

// inputFlags take a file the repository must ship.
var inputFlags = map[string]bool{"-prompts": true, "-in": true, "-eval": true, "-gold": true}

// TestReadmeCommandsNameShippedFiles: every input file a README command
// names is in the repository, so the command runs as written on a fresh
// clone.
func TestReadmeCommandsNameShippedFiles(t *testing.T) {
	cmds := readmeCommands(t)
	if len(cmds) < 8 {
		t.Fatalf("found %d go run commands in README.md; the parser lost some", len(cmds))
	}
	for _, c := range cmds {
		if _, err := os.Stat(strings.TrimPrefix(c.args[2], "./")); err != nil && !strings.Contains(c.args[2], "cmd/") {
			t.Errorf("README.md:%d: %s: no such package in the repository", c.line, c.args[2])
		}
		for i, a := range c.args[:len(c.args)-1] {
			if inputFlags[a] {
				if _, err := os.Stat(c.args[i+1]); err != nil {
					t.Errorf("README.md:%d: %s %s: the repository does not ship it", c.line, a, c.args[i+1])
				}
			}
		}
	}
}

// fakeJudge answers the judge prompts of the quickstart's judge with a
// verdict or a grade, everything else with the fake server's default.
func fakeJudge(req openaitest.Request, choice int) openaitest.Reply {
	if len(req.Messages) > 0 {
		text := req.Messages[len(req.Messages)-1].Content
		switch {
		case strings.Contains(text, "[Answer A]"):
			return openaitest.Reply{Content: "A covers more.\n[[A]]"}
		case strings.Contains(text, "[Answer]"):
			return openaitest.Reply{Content: "Judged on coverage.\nRating: [[6]]"}
		}
	}
	return openaitest.DefaultReply(req, choice)
}

// TestReadmeCommandsRun runs, on a temporary copy of the repository, every
// README command that ends by itself: the quickstart against its built-in
// fake server (and its estimate and budget), stage1, generate, and the
// commands written for OpenAI, vLLM and Ollama with OPENAI_BASE_URL pointed
// at a local fake server instead (no network). Commands that serve until
// stopped (label-server) are started, checked and stopped; those that
// need runs of their own (merge, screenshots, go test) are checked for
// their files only, above.
func TestReadmeCommandsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the examples")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	tmp := t.TempDir()
	if err := copyRepo(".", tmp); err != nil {
		t.Fatal(err)
	}
	srv := openaitest.NewServer(openaitest.Config{Reply: fakeJudge})
	defer srv.Close()
	ran, endpoints := 0, 0
	for _, c := range readmeCommands(t) {
		pkg := c.args[2]
		if pkg != "./examples/quickstart" && pkg != "./examples/stage1" && pkg != "./examples/generate" {
			continue
		}
		ran++
		env := append(os.Environ(), "OPENAI_BASE_URL=", "OPENAI_API_KEY=")
		if len(c.env) > 0 {
			// As written, but the endpoint is the local fake server.
			endpoints++
			env = append(append(env, c.env...), "OPENAI_BASE_URL="+srv.URL)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, c.args[0], c.args[1:]...)
		cmd.Dir = tmp
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("README.md:%d: %s: %v\n%s", c.line, strings.Join(c.args, " "), err, out)
		}
	}
	if ran < 7 || endpoints < 3 {
		t.Errorf("ran %d README commands (%d with an endpoint), want the quickstart's, stage1's and generate's and the three endpoint ones", ran, endpoints)
	}
	// The label server serves until stopped: each README command is started
	// on the quickstart's run directory (DIR in the README stands for one),
	// its dashboard link is opened, and it is stopped as a person would,
	// with SIGTERM, and must exit 0.
	bin := filepath.Join(tmp, "label-server.bin")
	build := exec.Command("go", "build", "-o", bin, "./examples/label-server")
	build.Dir = tmp
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/label-server: %v\n%s", err, out)
	}
	// The quickstart's run as it is before any server gave out links.
	pristine := filepath.Join(t.TempDir(), "run")
	if err := copyTree(filepath.Join(tmp, "runs", "quickstart"), pristine); err != nil {
		t.Fatal(err)
	}
	served := 0
	for _, c := range readmeCommands(t) {
		if c.args[2] != "./examples/label-server" {
			continue
		}
		served++
		args := append([]string(nil), c.args[3:]...)
		for i, a := range args {
			if a == "DIR" {
				// A copy of the quickstart's run, so this server starts on
				// a directory no server has given links for yet.
				copyDir := fmt.Sprintf("runs/readme-%d", c.line)
				if err := copyTree(pristine, filepath.Join(tmp, copyDir)); err != nil {
					t.Fatal(err)
				}
				args[i] = copyDir
			}
		}
		// As written, on a free port: 8080 may be another program's.
		serveOnce(t, tmp, bin, c.line, append(args, "-addr", "127.0.0.1:0"))
	}
	if served < 2 {
		t.Errorf("started %d label-server commands of the README, want 2", served)
	}
}

// serveOnce starts the label server with args in dir, waits for its
// dashboard link, checks that the link answers 200, and stops it.
func serveOnce(t *testing.T, dir, bin string, line int, args []string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("README.md:%d: %v", line, err)
	}
	defer cmd.Process.Kill()
	// A guard, not a wait: a server that never prints its link is killed,
	// so the scan below ends and the test fails instead of hanging.
	guard := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer guard.Stop()
	link := ""
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "dashboard" && strings.HasPrefix(f[1], "http://") {
			link = f[1]
			break
		}
	}
	go io.Copy(io.Discard, stdout) // the server may print more; never block it
	if link == "" {
		cmd.Wait()
		t.Fatalf("README.md:%d: label-server %s printed no dashboard link\n%s", line, strings.Join(args, " "), stderr.String())
	}
	// The link sets a session cookie and redirects, as in a browser.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Jar: jar}).Get(link)
	if err != nil {
		t.Fatalf("README.md:%d: GET %s: %v", line, link, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("README.md:%d: GET %s: %s", line, link, resp.Status)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("README.md:%d: label-server %s after SIGTERM: %v\n%s", line, strings.Join(args, " "), err, stderr.String())
	}
}

// copyTree copies the regular files below src to dst, leaving out the
// folders skip names (below src itself).
func copyTree(src, dst string, skip ...string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != src && slices.Contains(skip, d.Name()) {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// copyRepo copies the module's files (not .git, runs or outputs) to dst.
func copyRepo(src, dst string) error { return copyTree(src, dst, ".git", "runs", "out") }
