// Package label is stage 4 of the framework: human labeling.
package label
