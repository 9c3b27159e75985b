package journal

import (
	"errors"
	"fmt"
	"time"
)

// LockFile is the name of a run's lock file.
const LockFile = "run.lock"

// Holder says who holds a lock.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	Command string    `json:"command,omitempty"`
}

func (h Holder) String() string {
	s := fmt.Sprintf("pid %d on %s since %s", h.PID, h.Host, h.Started.Format(time.RFC3339))
	if h.Command != "" {
		s += " (" + h.Command + ")"
	}
	return s
}

// LockedError is returned by Lock when another process (or another Dir in
// this one) holds the lock.
type LockedError struct {
	Path   string
	Holder Holder
	Err    error // set when the holder could not be read
}

func (e *LockedError) Error() string {
	who := e.Holder.String()
	if e.Err != nil {
		who = "another process (" + e.Err.Error() + ")"
	}
	return fmt.Sprintf("prefdata: run directory %s is in use by %s: wait for that run to end or stop it; the lock (%s) is released when its process exits", filepathDir(e.Path), who, e.Path)
}

// ErrLocked is matched by errors.Is for a LockedError.
var ErrLocked = errors.New("run directory is locked")

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// KeyFunc returns the key of a journal line, ok false when the line has none
// (or cannot be read: it is left out of the index).
type KeyFunc func(line []byte) (key string, ok bool)

// Hash64 is the index's hash of a key (FNV-1a, never 0).
func Hash64(key string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	if h == 0 {
		h = 1
	}
	return h
}
