package filter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/prefdata/prefdata"
)

// ResponseError is the failure to score or judge one response. Scorers in
// this package report per-response failures as ResponseErrors joined with
// errors.Join, as the [prefdata.Scorer] contract asks; [Scores] uses them to
// give each dropped response its own reason.
type ResponseError struct {
	ResponseID string
	Err        error
}

func (e *ResponseError) Error() string {
	if e.Err == nil {
		return "response " + e.ResponseID + ": not scored"
	}
	return "response " + e.ResponseID + ": " + e.Err.Error()
}

func (e *ResponseError) Unwrap() error { return e.Err }

// ErrorPolicy says what [Scores] does with responses its scorer could not
// score. A failed score is never recorded as a number.
type ErrorPolicy int

const (
	// DropFailed drops each response the scorer failed on, with the error
	// as the reason, and fails the candidate only when the scorer failed on
	// every response (a server that is down should not look like a filter
	// that dropped everything). The default.
	DropFailed ErrorPolicy = iota
	// FailCandidate fails the whole candidate when any response could not
	// be scored, so that nothing is cached and a rerun tries again.
	FailCandidate
)

// ScoresConfig configures [ScoresWith].
type ScoresConfig struct {
	// Name is the filter's name in stats and drop records (default: the
	// scorer's name if it has one, else "scores").
	Name    string
	OnError ErrorPolicy
}

// Scores turns a Scorer (a reward model, a rubric judge) into a Filter that
// appends its scores to [prefdata.Candidate.Scores], with the default
// [ScoresConfig].
func Scores(s prefdata.Scorer) prefdata.Filter { return ScoresWith(s, ScoresConfig{}) }

// ScoresWith is [Scores] with a configuration. If the scorer has a
// Fingerprint, so has the filter, and the pipeline caches its output in the
// run directory: a rerun does not ask the reward model or judge again.
func ScoresWith(s prefdata.Scorer, cfg ScoresConfig) prefdata.Filter {
	if cfg.Name == "" {
		cfg.Name = "scores"
		if n, ok := s.(prefdata.Namer); ok {
			cfg.Name = n.Name()
		}
	}
	f := &scoresFilter{s: s, cfg: cfg}
	if fp, ok := s.(prefdata.Fingerprinter); ok {
		return &fingerprintedScores{f, fp}
	}
	return f
}

type scoresFilter struct {
	s   prefdata.Scorer
	cfg ScoresConfig
}

type fingerprintedScores struct {
	*scoresFilter
	fp prefdata.Fingerprinter
}

func (f *fingerprintedScores) Fingerprint() string {
	return prefdata.Hash("filter.Scores", f.cfg, f.fp.Fingerprint())
}

func (f *scoresFilter) Name() string { return f.cfg.Name }

func (f *scoresFilter) Filter(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
	scores, err := f.s.Score(ctx, c.Prompt, c.Responses)
	if ctx.Err() != nil {
		return c, ctx.Err()
	}
	known := make(map[string]bool, len(c.Responses))
	for _, r := range c.Responses {
		known[r.ID] = true
	}
	got := make(map[string]bool, len(c.Responses))
	var bad []error
	kept := make([]prefdata.Score, 0, len(scores))
	for _, s := range scores {
		if !known[s.ResponseID] {
			return c, fmt.Errorf("scorer %s returned a score for unknown response %q", f.cfg.Name, s.ResponseID)
		}
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			bad = append(bad, &ResponseError{s.ResponseID, fmt.Errorf("score %v is not a number", s.Value)})
			continue
		}
		if s.Scorer == "" {
			s.Scorer = f.cfg.Name
		}
		got[s.ResponseID] = true
		kept = append(kept, s)
	}
	failed := map[string]string{}
	for _, r := range c.Responses {
		if !got[r.ID] {
			failed[r.ID] = reasonFor(r.ID, errors.Join(append(bad, err)...))
		}
	}
	if len(failed) == 0 {
		out := c
		out.Scores = append(append([]prefdata.Score(nil), c.Scores...), kept...)
		return out, nil
	}
	if f.cfg.OnError == FailCandidate || len(failed) == len(c.Responses) {
		if err == nil {
			err = errors.Join(bad...)
		}
		if err == nil {
			err = errors.New("scorer returned no score")
		}
		return c, fmt.Errorf("%d of %d responses not scored: %w", len(failed), len(c.Responses), err)
	}
	// Drop the failed responses and their partial scores (a response with
	// some aspects scored and others failed is not half-kept).
	out := c
	out.Scores = append([]prefdata.Score(nil), c.Scores...)
	for _, s := range kept {
		if _, bad := failed[s.ResponseID]; !bad {
			out.Scores = append(out.Scores, s)
		}
	}
	for _, r := range c.Responses {
		if why, ok := failed[r.ID]; ok {
			out = out.Without(r.ID, f.cfg.Name, "not scored: "+why)
		}
	}
	return out, nil
}

// reasonFor returns the message of the ResponseError for id inside err, or
// err's whole message, or a plain "no score returned". A judge reply that
// could not be parsed is given whole (the error shows only its end), so the
// drop record keeps the raw text.
func reasonFor(id string, err error) string {
	var found string
	walk(err, func(e error) bool {
		if re, ok := e.(*ResponseError); ok && re.ResponseID == id {
			found = strings.TrimPrefix(re.Error(), "response "+id+": ")
			var pe *ParseError
			if errors.As(re.Err, &pe) && tail(pe.Raw, replyExcerpt) != pe.Raw {
				found += "; whole reply: " + strconv.Quote(pe.Raw)
			}
			return false
		}
		return true
	})
	switch {
	case found != "":
		return found
	case err != nil:
		return err.Error()
	}
	return "scorer returned no score for it"
}

// walk visits err and the errors it wraps, depth first, until visit returns
// false.
func walk(err error, visit func(error) bool) bool {
	if err == nil {
		return true
	}
	if !visit(err) {
		return false
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if !walk(e, visit) {
				return false
			}
		}
	case interface{ Unwrap() error }:
		return walk(u.Unwrap(), visit)
	}
	return true
}
