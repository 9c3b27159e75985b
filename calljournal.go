package prefdata

import "context"

// CallJournal is the journal of paid calls ([FileCalls]) of the Pipeline
// run a component is called in: for a component that makes several paid
// calls per item and journals each answer as it arrives, so that a run
// killed halfway pays again only for the calls that were in flight. Package
// response uses it for each sample when a server makes it ask for samples
// one request at a time. [JournalGenerator] and [JournalScorer] are the
// ready-made wrappers for one call per Generate or Score.
//
// A nil *CallJournal (outside a pipeline with a run directory) finds
// nothing and journals nothing.
type CallJournal struct {
	cj *callJournal
}

// CallJournalFrom returns the call journal of the Pipeline run that passed
// ctx to a component, or nil when there is none.
func CallJournalFrom(ctx context.Context) *CallJournal {
	cj, _ := ctx.Value(callsKey{}).(*callJournal)
	if cj == nil {
		return nil
	}
	return &CallJournal{cj}
}

// Get reads the journaled answer of the call with the key into v and
// reports whether there was one. A storage error stops the run (and is
// returned).
func (j *CallJournal) Get(key string, v any) (bool, error) {
	if j == nil {
		return false, nil
	}
	return j.cj.get(key, v)
}

// Put journals v, the answer of the call with the key, for the prompt and
// the component (a name) it was made for. It returns once the line is in
// the operating system's hands; a storage error stops the run. Journal only
// successes: a failure is not an answer, and the next run must ask again.
func (j *CallJournal) Put(key, promptID, component string, v any) error {
	if j == nil {
		return nil
	}
	return j.cj.put(key, promptID, component, v)
}
