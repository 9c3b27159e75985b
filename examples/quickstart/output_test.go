package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
)

// A run that fails (here: a torn manifest) leaves the previous output as it
// was; the pairs reach -out only through a rename at the end.
func TestQuickstartFailedRunKeepsThePreviousOutput(t *testing.T) {
	tmp := t.TempDir()
	runDir, out := filepath.Join(tmp, "run"), filepath.Join(tmp, "out", "pairs.jsonl")
	args := []string{"-run", runDir, "-out", out, "-concurrency", "8", "-confidence", "0.7", "-progress", "0"}
	require.NoError(t, run(context.Background(), args, noEnv, io.Discard))
	before, err := os.ReadFile(out)
	require.NoError(t, err)
	require.NotEmpty(t, before)

	require.NoError(t, os.WriteFile(filepath.Join(runDir, prefdata.FileManifest), []byte(`{"version":`), 0o644))
	require.Error(t, run(context.Background(), args, noEnv, io.Discard))
	after, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "the failed run changed the previous output")
	left, err := filepath.Glob(filepath.Join(tmp, "out", ".pairs.jsonl.tmp*"))
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary file left behind")
}

// -max-failures 0 lets no prompt fail: a run with a failure cannot exit 0.
func TestQuickstartMaxFailuresZero(t *testing.T) {
	assert.Equal(t, prefdata.ErrorBudget{}, errorBudget(1))
	assert.Equal(t, prefdata.ErrorBudget{MaxFraction: 0.2}, errorBudget(0.2))
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "prompts.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte("{\"prompt\":\"What is 2+2?\"}\nnot json\n{\"prompt\":\"Name a colour.\"}\n"), 0o644))
	args := []string{"-prompts", bad, "-run", filepath.Join(tmp, "run"), "-out", filepath.Join(tmp, "out", "p.jsonl"), "-confidence", "0.7", "-progress", "0", "-max-failures", "0"}
	err := run(context.Background(), args, noEnv, io.Discard)
	require.ErrorIs(t, err, prefdata.ErrBudgetExceeded)
}
