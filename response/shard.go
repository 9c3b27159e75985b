package response

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/prefdata/prefdata"
)

// InShard reports whether the prompt ID falls in shard i of n: the first 8
// bytes of the ID's SHA-256, modulo n, equal i. Every ID is in exactly one
// shard. A shard that does not exist (n <= 0, i outside [0, n)) holds
// nothing.
func InShard(id string, i, n int) bool {
	if checkShard(i, n) != nil {
		return false
	}
	h := sha256.Sum256([]byte(id))
	return binary.BigEndian.Uint64(h[:8])%uint64(n) == uint64(i)
}

func checkShard(i, n int) error {
	if n <= 0 || i < 0 || i >= n {
		return fmt.Errorf("response: shard %d of %d: want 0 <= shard < count", i, n)
	}
	return nil
}

// ShardFilter returns a stage-1 filter that keeps the prompts of shard i of
// n (by prompt ID, see [InShard]) and rejects the others with reason
// "shard". N machines, each running one shard against the same inference
// servers, together answer every prompt once; their outputs concatenate
// without overlap. Put it first, so later filters (dedup) see only the
// shard's prompts. A prompt without an ID is sharded by its [prefdata.ContentID].
func ShardFilter(i, n int) (prefdata.PromptFilter, error) {
	if err := checkShard(i, n); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("shard %d/%d", i, n)
	return prefdata.NamedPromptFilter(name, prefdata.PromptFilterFunc(func(_ context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
		id := p.ID
		if id == "" {
			id = prefdata.ContentID(p.Messages)
		}
		if InShard(id, i, n) {
			return p, nil
		}
		return p, prefdata.Reject("shard")
	})), nil
}

// ShardSource wraps src so that it yields only the prompts of shard i of n,
// skipping the others silently (they are not counted or recorded). Bad items
// of src are passed on whatever their shard.
func ShardSource(src prefdata.PromptSource, i, n int) (prefdata.PromptSource, error) {
	if err := checkShard(i, n); err != nil {
		return nil, err
	}
	return prefdata.PromptSourceFunc(func(ctx context.Context) (prefdata.Prompt, error) {
		for {
			p, err := src.Next(ctx)
			if err != nil {
				return p, err // io.EOF, a bad item, or the source's failure
			}
			id := p.ID
			if id == "" {
				id = prefdata.ContentID(p.Messages)
			}
			if InShard(id, i, n) {
				return p, nil
			}
		}
	}), nil
}
