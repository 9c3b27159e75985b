//go:build unix

package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// The index file: a 64-byte header, then slots of 16 bytes (a key's 64-bit
// hash, never 0, and its line's offset plus one; 0 0 is an empty slot).
//
//	magic [8]  "PDIDX\x00\x00\x01"
//	slots u64  a power of two
//	used  u64  (the slots are counted again on open)
//	covered u64  journal bytes indexed (a line offset), set by Sync/Close
const (
	idxMagic   = "PDIDX\x00\x00\x01"
	idxHeader  = 64
	idxSlot    = 16
	idxMinSize = 1 << 12
)

// Index maps keys to the offsets of their latest lines in one journal. It is
// safe for concurrent use.
type Index struct {
	d     *Dir
	name  string
	path  string
	keyOf KeyFunc

	mu      sync.RWMutex
	f       *os.File
	m       []byte // the mapped file
	slots   uint64
	used    uint64
	covered int64 // the journal is indexed up to here
	// ahead holds the lines indexed past covered (their offset and end):
	// lines written together are indexed in any order, and covered moves
	// over them once the ones before are in.
	ahead map[int64]int64
	// dirty is set when the mapping differs from what was last synced:
	// Sync skips a clean index (msync is not free even with nothing to
	// write). syncs counts the msyncs, for the tests.
	dirty bool
	syncs int
}

