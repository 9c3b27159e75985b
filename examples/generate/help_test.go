package main

import (
	"testing"

	"github.com/prefdata/prefdata/internal/cmdtest"
)

// TestHelpExitsZero: -h prints the usage and exits 0; an unknown flag exits
// non-zero (main runs in a child process).
func TestHelpExitsZero(t *testing.T) { cmdtest.HelpExitsZero(t, "TestHelpExitsZero", main) }
