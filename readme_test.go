package prefdata_test

import (
	"bufio"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
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
// stopped (label-server) or need runs of their own (merge, screenshots,
// go test) are checked for their files only, above.
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
}

// copyRepo copies the module's files (not .git, runs or outputs) to dst.
func copyRepo(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "runs" || d.Name() == "out") && path != src {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, path)
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
