package prompt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/prefdata/prefdata"
)

// BalanceConfig configures [Balance]. Set Total, MaxShare or Quotas.
type BalanceConfig struct {
	// Total is the number of prompts to select (0: as many as the caps
	// allow). The budget is spread evenly over the categories; one that has
	// fewer prompts than its share gives the rest to the others.
	Total int
	// MaxShare caps each category at this share of Total (of the input,
	// when Total is 0): 0.3 means no category fills more than 30%.
	MaxShare float64
	// Quotas caps the named categories at a number of prompts, overriding
	// MaxShare for them.
	Quotas map[string]int
	// Uncategorized is the category counted for prompts without one
	// (default "other"); the prompts keep their empty Category.
	Uncategorized string
	// Seed fixes which prompts of an over-full category are kept (a uniform
	// random sample); the selection keeps the input order.
	Seed uint64
	// RecordDrops makes Next, after the selected prompts, return each prompt
	// left out as an error made by prefdata.RejectPrompt (by "balance"), so a
	// Pipeline counts it and records it in the run directory. Leave it off
	// when you read the Balancer yourself.
	RecordDrops bool
}

// CategoryCount is what [Balancer] saw and kept of one category.
type CategoryCount struct {
	Available int `json:"available"`
	Selected  int `json:"selected"`
	// Missing is how many more prompts the category's quota (or even share
	// of Total) wanted than it had: where synthesis should add some.
	Missing int `json:"missing,omitempty"`
}

// Balancer is the source made by [Balance].
type Balancer struct {
	src prefdata.PromptSource
	cfg BalanceConfig

	read   bool
	all    []prefdata.Prompt
	cats   []string
	out    []int
	next   int
	counts map[string]CategoryCount

	dropped  []int // indices of b.all left out, in input order
	nextDrop int
}

var _ prefdata.PromptSource = (*Balancer)(nil)

// Balance returns a source that reads src to the end and then yields a
// selection in which no category dominates: per-category quotas, a cap on
// each category's share, and an even spread of a total budget (see
// [BalanceConfig]). It needs the global view, so it holds the input's
// prompts in memory; put dedup and classification before it with
// [Filtered]. Item errors of src are passed on while it reads; any other
// error ends it.
//
// A pipeline sees only what Next returns: set [BalanceConfig.RecordDrops]
// when a [prefdata.Pipeline] reads the Balancer, and the prompts left out
// are counted in Stats.Prompt.Dropped and written to the run directory's
// prompts file with their reason. [Balancer.Counts] gives the figures per
// category either way.
func Balance(src prefdata.PromptSource, cfg BalanceConfig) *Balancer {
	if cfg.Uncategorized == "" {
		cfg.Uncategorized = DefaultFallback
	}
	return &Balancer{src: src, cfg: cfg}
}

// Validate reports the first impossible setting of c, naming the field: a
// negative Total or quota, or a MaxShare outside [0, 1] (or NaN).
func (c BalanceConfig) Validate() error {
	if c.Total < 0 {
		return fmt.Errorf("prompt: BalanceConfig.Total is %d, below 0 (0 selects all the caps allow)", c.Total)
	}
	if math.IsNaN(c.MaxShare) || c.MaxShare < 0 || c.MaxShare > 1 {
		return fmt.Errorf("prompt: BalanceConfig.MaxShare is %v, outside [0, 1] (0 means no cap)", c.MaxShare)
	}
	cats := make([]string, 0, len(c.Quotas))
	for cat := range c.Quotas {
		cats = append(cats, cat)
	}
	sort.Strings(cats)
	for _, cat := range cats {
		if q := c.Quotas[cat]; q < 0 {
			return fmt.Errorf("prompt: BalanceConfig.Quotas[%q] is %d, below 0", cat, q)
		}
	}
	return nil
}

