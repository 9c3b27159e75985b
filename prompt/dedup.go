package prompt

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/prefdata/prefdata"
)

// ExactDedup is a [prefdata.PromptFilter] that rejects a prompt whose
// [Normalize]d conversation equals that of a prompt it kept before: copies
// that differ in case, white space or punctuation. Memory is about 40 bytes
// per kept prompt. It is safe for concurrent use; with one caller at a time
// (the pipeline's default) the first of a group of copies is the one kept.
type ExactDedup struct {
	mu   sync.Mutex
	seen map[uint64]int32
	ids  []string
}

var _ prefdata.PromptFilter = (*ExactDedup)(nil)

// NewExactDedup returns an empty ExactDedup.
func NewExactDedup() *ExactDedup { return &ExactDedup{seen: map[uint64]int32{}} }

// Name returns "exact-dedup".
func (d *ExactDedup) Name() string { return "exact-dedup" }

// FilterPrompt keeps p if no copy of it was kept before, and rejects it with
// "exact duplicate of <ID>" otherwise.
func (d *ExactDedup) FilterPrompt(_ context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
	key := hashString(Normalize(conversationText(p.Messages)))
	d.mu.Lock()
	defer d.mu.Unlock()
	if i, ok := d.seen[key]; ok {
		return p, prefdata.Reject("exact duplicate of " + d.ids[i])
	}
	d.seen[key] = int32(len(d.ids))
	d.ids = append(d.ids, p.ID)
	return p, nil
}

// Defaults of [NearDedupConfig].
const (
	DefaultNearThreshold = 0.7
	DefaultNumPerm       = 128
	DefaultShingleSize   = 5
)

// NearDedupConfig configures a [NearDedup]. The zero value means the
// defaults: character 5-grams of the normalized text, 128 permutations,
// Jaccard threshold 0.7, bands chosen by [OptimalBands].
type NearDedupConfig struct {
	// Threshold is the estimated Jaccard similarity of shingle sets at or
	// above which a prompt is a near-duplicate (default 0.7).
	Threshold float64
	// NumPerm is the number of hash functions in a MinHash signature
	// (default 128). More gives a finer estimate and costs time and memory.
	NumPerm int
	// ShingleSize is the length of a shingle: characters, or words when
	// Words is set (default 5). Character shingles suit short prompts, where
	// one changed word removes a few word shingles out of a handful.
	ShingleSize int
	Words       bool
	// Bands splits the signature into Bands bands of NumPerm/Bands rows for
	// LSH; two prompts become candidates when one band matches. Zero picks
	// the split with [OptimalBands].
	Bands int
	// Seed fixes the hash functions; equal seeds give equal results.
	Seed uint64
}

// NearDedup is a [prefdata.PromptFilter] that rejects near-duplicates with
// MinHash and LSH banding: each prompt's shingle set gets a MinHash
// signature, the signature is cut into bands, and prompts sharing a band are
// compared by the fraction of equal signature values (an estimate of their
// Jaccard similarity). A prompt whose estimate against a kept prompt reaches
// the threshold is rejected with "near-duplicate of <ID> (jaccard 0.83)".
//
// Only kept prompts are indexed. For each it stores one byte per permutation
// (the low 8 bits of each MinHash value, enough to estimate similarity: see
// b-bit minwise hashing) and one 8-byte slot per band, so time and memory
// grow linearly with the number of prompts: about 128 + 8×Bands×2 bytes per
// kept prompt with the defaults. It is safe for concurrent use; results are
// deterministic for a seed when prompts come one at a time.
type NearDedup struct {
	cfg  NearDedupConfig
	rows int
	a, b []uint64 // hash functions: (a*x + b) >> 32

	mu     sync.Mutex
	ids    []string
	sigs   [][]byte // blocks of sigBlock × NumPerm low bytes, so growth never copies
	tables []bandTable
}

var _ prefdata.PromptFilter = (*NearDedup)(nil)

