package response

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/prefdata/prefdata"
)

// FileCache is the run-directory file a [Cache] keeps responses in.
const FileCache = "response_cache.jsonl"

// Cache keeps single responses in a run directory, keyed by everything that
// made them (prompt, model, system prompt, sampling, sample index). The
// pipeline already caches each generator's whole output per prompt; this
// finer cache lets a [Pool] whose draw changed (a model added) reuse every
// sample already paid for. It is safe for concurrent use.
type Cache struct {
	dir *prefdata.RunDir

	mu    sync.Mutex       // guards index and size, and orders appends
	index map[string]int64 // key → offset of its record
	size  int64            // length of the complete lines of FileCache
}

type cacheLine struct {
	Key      string            `json:"key"`
	Response prefdata.Response `json:"response"`
}

// NewCache opens the response cache of a run directory.
func NewCache(dir *prefdata.RunDir) (*Cache, error) {
	c := &Cache{dir: dir, index: map[string]int64{}}
	err := dir.Scan(FileCache, func(rec prefdata.Record) error {
		var k struct {
			Key string `json:"key"`
		}
		if err := json.Unmarshal(rec.Data, &k); err != nil || k.Key == "" {
			return fmt.Errorf("response: %s:%d: not a cache record: %v", dir.Path(FileCache), rec.Line, err)
		}
		c.index[k.Key] = rec.Offset
		c.size = rec.Offset + int64(len(rec.Data)) + 1
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Len returns the number of responses in the cache.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.index)
}

func (c *Cache) get(key string) (prefdata.Response, bool) {
	c.mu.Lock()
	off, ok := c.index[key]
	c.mu.Unlock()
	if !ok {
		return prefdata.Response{}, false
	}
	line, err := c.dir.ReadLine(FileCache, off)
	if err != nil {
		return prefdata.Response{}, false
	}
	var cl cacheLine
	if err := json.Unmarshal(line, &cl); err != nil || cl.Key != key {
		return prefdata.Response{}, false
	}
	return cl.Response, true
}

func (c *Cache) put(key string, r prefdata.Response) error {
	line, err := json.Marshal(cacheLine{Key: key, Response: r})
	if err != nil {
		return fmt.Errorf("response: cache record: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// RunDir.Append writes the compact JSON of a RawMessage unchanged, so
	// the record starts at the current size and is len(line)+1 long.
	if err := c.dir.Append(FileCache, json.RawMessage(line)); err != nil {
		return err
	}
	c.index[key] = c.size
	c.size += int64(len(line)) + 1
	return nil
}
