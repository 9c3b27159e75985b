package response_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata/response/openaitest"
)

// TestMain runs the child of TestSamplesKilledRepayOnlyWhatWasInFlight when
// asked to.
func TestMain(m *testing.M) {
	if url := os.Getenv("PREFDATA_SAMPLES_CHILD"); url != "" {
		p, _, err := samplesPipeline(os.Getenv("PREFDATA_DIR"), url)
		if err == nil {
			_, err = p.Run(context.Background()) // until killed
		}
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// kill -9 of a run whose server ignores n: the first request brought one
// sample, the three asked one by one are in flight when the process is
// killed. The next run pays for those three only.
func TestSamplesKilledRepayOnlyWhatWasInFlight(t *testing.T) {
	var first atomic.Bool
	first.Store(true)
	var hung atomic.Int32
	ready := make(chan struct{})
	var once sync.Once
	srv := openaitest.NewServer(openaitest.Config{N: openaitest.NIgnore, Fault: func(req openaitest.Request) openaitest.Fault {
		if !first.Load() || req.N > 1 {
			return openaitest.FaultNone
		}
		if hung.Add(1) == 3 {
			once.Do(func() { close(ready) })
		}
		return openaitest.FaultHang
	}})
	defer srv.Close()
	root := t.TempDir()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PREFDATA_SAMPLES_CHILD="+srv.URL, "PREFDATA_DIR="+root)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-ready:
	case err := <-exited:
		t.Fatalf("the child ended before its three samples were in flight: %v", err)
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL: nothing runs after it
	<-exited
	require.Equal(t, 1, served(srv.Log(), 0, openaitest.NIgnore), "the killed run got one sample")

	first.Store(false)
	from := len(srv.Log())
	_, err := samplesRun(t, context.Background(), root, srv)
	require.NoError(t, err)
	assert.Equal(t, 3, served(srv.Log(), from, openaitest.NIgnore), "the rerun pays for the 3 samples in flight at the kill, not 4")
	checkSamples(t, root)
}