// Validate reports the first impossible setting of c, naming the field:
// a Threshold outside [0, 1] (or NaN), a negative NumPerm, ShingleSize or
// Bands, or more Bands than NumPerm (after defaults). Zero fields are the
// defaults and are valid.
func (c NearDedupConfig) Validate() error {
	_, err := c.withDefaults()
	return err
}

func (c NearDedupConfig) withDefaults() (NearDedupConfig, error) {
	switch {
	case math.IsNaN(c.Threshold) || c.Threshold < 0 || c.Threshold > 1:
		return c, fmt.Errorf("prompt: NearDedupConfig.Threshold %v is outside [0, 1] (0 means %v)", c.Threshold, DefaultNearThreshold)
	case c.NumPerm < 0:
		return c, fmt.Errorf("prompt: NearDedupConfig.NumPerm %d is negative (0 means %d)", c.NumPerm, DefaultNumPerm)
	case c.ShingleSize < 0:
		return c, fmt.Errorf("prompt: NearDedupConfig.ShingleSize %d is negative (0 means %d)", c.ShingleSize, DefaultShingleSize)
	case c.Bands < 0:
		return c, fmt.Errorf("prompt: NearDedupConfig.Bands %d is negative (0 picks them with OptimalBands)", c.Bands)
	}
	if c.Threshold == 0 {
		c.Threshold = DefaultNearThreshold
	}
	if c.NumPerm == 0 {
		c.NumPerm = DefaultNumPerm
	}
	if c.ShingleSize == 0 {
		c.ShingleSize = DefaultShingleSize
	}
	if c.Bands > c.NumPerm {
		return c, fmt.Errorf("prompt: NearDedupConfig.Bands %d is above NumPerm %d", c.Bands, c.NumPerm)
	}
	if c.Bands == 0 {
		c.Bands, _ = OptimalBands(c.Threshold, c.NumPerm)
	}
	return c, nil
}

// NewNearDedup returns an empty NearDedup, or the error of
// [NearDedupConfig.Validate] when cfg is impossible.
func NewNearDedup(cfg NearDedupConfig) (*NearDedup, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &NearDedup{cfg: cfg, rows: cfg.NumPerm / cfg.Bands}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6d696e68617368))
	d.a, d.b = make([]uint64, cfg.NumPerm), make([]uint64, cfg.NumPerm)
	for i := range d.a {
		d.a[i] = rng.Uint64() | 1
		d.b[i] = rng.Uint64()
	}
	d.tables = make([]bandTable, cfg.Bands)
	return d, nil
}

// MustNearDedup is [NewNearDedup] for a configuration written in the code
// (the zero value, say): it panics if cfg is impossible. Use NewNearDedup
// for settings that come from flags or files.
func MustNearDedup(cfg NearDedupConfig) *NearDedup {
	d, err := NewNearDedup(cfg)
	if err != nil {
		panic(err)
	}
	return d
}

const sigBlock = 8192

// Name returns "near-dedup".
func (d *NearDedup) Name() string { return "near-dedup" }

// Config returns the configuration in use, defaults filled in.
func (d *NearDedup) Config() NearDedupConfig { return d.cfg }

// Len returns the number of prompts kept (indexed) so far.
func (d *NearDedup) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.ids)
}

