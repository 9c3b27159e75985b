package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/prefdata/prefdata"
)

// Split names.
const (
	SplitTrain = "train"
	SplitTest  = "test"
)

// ConfigDefault is the configuration that holds every pair.
const ConfigDefault = "default"

// SplitOf returns SplitTest or SplitTrain for a prompt: the first 8 bytes of
// SHA-256(seed, promptID), as a fraction of 2^64, below testFraction means
// test. It depends only on its arguments, so every pair of a prompt lands in
// the same split, in every run, whatever the order of the pairs.
func SplitOf(promptID, seed string, testFraction float64) string {
	if testFraction <= 0 {
		return SplitTrain
	}
	h := sha256.Sum256([]byte(seed + "\x00" + promptID))
	u := float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
	if u < testFraction {
		return SplitTest
	}
	return SplitTrain
}

// StageConfig returns the configuration name of the pairs decided at stage
// s: "stage2", "stage3" or "stage4".
func StageConfig(s prefdata.Stage) string { return fmt.Sprintf("stage%d", int(s)) }

// FolderOptions configure a [Folder].
type FolderOptions struct {
	// Options choose the rows' optional columns.
	Options
	// TestFraction is the share of prompts (not pairs) whose pairs go to the
	// test split, in [0, 1). 0 writes a train split only.
	TestFraction float64
	// Seed salts the split hash: change it to draw another split.
	Seed string
	// ByStage also writes the pairs of each deciding stage
	// (Pair.Provenance.Stage) into a configuration of their own ("stage2",
	// "stage3", "stage4"), split the same way, so reward models trained on
	// each stage's data can be compared. The default configuration keeps
	// every pair.
	ByStage bool
	// Name is the dataset's name in LLaMA-Factory's dataset_info.json
	// (default "prefdata").
	Name string
}

// DataFile is one file a [Folder] wrote.
type DataFile struct {
	Config string `json:"config"`
	Split  string `json:"split"`
	// Path is relative to the folder, with forward slashes.
	Path string `json:"path"`
	Rows int    `json:"rows"`
}

// Folder writes pairs into an output folder, one JSONL file per
// configuration and split: data/train.jsonl and data/test.jsonl for the
// default configuration, and stageN/train.jsonl, stageN/test.jsonl with
// ByStage. It is a [prefdata.Sink]; Flush (called by the pipeline at the end
// of a run) closes the files, removes any that got no row (every pair of it
// skipped) and, for LLaMA-Factory formats, writes dataset_info.json. Files are created on their first row and truncated: give
// each run a fresh folder, or accept that it replaces what was there.
type Folder struct {
	dir     string
	format  Format
	opts    FolderOptions
	files   map[string]*folderFile // key: config + "/" + split
	skipped []*SkipError
	closed  bool
}

type folderFile struct {
	DataFile
	full string // path on disk
	f    *os.File
	w    *Writer
}

var _ prefdata.Sink = (*Folder)(nil)

