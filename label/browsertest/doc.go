// Package browsertest drives the labeling app in headless Chromium. It is a
// module of its own so that the browser driver never enters the library's
// dependencies.
package browsertest