// OptimalBands returns the LSH split of numPerm rows into bands × rows that
// minimizes the weighted area of misses above threshold (weight 0.8) and of
// candidates below it (weight 0.2): it leans towards recall, since every
// candidate is then checked against its signature. For threshold 0.7 and 128
// permutations it returns 18 bands of 7 rows.
func OptimalBands(threshold float64, numPerm int) (bands, rows int) {
	const wFP, wFN, steps = 0.2, 0.8, 200
	// The areas are midpoint sums over steps points of [0, threshold] and
	// of [threshold, 1] of P(candidate) = 1 - (1 - s^r)^b. For each r the
	// powers are built by multiplication as b grows, not by math.Pow at
	// every point of every split: that took 30 ms, paid by every
	// NewNearDedup.
	var s, sr, q [2 * steps]float64
	hFP, hFN := threshold/steps, (1-threshold)/steps
	for i := range steps {
		s[i] = (float64(i) + 0.5) * hFP
		s[steps+i] = threshold + (float64(i)+0.5)*hFN
	}
	for i := range sr {
		sr[i] = 1
	}
	err := make([][]float64, numPerm+1) // err[r][b]
	for r := 1; r <= numPerm; r++ {
		for i := range sr {
			sr[i] *= s[i]
			q[i] = 1
		}
		err[r] = make([]float64, numPerm/r+1)
		for b := 1; b*r <= numPerm; b++ {
			fp, fn := 0.0, 0.0
			for i := range steps {
				q[i] *= 1 - sr[i]
				fp += 1 - q[i]
			}
			for i := steps; i < 2*steps; i++ {
				q[i] *= 1 - sr[i]
				fn += 1 - (1 - q[i])
			}
			err[r][b] = wFP*fp*hFP + wFN*fn*hFN
		}
	}
	best := math.Inf(1)
	for b := 1; b <= numPerm; b++ {
		for r := 1; b*r <= numPerm; r++ {
			if e := err[r][b]; e < best {
				best, bands, rows = e, b, r
			}
		}
	}
	return bands, rows
}

// Signature returns the MinHash signature of text (NumPerm values).
func (d *NearDedup) Signature(text string) []uint32 {
	sig := make([]uint32, d.cfg.NumPerm)
	d.signature(text, sig)
	return sig
}

func (d *NearDedup) signature(text string, sig []uint32) {
	var buf [256]uint64
	hs := buf[:0]
	d.shingles(Normalize(text), func(x uint64) { hs = append(hs, x) })
	// One hash function at a time over all shingles: the loop keeps a, b
	// and the minimum in registers.
	a, b := d.a[:len(sig)], d.b[:len(sig)]
	for i := range sig {
		ai, bi, m := a[i], b[i], uint32(math.MaxUint32)
		for _, x := range hs {
			if v := uint32((ai*x + bi) >> 32); v < m {
				m = v
			}
		}
		sig[i] = m
	}
}

// shingles calls f with the hash of every shingle of the normalized text s.
// A text shorter than one shingle is one shingle.
func (d *NearDedup) shingles(s string, f func(uint64)) {
	k := d.cfg.ShingleSize
	if d.cfg.Words {
		// Offsets of word starts; words are separated by one space.
		starts := []int{0}
		for i := 0; i < len(s); i++ {
			if s[i] == ' ' {
				starts = append(starts, i+1)
			}
		}
		if len(starts) <= k {
			f(hashString(s))
			return
		}
		for i := 0; i+k <= len(starts); i++ {
			end := len(s)
			if i+k < len(starts) {
				end = starts[i+k] - 1
			}
			f(hashString(s[starts[i]:end]))
		}
		return
	}
	// Character shingles over runes: a ring of the last k+1 rune offsets.
	var buf [64]int
	ring := buf[:]
	if k >= len(ring) {
		ring = make([]int, k+1)
	}
	n := 0
	for i := range s {
		ring[n%len(ring)] = i
		n++
		if n > k {
			f(hashString(s[ring[(n-k-1)%len(ring)]:i]))
		}
	}
	if n >= k && n > 0 {
		f(hashString(s[ring[(n-k)%len(ring)]:]))
	} else if n > 0 {
		f(hashString(s))
	}
}