// NewFolder returns a Folder writing format f under dir, which it creates.
func NewFolder(dir string, f Format, o FolderOptions) (*Folder, error) {
	if _, err := codecOf(f); err != nil {
		return nil, err
	}
	if o.TestFraction < 0 || o.TestFraction >= 1 {
		return nil, fmt.Errorf("dataset: FolderOptions.TestFraction is %v, want a value in [0, 1)", o.TestFraction)
	}
	if o.Name == "" {
		o.Name = "prefdata"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	return &Folder{dir: dir, format: f, opts: o, files: map[string]*folderFile{}}, nil
}

// Dir returns the folder's path.
func (fo *Folder) Dir() string { return fo.dir }

// WritePair writes p to its split of the default configuration and, with
// ByStage, of its stage's configuration.
func (fo *Folder) WritePair(ctx context.Context, p prefdata.Pair) error {
	if fo.closed {
		return errors.New("dataset: Folder: WritePair after Flush")
	}
	split := SplitOf(p.Prompt.ID, fo.opts.Seed, fo.opts.TestFraction)
	configs := []string{ConfigDefault}
	if fo.opts.ByStage {
		configs = append(configs, StageConfig(p.Provenance.Stage))
	}
	for i, cfg := range configs {
		ff, err := fo.file(cfg, split)
		if err != nil {
			return err
		}
		before := len(ff.w.skipped)
		if err := ff.w.WritePair(ctx, p); err != nil {
			return err
		}
		// A skipped pair is skipped in every configuration: record it once.
		if len(ff.w.skipped) > before {
			if i == 0 {
				fo.skipped = append(fo.skipped, ff.w.skipped[before:]...)
			}
			break
		}
	}
	return nil
}

func (fo *Folder) file(cfg, split string) (*folderFile, error) {
	key := cfg + "/" + split
	if ff, ok := fo.files[key]; ok {
		return ff, nil
	}
	dirName := "data"
	if cfg != ConfigDefault {
		dirName = cfg
	}
	rel := path.Join(dirName, split+".jsonl")
	full := filepath.Join(fo.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	f, err := os.Create(full)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	w, err := NewWriter(f, fo.format, fo.opts.Options)
	if err != nil {
		f.Close()
		return nil, err
	}
	ff := &folderFile{DataFile: DataFile{Config: cfg, Split: split, Path: rel}, full: full, f: f, w: w}
	fo.files[key] = ff
	return ff, nil
}

// Flush flushes and closes every file and writes dataset_info.json for the
// LLaMA-Factory formats. The Folder takes no pairs afterwards.
func (fo *Folder) Flush() error {
	if fo.closed {
		return nil
	}
	fo.closed = true
	var errs []error
	for key, ff := range fo.files {
		if err := ff.w.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ff.Path, err))
		}
		if err := ff.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("dataset: %w", err))
		}
		// Every pair of this file was skipped: an empty data file is an
		// error for loaders, not an empty split, so it goes.
		if ff.w.Rows() == 0 {
			if err := os.Remove(ff.full); err != nil {
				errs = append(errs, fmt.Errorf("dataset: %w", err))
			}
			delete(fo.files, key)
		}
	}
	if len(errs) == 0 && fo.format.IsLlamaFactory() {
		b, err := DatasetInfo(fo.format, fo.opts.Name, fo.Files())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(fo.dir, "dataset_info.json"), b, 0o644); err != nil {
			errs = append(errs, fmt.Errorf("dataset: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Files returns the files holding rows so far, sorted by configuration
// (default first) and split (train first).
func (fo *Folder) Files() []DataFile {
	out := make([]DataFile, 0, len(fo.files))
	for _, ff := range fo.files {
		d := ff.DataFile
		if d.Rows = ff.w.Rows(); d.Rows > 0 {
			out = append(out, d)
		}
	}
	sortFiles(out)
	return out
}

func sortFiles(fs []DataFile) {
	rank := func(s string, first string) string {
		if s == first {
			return "\x00"
		}
		return s
	}
	sort.Slice(fs, func(i, j int) bool {
		a, b := rank(fs[i].Config, ConfigDefault), rank(fs[j].Config, ConfigDefault)
		if a != b {
			return a < b
		}
		return rank(fs[i].Split, SplitTrain) < rank(fs[j].Split, SplitTrain)
	})
}

// Skipped returns the pairs the format could not express, and why.
func (fo *Folder) Skipped() []*SkipError { return append([]*SkipError(nil), fo.skipped...) }

// DatasetInfo returns LLaMA-Factory's dataset_info.json for files of an
// alpaca or sharegpt format: one entry per file, named name for the default
// train file and name_config_split otherwise, each with "ranking": true and
// the column mapping of the format.
func DatasetInfo(f Format, name string, files []DataFile) ([]byte, error) {
	type entry struct {
		FileName   string            `json:"file_name"`
		Formatting string            `json:"formatting"`
		Ranking    bool              `json:"ranking"`
		Columns    map[string]string `json:"columns"`
		Tags       map[string]string `json:"tags,omitempty"`
	}
	var e entry
	switch f {
	case Alpaca:
		e = entry{Formatting: "alpaca", Ranking: true, Columns: map[string]string{
			"prompt": "instruction", "query": "input", "chosen": "chosen", "rejected": "rejected",
			"system": "system", "history": "history",
		}}
	case ShareGPT:
		e = entry{Formatting: "sharegpt", Ranking: true, Columns: map[string]string{
			"messages": "conversations", "chosen": "chosen", "rejected": "rejected", "system": "system",
		}, Tags: map[string]string{
			"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
		}}
	default:
		return nil, fmt.Errorf("dataset: format %q is not a LLaMA-Factory format", f)
	}
	info := map[string]entry{}
	for _, df := range files {
		key := name
		if df.Config != ConfigDefault || df.Split != SplitTrain {
			key = strings.Join([]string{name, df.Config, df.Split}, "_")
		}
		x := e
		x.FileName = df.Path
		info[key] = x
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
