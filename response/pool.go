package response

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/prefdata/prefdata"
)

// PoolConfig configures a [Pool].
type PoolConfig struct {
	// Name names the pool in stats (default "pool(a,b,...)").
	Name string
	// Models are the pool's generators, each named (by [prefdata.Namer]) with
	// a name no other member has. Usually [*Generator]s, each with its own
	// samples, sampling and principles.
	Models []prefdata.Generator
	// K is the number of models drawn per prompt (default: all).
	K int
	// Seed makes the draws reproducible: equal seeds, prompt IDs and model
	// names give equal draws.
	Seed int64
}

// Pool answers each prompt with K models drawn from M, UltraFeedback's
// recipe for responses of varied quality and style. The draw for a prompt
// ranks the models by a hash of the seed, the prompt ID and the model's name
// and keeps the first K, so it does not depend on the members' order, and
// adding a model changes only the draws the new model wins a place in.
//
// The pipeline caches a generator's whole output per prompt, keyed by its
// fingerprint, which changes when a model is added. Give the members a
// shared [Cache] so that the samples they already produced are read back and
// only the new model's draws are paid for.
type Pool struct {
	cfg   PoolConfig
	names []string
	name  string
	fp    string
}

var (
	_ prefdata.Generator     = (*Pool)(nil)
	_ prefdata.Namer         = (*Pool)(nil)
	_ prefdata.Fingerprinter = (*Pool)(nil)
)

// NewPool checks cfg and returns the pool.
func NewPool(cfg PoolConfig) (*Pool, error) {
	if len(cfg.Models) == 0 {
		return nil, errors.New("response: pool has no models")
	}
	if cfg.K <= 0 || cfg.K > len(cfg.Models) {
		if cfg.K > len(cfg.Models) {
			return nil, fmt.Errorf("response: pool draws K=%d of %d models", cfg.K, len(cfg.Models))
		}
		cfg.K = len(cfg.Models)
	}
	p := &Pool{cfg: cfg}
	seen := map[string]int{}
	fps := []any{"response.Pool/1", cfg.K, cfg.Seed}
	for i, m := range cfg.Models {
		n, ok := m.(prefdata.Namer)
		if !ok || n.Name() == "" {
			return nil, fmt.Errorf("response: pool model %d (%T) has no name", i, m)
		}
		if j, dup := seen[n.Name()]; dup {
			return nil, fmt.Errorf("response: pool models %d and %d are both named %q", j, i, n.Name())
		}
		seen[n.Name()] = i
		p.names = append(p.names, n.Name())
		if f, ok := m.(prefdata.Fingerprinter); ok {
			fps = append(fps, n.Name(), f.Fingerprint())
		} else {
			fps = append(fps, n.Name(), fmt.Sprintf("%T", m))
		}
	}
	p.fp = prefdata.Hash(fps...)[:32]
	p.name = cfg.Name
	if p.name == "" {
		p.name = "pool(" + strings.Join(p.names, ",") + ")"
	}
	return p, nil
}

// Name returns PoolConfig.Name or "pool(a,b,...)".
func (p *Pool) Name() string { return p.name }

// Fingerprint changes with K, the seed, and any member's name or
// fingerprint.
func (p *Pool) Fingerprint() string { return p.fp }

// Draw returns the names of the models drawn for prompt ID id, in pool
// order.
func (p *Pool) Draw(id string) []string {
	idx := p.draw(id)
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = p.names[j]
	}
	return out
}

func (p *Pool) draw(id string) []int {
	type ranked struct {
		i int
		h string
	}
	rs := make([]ranked, len(p.names))
	for i, n := range p.names {
		rs[i] = ranked{i, prefdata.Hash("pool-draw", p.cfg.Seed, id, n)}
	}
	sort.Slice(rs, func(a, b int) bool { return rs[a].h < rs[b].h })
	out := make([]int, p.cfg.K)
	for i := range out {
		out[i] = rs[i].i
	}
	sort.Ints(out)
	return out
}

// Generate asks the drawn models at once and returns their responses in
// pool order. A model that fails does not take the others' responses with
// it: they are returned with the error, which names the failed models.
func (p *Pool) Generate(ctx context.Context, pr prefdata.Prompt) ([]prefdata.Response, error) {
	if pr.ID == "" {
		pr.ID = prefdata.ContentID(pr.Messages)
	}
	idx := p.draw(pr.ID)
	outs := make([][]prefdata.Response, len(idx))
	errs := make([]error, len(idx))
	var wg sync.WaitGroup
	for k, i := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[k], errs[k] = p.cfg.Models[i].Generate(ctx, pr)
		}()
	}
	wg.Wait()
	var rs []prefdata.Response
	for _, o := range outs {
		rs = append(rs, o...)
	}
	if err := ctx.Err(); err != nil {
		return rs, err
	}
	var failed []error
	for k, err := range errs {
		if err != nil {
			if errors.Is(err, ErrBudget) {
				return rs, err
			}
			failed = append(failed, fmt.Errorf("%s: %w", p.names[idx[k]], err))
		}
	}
	return rs, errors.Join(failed...)
}