// FilterPrompt rejects p if it is a near-duplicate of a prompt kept before,
// and indexes it otherwise.
func (d *NearDedup) FilterPrompt(_ context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
	sig := make([]uint32, d.cfg.NumPerm)
	d.signature(conversationText(p.Messages), sig)
	keys := make([]uint64, d.cfg.Bands)
	for j := range keys {
		keys[j] = bandHash(j, sig[j*d.rows:(j+1)*d.rows])
	}
	low := make([]byte, len(sig))
	for i, v := range sig {
		low[i] = byte(v)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	best, bestJ := -1, 0.0
	var checked []int32
	for j, key := range keys {
		d.tables[j].lookup(key, func(idx int32) {
			for _, c := range checked {
				if c == idx {
					return
				}
			}
			checked = append(checked, idx)
			if s := d.similarity(low, idx); s >= d.cfg.Threshold && s > bestJ {
				best, bestJ = int(idx), s
			}
		})
	}
	if best >= 0 {
		return p, prefdata.Reject(fmt.Sprintf("near-duplicate of %s (jaccard %.2f)", d.ids[best], bestJ))
	}
	idx := int32(len(d.ids))
	d.ids = append(d.ids, p.ID)
	if int(idx)%sigBlock == 0 {
		d.sigs = append(d.sigs, make([]byte, 0, sigBlock*len(low)))
	}
	d.sigs[len(d.sigs)-1] = append(d.sigs[len(d.sigs)-1], low...)
	for j, key := range keys {
		d.tables[j].insert(key, idx)
	}
	return p, nil
}

// similarity estimates the Jaccard similarity from the low bytes of two
// signatures: two values agree by chance with probability 1/256 when the
// minima differ, so the fraction m of equal bytes is J + (1-J)/256.
func (d *NearDedup) similarity(low []byte, idx int32) float64 {
	block, off := int(idx)/sigBlock, int(idx)%sigBlock*len(low)
	other := d.sigs[block][off : off+len(low)]
	eq := 0
	for i, v := range low {
		if other[i] == v {
			eq++
		}
	}
	m := float64(eq) / float64(len(low))
	return max(0, (m-1.0/256)/(1-1.0/256))
}

// Similarity returns the MinHash estimate of the Jaccard similarity of the
// shingle sets of a and b, with this filter's shingles and hash functions.
func (d *NearDedup) Similarity(a, b string) float64 {
	sa, sb := d.Signature(a), d.Signature(b)
	eq := 0
	for i := range sa {
		if sa[i] == sb[i] {
			eq++
		}
	}
	return float64(eq) / float64(len(sa))
}

func bandHash(band int, rows []uint32) uint64 {
	h := uint64(band+1) * 0x9e3779b97f4a7c15
	for _, v := range rows {
		h = mix64(h ^ uint64(v))
	}
	return h
}

// bandTable maps 64-bit band hashes to item indexes: open addressing with
// linear probing over one uint64 per slot (the hash's high 32 bits, then
// index+1). Equal keys may repeat; lookup visits all. The slot is derived
// from the stored key, so the table can grow without the full hash.
type bandTable struct {
	slots []uint64
	n     int
}

func (t *bandTable) lookup(h uint64, f func(int32)) {
	if len(t.slots) == 0 {
		return
	}
	key := uint32(h >> 32)
	mask := uint64(len(t.slots) - 1)
	for i := mix64(uint64(key)) & mask; ; i = (i + 1) & mask {
		e := t.slots[i]
		if e == 0 {
			return
		}
		if uint32(e>>32) == key {
			f(int32(uint32(e)) - 1)
		}
	}
}

func (t *bandTable) insert(h uint64, idx int32) {
	if (t.n+1)*2 > len(t.slots) {
		t.grow()
	}
	t.put(uint64(uint32(h>>32))<<32 | uint64(uint32(idx+1)))
	t.n++
}

func (t *bandTable) put(e uint64) {
	mask := uint64(len(t.slots) - 1)
	for i := mix64(e>>32) & mask; ; i = (i + 1) & mask {
		if t.slots[i] == 0 {
			t.slots[i] = e
			return
		}
	}
}

func (t *bandTable) grow() {
	old := t.slots
	size := 1024
	if len(old) > 0 {
		size = len(old) * 2
	}
	t.slots = make([]uint64, size)
	for _, e := range old {
		if e != 0 {
			t.put(e)
		}
	}
}

// mix64 is the splitmix64 finalizer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashString is 64-bit FNV-1a followed by a mixer.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}
