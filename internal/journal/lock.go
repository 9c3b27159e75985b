//go:build unix

package journal

import (
	"encoding/json"
	"errors"
	"os"
	"syscall"
	"time"
)

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
	// Not synced: another process reads the record from the page cache,
	// and a crash of the machine ends the lock with it, so the record
	// only ever needs to outlive this process.
	if err := f.Truncate(0); err == nil {
		if _, err = f.WriteAt(append(b, '\n'), 0); err != nil {
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
