package prefdata

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The files of a run directory. Each is JSONL, one record a line, appended
// to and never rewritten, except the manifest.
const (
	FileManifest  = "manifest.json"
	FilePrompts   = "prompts.jsonl"   // stage 1: every prompt read, kept or dropped and why
	FileStage1    = "stage1.jsonl"    // stage 1: cached outputs of fingerprinted prompt filters
	FileResponses = "responses.jsonl" // stage 2: one line per (generator, prompt) with its responses
	FileScores    = "scores.jsonl"    // stage 3: cached outputs of fingerprinted filters
	FileLabels    = "labels.jsonl"    // cached outputs of fingerprinted labelers
	FilePairs     = "pairs.jsonl"     // one line per finished prompt with all its pairs
	FileQueue     = "queue.jsonl"     // pairs waiting for people (stage 4)
	FileFailures  = "failures.jsonl"  // one line per failed item
)

// DefaultSyncInterval is how often, at most, a run directory's files are
// synced to disk when [RunDir.SyncInterval] is zero. Every record is written
// to the operating system before it counts as done, so a killed process loses
// nothing; a machine crash loses at most this much.
const DefaultSyncInterval = time.Second

// RunDir is a run directory: the embedded store of a run. It is a folder of
// append-only JSONL files and a manifest. Records are appended with [Append]
// and read back with [Scan]; a half-written last line, left by a crash, is
// ignored by Scan and cut off before the next append.
//
// A RunDir is safe for concurrent use. Records are appended with O_APPEND,
// each in one write, so several RunDirs (or processes) appending to the same
// file do not overwrite each other's lines. Other packages keep their own
// files in it (the labeling server's labels, say) through the same methods.
type RunDir struct {
	dir string
	// SyncInterval bounds the time between fsyncs of a file that is being
	// appended to; zero means DefaultSyncInterval, negative means sync after
	// every record.
	SyncInterval time.Duration

	mu    sync.Mutex
	files map[string]*journal
}

type journal struct {
	mu       sync.Mutex
	f        *os.File // opened with O_APPEND: other writers' lines are never overwritten
	lastSync time.Time
	dirty    bool
}

// OpenRunDir opens the run directory at dir, creating it if needed.
func OpenRunDir(dir string) (*RunDir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("prefdata: run directory: %w", err)
	}
	return &RunDir{dir: dir, files: map[string]*journal{}}, nil
}

// Dir returns the folder's path.
func (d *RunDir) Dir() string { return d.dir }

// Path returns the path of the named file inside the run directory.
func (d *RunDir) Path(name string) string { return filepath.Join(d.dir, name) }

func (d *RunDir) open(name string) (*journal, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if j, ok := d.files[name]; ok {
		return j, nil
	}
	path := d.Path(name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("prefdata: %w", err)
	}
	size, err := completeLength(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("prefdata: %s: %w", path, err)
	}
	// Cut off a half-written last line so the next record starts on a line of
	// its own.
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, fmt.Errorf("prefdata: %s: %w", path, err)
	}
	j := &journal{f: f, lastSync: time.Now()}
	d.files[name] = j
	return j, nil
}

// completeLength returns the length of f up to and including its last newline.
func completeLength(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	buf := make([]byte, 4096)
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// Append writes v as one JSON line at the end of the named file. When Append
// returns nil the record is in the operating system's hands; it is synced to
// disk within the directory's sync interval.
func (d *RunDir) Append(name string, v any) error {
	_, err := d.appendAt(name, v)
	return err
}

// appendAt appends like Append and returns the record's offset.
func (d *RunDir) appendAt(name string, v any) (int64, error) {
	line, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("prefdata: %s: encode record: %w", name, err)
	}
	line = append(line, '\n')
	j, err := d.open(name)
	if err != nil {
		return 0, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(line); err != nil {
		return 0, fmt.Errorf("prefdata: %s: %w", d.Path(name), err)
	}
	// With O_APPEND the write went to the end of the file, whoever else
	// appends to it; this descriptor's offset is now the end of our line.
	end, err := j.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, fmt.Errorf("prefdata: %s: %w", d.Path(name), err)
	}
	off := end - int64(len(line))
	j.dirty = true
	interval := d.SyncInterval
	if interval == 0 {
		interval = DefaultSyncInterval
	}
	if time.Since(j.lastSync) >= interval {
		if err := j.f.Sync(); err != nil {
			return 0, fmt.Errorf("prefdata: %s: %w", d.Path(name), err)
		}
		j.lastSync, j.dirty = time.Now(), false
	}
	return off, nil
}

