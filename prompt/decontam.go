package prompt

import (
	"context"
	"fmt"
	"strings"

	"github.com/prefdata/prefdata"
)

// DefaultNGram is the n-gram length, in words, of [NewDecontaminator].
const DefaultNGram = 8

// Decontaminator is a [prefdata.PromptFilter] that rejects prompts sharing a
// word n-gram (of [Normalize]d text) with an evaluation prompt, so that a
// model trained on the data is not tested on what it saw. An evaluation
// prompt shorter than n words counts as one n-gram, so a prompt that
// contains it whole is rejected too. It holds 12 bytes or so per evaluation
// n-gram, and is safe for concurrent use (it does not change after
// construction). A prompt costs one hash lookup per n-gram, plus one per
// word sequence of each length of the short evaluation prompts (fewer than
// n lengths), whatever the size of the evaluation set.
type Decontaminator struct {
	n         int
	grams     map[uint64]int32
	short     map[uint64]int32 // eval texts shorter than n words, whole
	shortLens []int            // their distinct lengths in words, ascending
	ids       []string
}

var _ prefdata.PromptFilter = (*Decontaminator)(nil)

// NewDecontaminator indexes the user turns of evals. n is the n-gram length
// in words (DefaultNGram when n <= 0).
func NewDecontaminator(n int, evals ...prefdata.Prompt) *Decontaminator {
	if n <= 0 {
		n = DefaultNGram
	}
	d := &Decontaminator{n: n, grams: map[uint64]int32{}, short: map[uint64]int32{}}
	lens := make([]bool, n)
	for _, e := range evals {
		idx := int32(len(d.ids))
		d.ids = append(d.ids, e.ID)
		for _, m := range e.Messages {
			if m.Role != prefdata.RoleUser {
				continue
			}
			w := words(m.Content)
			if len(w) == 0 {
				continue
			}
			if len(w) < n {
				if _, ok := d.short[hashWords(w)]; !ok {
					d.short[hashWords(w)] = idx
				}
				lens[len(w)] = true
				continue
			}
			for i := 0; i+n <= len(w); i++ {
				if _, ok := d.grams[hashWords(w[i:i+n])]; !ok {
					d.grams[hashWords(w[i:i+n])] = idx
				}
			}
		}
	}
	for l, ok := range lens {
		if ok {
			d.shortLens = append(d.shortLens, l)
		}
	}
	return d
}

// Name returns "decontaminate".
func (d *Decontaminator) Name() string { return "decontaminate" }

// Len returns the number of distinct evaluation n-grams, counting each
// evaluation text shorter than n words as one.
func (d *Decontaminator) Len() int { return len(d.grams) + len(d.short) }

// FilterPrompt rejects p with `shares 8-gram "..." with eval <ID>` when one
// of its user turns shares an n-gram with an evaluation prompt.
func (d *Decontaminator) FilterPrompt(_ context.Context, p prefdata.Prompt) (prefdata.Prompt, error) {
	for _, m := range p.Messages {
		if m.Role != prefdata.RoleUser {
			continue
		}
		w := words(m.Content)
		for i := 0; i+d.n <= len(w); i++ {
			if idx, ok := d.grams[hashWords(w[i:i+d.n])]; ok {
				return p, prefdata.Reject(fmt.Sprintf("shares %d-gram %q with eval %s", d.n, strings.Join(w[i:i+d.n], " "), d.ids[idx]))
			}
		}
		for _, l := range d.shortLens {
			for i := 0; i+l <= len(w); i++ {
				if idx, ok := d.short[hashWords(w[i:i+l])]; ok {
					return p, prefdata.Reject(fmt.Sprintf("contains eval prompt %q (%s)", strings.Join(w[i:i+l], " "), d.ids[idx]))
				}
			}
		}
	}
	return p, nil
}

func hashWords(w []string) uint64 {
	h := uint64(14695981039346656037)
	for i, s := range w {
		if i > 0 {
			h ^= ' '
			h *= 1099511628211
		}
		for j := 0; j < len(s); j++ {
			h ^= uint64(s[j])
			h *= 1099511628211
		}
	}
	return mix64(h)
}
