// Package dataset writes preference pairs in the formats trainers read, and
// describes a run: a dataset card for the output folder and a self-contained
// HTML report with the same figures as a JSON [Summary].
package dataset
