package response

import (
	"context"
	"fmt"
	"sync"
)

// Budget is a cost ceiling in US dollars shared by the generators of a run.
// Before each request a generator reserves the request's estimated cost
// (prompt tokens estimated from the text, completion tokens from max_tokens
// or [DefaultCompletionTokens]); when the spent and reserved cost plus the
// estimate would pass Max, the request is not sent and the generator returns
// an error matching [ErrBudget]. When the request returns, its real cost
// replaces the estimate.
//
// ErrBudget wraps prefdata.ErrStopRun, so a Pipeline stops the whole run at
// the first refusal and Run returns an error matching ErrBudget; nothing is
// recorded as failed. Stop, if set, is also called once with that error (to
// cancel work outside a pipeline). What finished is in the run directory; a
// later run with a larger budget does the rest. The pipeline keeps a
// generator's output per prompt only when all of it came back: samples of a
// prompt paid for before another sample of it was refused are kept for the
// next run only by a [Cache].
type Budget struct {
	// Max is the ceiling in dollars; 0 or less refuses every priced request.
	Max float64
	// Stop, if set, is called once when the budget first refuses a request.
	Stop context.CancelCauseFunc

	mu       sync.Mutex
	spent    float64
	reserved float64
	stopped  bool
}

// NewBudget returns a budget of max dollars that calls stop (may be nil)
// when it is reached.
func NewBudget(max float64, stop context.CancelCauseFunc) *Budget {
	return &Budget{Max: max, Stop: stop}
}

// Spent returns the cost of the requests that returned so far.
func (b *Budget) Spent() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spent
}

// Exhausted reports whether the budget has refused a request.
func (b *Budget) Exhausted() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stopped
}

// reserve books est dollars or returns an error matching ErrBudget.
func (b *Budget) reserve(est float64) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	if !b.stopped && b.spent+b.reserved+est <= b.Max {
		b.reserved += est
		b.mu.Unlock()
		return nil
	}
	first := !b.stopped
	b.stopped = true
	err := fmt.Errorf("%w: $%.4f spent, $%.4f in flight, next request ~$%.4f, budget $%.4f", ErrBudget, b.spent, b.reserved, est, b.Max)
	stop := b.Stop
	b.mu.Unlock()
	if first && stop != nil {
		stop(err)
	}
	return err
}

// settle replaces a reservation of est dollars with the real cost.
func (b *Budget) settle(est, cost float64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.reserved -= est
	b.spent += cost
	b.mu.Unlock()
}
