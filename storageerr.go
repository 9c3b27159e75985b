package prefdata

import "fmt"

// StorageError is a failure of the run directory: a journal that could not
// be written or read. It is never an item failure: the pipeline stops the
// run at once (everything journaled before it is kept) and [Pipeline.Run]
// returns it, naming the file. Match it with errors.As.
//
// (Stand-in with the run store's field names until that lands: helper
// store's journal.Error replaces this declaration.)
type StorageError struct {
	Op   string // "append", "read", "scan"
	Path string // the file that failed
	Err  error
}

func (e *StorageError) Error() string {
	return fmt.Sprintf("prefdata: %s %s: %v", e.Op, e.Path, e.Err)
}

func (e *StorageError) Unwrap() error { return e.Err }
