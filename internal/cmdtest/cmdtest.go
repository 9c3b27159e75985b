// Package cmdtest holds test helpers shared by the example commands.
package cmdtest

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// HelpExitsZero checks a command's flag handling by running its main in a
// child process (the test binary itself, told by an environment variable to
// call main): -h prints the usage and exits 0; an unknown flag exits
// non-zero. Call it from a test named testName, passing the package's main.
func HelpExitsZero(t *testing.T, testName string, main func()) {
	t.Helper()
	if args, ok := os.LookupEnv("PREFDATA_MAIN_ARGS"); ok {
		os.Args = append([]string{os.Args[0]}, strings.Fields(args)...)
		main()
		os.Exit(3) // main returned without exiting: -h was not handled
	}
	for _, tc := range []struct {
		args string
		ok   bool
	}{{"-h", true}, {"-no-such-flag", false}} {
		cmd := exec.Command(os.Args[0], "-test.run=^"+testName+"$")
		cmd.Env = append(os.Environ(), "PREFDATA_MAIN_ARGS="+tc.args)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v\n%s", tc.args, err, out)
		case tc.ok && !strings.Contains(strings.ToLower(string(out)), "usage"):
			t.Errorf("%s printed no usage: %s", tc.args, out)
		case !tc.ok && !errors.As(err, &exit):
			t.Errorf("%s: exit status 0 (%v), want non-zero\n%s", tc.args, err, out)
		case !tc.ok && exit.ExitCode() == 3:
			t.Errorf("%s: main returned instead of refusing the flag", tc.args)
		}
	}
}
