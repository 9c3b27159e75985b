//go:build !unix

package journal

import (
	"errors"
	"runtime"
)

// ErrUnsupported is returned by OpenIndex and Lock on systems without mmap
// and flock: the run directory's index and lock need a Unix system (Linux,
// macOS, the BSDs). Everything else in the module works there.
var ErrUnsupported = errors.New("run directories need a Unix system (mmap and flock); not available on " + runtime.GOOS)

// Index is the on-disk key index; see the Unix build. Here it is never made.
type Index struct{}

// OpenIndex returns ErrUnsupported on this system.
func (d *Dir) OpenIndex(name string, keyOf KeyFunc) (*Index, error) {
	return nil, &Error{"index", d.Path("index", name+".idx"), ErrUnsupported}
}

// Get reports nothing: no Index is made on this system.
func (x *Index) Get(key string) (int64, bool) { return 0, false }

// Put returns ErrUnsupported.
func (x *Index) Put(key string, off, end int64) error { return ErrUnsupported }

// Cover does nothing: there is no index.
func (x *Index) Cover(off, end int64) {}

// Len is zero.
func (x *Index) Len() int { return 0 }

// Sync does nothing.
func (x *Index) Sync() error { return nil }

// Close does nothing.
func (x *Index) Close() error { return nil }

// Lock is the run lock; see the Unix build. Here it is never taken.
type Lock struct{}

// Lock returns ErrUnsupported on this system.
func (d *Dir) Lock(command string) (*Lock, error) {
	return nil, &Error{"lock", d.Path(LockFile), ErrUnsupported}
}

// Unlock does nothing.
func (l *Lock) Unlock() error { return nil }