// OpenIndex opens the index of the named journal (index/NAME.idx), builds it
// when it is missing or damaged, and catches it up with lines appended since
// it was last synced. keyOf gives each line's key.
func (d *Dir) OpenIndex(name string, keyOf KeyFunc) (*Index, error) {
	if err := os.MkdirAll(d.Path("index"), 0o755); err != nil {
		return nil, &Error{"index", d.Path("index"), err}
	}
	x := &Index{d: d, name: name, path: d.Path("index", name+".idx"), keyOf: keyOf}
	if err := x.open(); err != nil {
		return nil, err
	}
	if err := x.catchUp(); err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

func (x *Index) open() error {
	f, err := os.OpenFile(x.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return &Error{"index", x.path, err}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return &Error{"index", x.path, err}
	}
	jst, jerr := os.Stat(x.d.Path(x.name))
	jsize := int64(0)
	if jerr == nil {
		jsize = jst.Size()
	}
	if err := x.mapFile(f, st.Size()); err != nil {
		f.Close()
		return err
	}
	if x.m == nil || string(x.m[:8]) != idxMagic || x.slots*idxSlot+idxHeader != uint64(len(x.m)) || x.covered > jsize {
		// Missing, damaged, or of another journal: start over.
		x.unmap()
		if err := x.reset(f, idxMinSize); err != nil {
			f.Close()
			return err
		}
	}
	x.f = f
	return nil
}

func (x *Index) mapFile(f *os.File, size int64) error {
	if size < idxHeader+idxSlot {
		return nil
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return &Error{"index", x.path, err}
	}
	x.m = m
	x.slots = binary.LittleEndian.Uint64(m[8:])
	x.covered = int64(binary.LittleEndian.Uint64(m[24:]))
	// The slots are counted, not taken from the header: a process killed
	// before it synced the index leaves slots its header does not count,
	// and a table that undercounts would fill up without growing.
	x.used = 0
	if x.slots*idxSlot+idxHeader == uint64(len(m)) {
		for i := uint64(0); i < x.slots; i++ {
			if binary.LittleEndian.Uint64(m[idxHeader+i*idxSlot:]) != 0 {
				x.used++
			}
		}
	}
	return nil
}

func (x *Index) unmap() {
	if x.m != nil {
		syscall.Munmap(x.m)
		x.m = nil
	}
}

// reset makes f an empty index of n slots and maps it.
func (x *Index) reset(f *os.File, n uint64) error {
	size := int64(idxHeader + n*idxSlot)
	if err := f.Truncate(0); err != nil {
		return &Error{"index", x.path, err}
	}
	if err := f.Truncate(size); err != nil {
		return &Error{"index", x.path, err}
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return &Error{"index", x.path, err}
	}
	copy(m, idxMagic)
	binary.LittleEndian.PutUint64(m[8:], n)
	x.m, x.slots, x.used, x.covered = m, n, 0, 0
	x.dirty = true
	return nil
}

func (x *Index) catchUp() error {
	end, _, err := x.d.Scan(x.name, x.covered, func(l Line) error {
		if k, ok := x.keyOf(l.Data); ok {
			return x.put(Hash64(k), l.Offset)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if end != x.covered {
		x.covered, x.dirty = end, true
	}
	return x.writeHeader()
}

func (x *Index) writeHeader() error {
	binary.LittleEndian.PutUint64(x.m[16:], x.used)
	binary.LittleEndian.PutUint64(x.m[24:], uint64(x.covered))
	return nil
}

// put records h at off; x.mu is held (or x is not shared yet).
func (x *Index) put(h uint64, off int64) error {
	x.dirty = true
	if (x.used+1)*10 > x.slots*7 {
		if err := x.grow(); err != nil {
			return err
		}
	}
	mask := x.slots - 1
	for i := h & mask; ; i = (i + 1) & mask {
		s := x.m[idxHeader+i*idxSlot:]
		sh := binary.LittleEndian.Uint64(s)
		if sh == 0 {
			binary.LittleEndian.PutUint64(s, h)
			binary.LittleEndian.PutUint64(s[8:], uint64(off)+1)
			x.used++
			return nil
		}
		if sh == h {
			if uint64(off)+1 > binary.LittleEndian.Uint64(s[8:]) {
				binary.LittleEndian.PutUint64(s[8:], uint64(off)+1)
			}
			return nil
		}
	}
}

// grow doubles the table into a new file and renames it over the old one.
func (x *Index) grow() error {
	tmpPath := x.path + ".grow"
	f, err := os.OpenFile(tmpPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return &Error{"index", x.path, err}
	}
	old, oldSlots, covered := x.m, x.slots, x.covered
	n := &Index{d: x.d, name: x.name, path: x.path}
	if err := n.reset(f, oldSlots*2); err != nil {
		f.Close()
		return err
	}
	for i := uint64(0); i < oldSlots; i++ {
		s := old[idxHeader+i*idxSlot:]
		if h := binary.LittleEndian.Uint64(s); h != 0 {
			n.put(h, int64(binary.LittleEndian.Uint64(s[8:])-1))
		}
	}
	n.covered = covered
	n.writeHeader()
	if err := os.Rename(tmpPath, x.path); err != nil {
		n.unmap()
		f.Close()
		return &Error{"index", x.path, err}
	}
	x.unmap()
	x.f.Close()
	x.f, x.m, x.slots, x.used = f, n.m, n.slots, n.used
	return nil
}

// Get returns the offset of the latest line indexed under key's hash. The
// caller confirms the key on the line: two keys may share a hash.
func (x *Index) Get(key string) (int64, bool) {
	h := Hash64(key)
	x.mu.RLock()
	defer x.mu.RUnlock()
	mask := x.slots - 1
	for i := h & mask; ; i = (i + 1) & mask {
		s := x.m[idxHeader+i*idxSlot:]
		sh := binary.LittleEndian.Uint64(s)
		if sh == 0 {
			return 0, false
		}
		if sh == h {
			return int64(binary.LittleEndian.Uint64(s[8:]) - 1), true
		}
	}
}

// Put records that key's latest line starts at off. A line appended right
// after the covered part advances it.
func (x *Index) Put(key string, off, end int64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.m == nil {
		return &Error{"index", x.path, errors.New("closed")}
	}
	if err := x.put(Hash64(key), off); err != nil {
		return err
	}
	x.advance(off, end)
	return nil
}

// Cover records that the line from off to end, which has no key, was
// seen: covered moves over it like over an indexed line.
func (x *Index) Cover(off, end int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.advance(off, end)
}

// advance moves covered over the line from off to end; x.mu is held.
func (x *Index) advance(off, end int64) {
	switch {
	case off == x.covered:
		x.covered, x.dirty = end, true
		for {
			e, ok := x.ahead[x.covered]
			if !ok {
				break
			}
			delete(x.ahead, x.covered)
			x.covered = e
		}
	case off > x.covered && len(x.ahead) < maxAhead:
		// Past a gap (a line not indexed yet, or another writer's): the
		// next open scans from covered, so a gap that stays is re-read.
		if x.ahead == nil {
			x.ahead = map[int64]int64{}
		}
		x.ahead[off] = end
	}
}

// maxAhead bounds the lines an Index holds past a gap.
const maxAhead = 1 << 14

// Len returns the number of keys indexed.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return int(x.used)
}

// Sync writes the index to disk.
func (x *Index) Sync() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.sync()
}

func (x *Index) sync() error {
	if x.m == nil || !x.dirty {
		return nil
	}
	x.writeHeader()
	x.syncs++
	if _, _, e := syscall.Syscall(syscall.SYS_MSYNC, uintptrOf(x.m), uintptr(len(x.m)), syscall.MS_SYNC); e != 0 {
		return &Error{"index", x.path, fmt.Errorf("msync: %w", e)}
	}
	x.dirty = false
	return nil
}

// Close syncs and closes the index.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	err := x.sync()
	x.unmap()
	if x.f != nil {
		x.f.Close()
		x.f = nil
	}
	return err
}

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