// Record is one complete line of a run-directory file.
type Record struct {
	Line   int   // 1-based line number
	Offset int64 // byte offset of the line in the file
	Data   []byte
}

// Scan calls fn for every complete line of the named file, in order. A
// missing file has no lines. A half-written last line (no newline: a crash
// cut it) is skipped. Data is only valid during the call. An error from fn
// stops the scan and is returned.
func (d *RunDir) Scan(name string, fn func(Record) error) error {
	f, err := os.Open(d.Path(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("prefdata: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	var off int64
	for line := 1; ; line++ {
		data, err := r.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it.
			buf := append([]byte(nil), data...)
			data, err = r.ReadSlice('\n')
			data = append(buf, data...)
		}
		if errors.Is(err, io.EOF) {
			return nil // data, if any, is a half-written last line
		}
		if err != nil {
			return fmt.Errorf("prefdata: %s: %w", d.Path(name), err)
		}
		if err := fn(Record{Line: line, Offset: off, Data: data[:len(data)-1]}); err != nil {
			return err
		}
		off += int64(len(data))
	}
}

// ReadLine returns the complete line that starts at offset in the named file,
// as found by [Scan].
func (d *RunDir) ReadLine(name string, offset int64) ([]byte, error) {
	f, err := os.Open(d.Path(name))
	if err != nil {
		return nil, fmt.Errorf("prefdata: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(io.NewSectionReader(f, offset, 1<<62))
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("prefdata: %s at byte %d: %w", d.Path(name), offset, err)
	}
	return line[:len(line)-1], nil
}

// Sync writes every file's pending records to disk.
func (d *RunDir) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for name, j := range d.files {
		j.mu.Lock()
		if j.dirty {
			if err := j.f.Sync(); err != nil {
				errs = append(errs, fmt.Errorf("prefdata: %s: %w", d.Path(name), err))
			}
			j.lastSync, j.dirty = time.Now(), false
		}
		j.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Close syncs and closes the directory's files. The RunDir may be used again
// afterwards: files are reopened on the next Append.
func (d *RunDir) Close() error {
	err := d.Sync()
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, j := range d.files {
		if cerr := j.f.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		delete(d.files, name)
	}
	return err
}

// Manifest describes a run directory: written at the start and end of every
// run so a person (or the report) can see what ran.
type Manifest struct {
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Started is when the latest run began; the journals are cumulative
	// across runs, Stats are the latest run's.
	Started    time.Time `json:"started"`
	RunKey     string    `json:"run_key"`
	Generators []string  `json:"generators,omitempty"`
	Filters    []string  `json:"filters,omitempty"`
	Labeler    string    `json:"labeler,omitempty"`
	Stats      *Stats    `json:"stats,omitempty"`
}

// ReadManifest reads the manifest; ok is false when there is none yet.
func (d *RunDir) ReadManifest() (m Manifest, ok bool, err error) {
	b, err := os.ReadFile(d.Path(FileManifest))
	if errors.Is(err, os.ErrNotExist) {
		return Manifest{}, false, nil
	}
	if err != nil {
		return Manifest{}, false, fmt.Errorf("prefdata: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, false, fmt.Errorf("prefdata: %s: %w", d.Path(FileManifest), err)
	}
	return m, true, nil
}

// WriteManifest replaces the manifest atomically.
func (d *RunDir) WriteManifest(m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("prefdata: manifest: %w", err)
	}
	tmp := d.Path(FileManifest + ".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("prefdata: %w", err)
	}
	if err := os.Rename(tmp, d.Path(FileManifest)); err != nil {
		return fmt.Errorf("prefdata: %w", err)
	}
	return nil
}
