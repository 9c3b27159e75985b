//go:build unix

package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
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

// Lock is an exclusive lock on a Dir, held until Unlock or the process ends.
type Lock struct{ f *os.File }

// Lock takes the folder's exclusive lock (flock on run.lock) without
// waiting, and records who holds it in the file. The operating system
// releases it when the process ends, however it ends.
func (d *Dir) Lock(command string) (*Lock, error) {
	path := d.Path(LockFile)
	// Never O_TRUNC: the holder's record must survive a refused open.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, &Error{"lock", path, err}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			le := &LockedError{Path: path}
			b, rerr := os.ReadFile(path)
			if rerr == nil {
				rerr = json.Unmarshal(b, &le.Holder)
			}
			le.Err = rerr
			return nil, le
		}
		return nil, &Error{"lock", path, err}
	}
	host, _ := os.Hostname()
	h := Holder{PID: os.Getpid(), Host: host, Started: time.Now().UTC(), Command: command}
	b, _ := json.Marshal(h)
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(append(b, '\n'), 0)
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			f.Close()
			return nil, &Error{"lock", path, err}
		}
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
