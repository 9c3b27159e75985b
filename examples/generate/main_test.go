package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunAgainstFakeServer(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-dir", dir, "-samples", "2"}, &out))
	assert.Contains(t, out.String(), "prompts 8 (0 finished in an earlier run), generations 8 ok / 0 failed (0 read back), responses 32")
	assert.Contains(t, out.String(), "model-a")

	// A rerun pays for nothing.
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"-dir", dir, "-samples", "2"}, &out))
	assert.Contains(t, out.String(), "prompts 8 (8 finished in an earlier run), generations 0 ok")
	assert.NotContains(t, out.String(), "requests", "no usage: nothing was sent")
}

func TestRunShardAndBudget(t *testing.T) {
	in := filepath.Join(t.TempDir(), "prompts.txt")
	var lines []string
	for i := range 40 {
		lines = append(lines, strings.Repeat("word ", i+1))
	}
	require.NoError(t, os.WriteFile(in, []byte(strings.Join(lines, "\n")), 0o644))
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-in", in, "-shard", "1/4", "-k", "1"}, &out))
	assert.Regexp(t, `prompts ([5-9]|1[0-9]) \(`, out.String(), "about a quarter of 40")

	out.Reset()
	require.NoError(t, run(context.Background(), []string{"-in", in, "-price-in", "1000", "-price-out", "1000", "-budget", "1", "-concurrency", "1"}, &out))
	assert.Regexp(t, `stopped: .*response: cost budget reached`, out.String())
	assert.Contains(t, out.String(), "0 failed", "refused requests are left for the next run, not failed")
}

func TestRunBatch(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-batch", "-models", "m1,m2"}, &out))
	assert.Contains(t, out.String(), "m1: 8 requests submitted in batch mode")
	assert.Contains(t, out.String(), "m2: 8 requests submitted in batch mode")
	assert.Contains(t, out.String(), "prompts 8 (0 finished in an earlier run), generations 16 ok / 0 failed")

	// One shard: only its prompts are submitted, so none is paid for by
	// two machines.
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"-batch", "-models", "m1", "-shard", "1/2"}, &out))
	m := regexp.MustCompile(`m1: (\d+) requests submitted`).FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	assert.NotEqual(t, "8", m[1], "a shard holds fewer than all 8 prompts")
	assert.Contains(t, out.String(), "prompts "+m[1]+" (0 finished in an earlier run), generations "+m[1]+" ok / 0 failed")
}

func TestRunAgainstOllama(t *testing.T) {
	url, models := os.Getenv("PREFDATA_OLLAMA_URL"), os.Getenv("PREFDATA_OLLAMA_MODELS")
	if url == "" || models == "" {
		t.Skip("PREFDATA_OLLAMA_URL and PREFDATA_OLLAMA_MODELS are unset: no real server (.ci/ollama.sh starts one)")
	}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-base-url", url, "-models", models, "-k", "2", "-max-tokens", "5", "-concurrency", "2"}, &out))
	assert.Contains(t, out.String(), "prompts 8 (0 finished in an earlier run), generations 8 ok / 0 failed")
	for _, m := range strings.Split(models, ",") {
		assert.Regexp(t, m+` +8 requests +\d+ in +\d+ out tokens`, out.String())
	}
}