// Next returns the next selected prompt, io.EOF at the end. An impossible
// configuration (see [BalanceConfig.Validate]) is an error before anything
// is read.
func (b *Balancer) Next(ctx context.Context) (prefdata.Prompt, error) {
	if !b.read && len(b.all) == 0 {
		if err := b.cfg.Validate(); err != nil {
			return prefdata.Prompt{}, err
		}
	}
	for !b.read {
		p, err := b.src.Next(ctx)
		if errors.Is(err, io.EOF) {
			b.read = true
			b.choose()
			break
		}
		if err != nil {
			return p, err
		}
		b.all = append(b.all, p)
	}
	if err := ctx.Err(); err != nil {
		return prefdata.Prompt{}, err
	}
	if b.next < len(b.out) {
		b.next++
		return b.all[b.out[b.next-1]], nil
	}
	if b.cfg.RecordDrops && b.nextDrop < len(b.dropped) {
		i := b.dropped[b.nextDrop]
		b.nextDrop++
		c := b.category(b.all[i])
		cc := b.counts[c]
		return prefdata.Prompt{}, prefdata.RejectPrompt(b.all[i], "balance",
			fmt.Sprintf("category %q over its share: %d of %d kept", c, cc.Selected, cc.Available))
	}
	return prefdata.Prompt{}, io.EOF
}

// Counts returns, per category, the prompts available and selected. It is
// complete once Next has returned the first selected prompt (or io.EOF).
func (b *Balancer) Counts() map[string]CategoryCount {
	out := make(map[string]CategoryCount, len(b.counts))
	for k, v := range b.counts {
		out[k] = v
	}
	return out
}

func (b *Balancer) category(p prefdata.Prompt) string {
	if p.Category == "" {
		return b.cfg.Uncategorized
	}
	return p.Category
}

func (b *Balancer) choose() {
	byCat := map[string][]int{}
	for i, p := range b.all {
		c := b.category(p)
		byCat[c] = append(byCat[c], i)
	}
	b.cats = b.cats[:0]
	for c := range byCat {
		b.cats = append(b.cats, c)
	}
	for c := range b.cfg.Quotas {
		if _, ok := byCat[c]; !ok {
			b.cats = append(b.cats, c)
		}
	}
	sort.Strings(b.cats)

	total := b.cfg.Total
	if total <= 0 {
		total = len(b.all)
	}
	capOf := func(c string) int {
		limit := math.MaxInt
		if q, ok := b.cfg.Quotas[c]; ok {
			limit = q
		} else if b.cfg.MaxShare > 0 {
			limit = int(math.Floor(b.cfg.MaxShare * float64(total)))
		}
		return limit
	}
	// Water-filling: categories that cannot use an even share take what
	// they have; the rest split what is left.
	give := map[string]int{}
	want := map[string]int{} // even share or quota, to report what is missing
	active := append(make([]string, 0, len(b.cats)), b.cats...)
	remaining := total
	for len(active) > 0 && remaining > 0 {
		share := remaining / len(active)
		extra := remaining % len(active)
		var still []string
		settled := false
		for _, c := range active {
			limit := min(capOf(c), len(byCat[c]))
			s := share
			if extra > 0 {
				s++
			}
			if limit <= s {
				give[c] = limit
				want[c] = min(capOf(c), s)
				remaining -= limit
				settled = true
				if extra > 0 {
					extra--
				}
				continue
			}
			still = append(still, c)
		}
		if !settled {
			for _, c := range still {
				s := share
				if extra > 0 {
					s++
					extra--
				}
				give[c], want[c] = s, s
			}
			break
		}
		active = still
	}
	rng := rand.New(rand.NewPCG(b.cfg.Seed, 0xba1a))
	b.counts = map[string]CategoryCount{}
	for _, c := range b.cats {
		idx := byCat[c]
		n := give[c]
		if n < len(idx) {
			idx = append([]int(nil), idx...)
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			idx = idx[:n]
		}
		b.out = append(b.out, idx...)
		cc := CategoryCount{Available: len(byCat[c]), Selected: len(idx)}
		if q, ok := b.cfg.Quotas[c]; ok && q > cc.Available {
			cc.Missing = q - cc.Available
		} else if b.cfg.Total > 0 && want[c] > cc.Available {
			cc.Missing = want[c] - cc.Available
		}
		b.counts[c] = cc
	}
	sort.Ints(b.out)
	b.dropped = b.dropped[:0]
	for i, k := 0, 0; i < len(b.all); i++ {
		if k < len(b.out) && b.out[k] == i {
			k++
			continue
		}
		b.dropped = append(b.dropped, i)
	}
}
