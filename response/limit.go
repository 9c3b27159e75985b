package response

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Limit is a rate: at most Requests requests and Tokens tokens in any window
// of length Per. Zero Requests or Tokens means no limit on that count.
type Limit struct {
	Requests int
	Tokens   int
	// Per is the window (default one minute).
	Per time.Duration
}

// Limiter holds requests to a [Limit] over a sliding window: in any window
// of length Per, at most Requests requests start, and the tokens of the
// requests started add up to at most Tokens. A request's tokens are
// estimated before it is sent and corrected with the usage the server
// returns. A Limiter is safe for concurrent use; share one between all the
// generators that call the same endpoint with the same key.
type Limiter struct {
	lim   Limit
	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	mu      sync.Mutex
	entries []*limitEntry // started requests, oldest first; entries[head:] are in the window
	head    int
	tokens  int // sum of the tokens of entries[head:]
}

type limitEntry struct {
	at     time.Time
	tokens int
}

// NewLimiter returns a limiter for lim on the real clock.
func NewLimiter(lim Limit) *Limiter {
	return NewLimiterClock(lim, time.Now, sleepCtx)
}

// NewLimiterClock returns a limiter on the given clock: now tells the time
// and sleep waits (tests pass a fake clock whose sleep advances now).
func NewLimiterClock(lim Limit, now func() time.Time, sleep func(context.Context, time.Duration) error) *Limiter {
	if lim.Per <= 0 {
		lim.Per = time.Minute
	}
	return &Limiter{lim: lim, now: now, sleep: sleep}
}

// Limit returns the limiter's rate.
func (l *Limiter) Limit() Limit { return l.lim }

// Reservation is a started request's place in a [Limiter]'s window.
type Reservation struct {
	l *Limiter
	e *limitEntry
}

// Wait blocks until a request of the estimated tokens may start, records
// it, and returns its reservation; Correct it with the real usage once
// known. It returns ctx's error if ctx ends first. A request estimated above
// the token limit waits for an empty window and then goes alone.
func (l *Limiter) Wait(ctx context.Context, tokens int) (Reservation, error) {
	if l == nil {
		return Reservation{}, nil
	}
	if l.lim.Tokens > 0 {
		tokens = min(tokens, l.lim.Tokens)
	}
	for {
		if err := ctx.Err(); err != nil {
			return Reservation{}, err
		}
		l.mu.Lock()
		now := l.now()
		l.prune(now)
		wait := l.waitFor(now, tokens)
		if wait <= 0 {
			e := &limitEntry{at: now, tokens: tokens}
			l.entries = append(l.entries, e)
			l.tokens += tokens
			l.mu.Unlock()
			return Reservation{l: l, e: e}, nil
		}
		l.mu.Unlock()
		if err := l.sleep(ctx, wait); err != nil {
			return Reservation{}, err
		}
	}
}

// Correct replaces the reservation's estimated tokens with the real count.
func (r Reservation) Correct(tokens int) {
	if r.l == nil || tokens < 0 {
		return
	}
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	if r.e.at.IsZero() { // already out of the window
		return
	}
	r.l.tokens += tokens - r.e.tokens
	r.e.tokens = tokens
}

// prune drops the entries that left the window. The slice is compacted
// only when half of it is dead, so a prune costs O(1) on average.
func (l *Limiter) prune(now time.Time) {
	i := l.head
	for i < len(l.entries) && !now.Before(l.entries[i].at.Add(l.lim.Per)) {
		l.tokens -= l.entries[i].tokens
		l.entries[i].at = time.Time{}
		l.entries[i] = nil
		i++
	}
	l.head = i
	if l.head > 64 && l.head > len(l.entries)/2 {
		n := copy(l.entries, l.entries[l.head:])
		clear(l.entries[n:])
		l.entries = l.entries[:n]
		l.head = 0
	}
}

// waitFor returns how long until a request of the given tokens may start.
func (l *Limiter) waitFor(now time.Time, tokens int) time.Duration {
	live := l.entries[l.head:]
	var until time.Time
	if r := l.lim.Requests; r > 0 && len(live) >= r {
		until = live[len(live)-r].at.Add(l.lim.Per)
	}
	if t := l.lim.Tokens; t > 0 && l.tokens+tokens > t {
		sum := l.tokens
		for _, e := range live {
			sum -= e.tokens
			if sum+tokens <= t {
				if at := e.at.Add(l.lim.Per); at.After(until) {
					until = at
				}
				break
			}
		}
	}
	if until.IsZero() {
		return 0
	}
	return until.Sub(now)
}

func (l Limit) String() string {
	return fmt.Sprintf("%d requests, %d tokens per %s", l.Requests, l.Tokens, l.Per)
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
