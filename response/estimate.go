package response

import "github.com/prefdata/prefdata"

// Estimate returns, before anything is sent, an upper bound on what
// answering p costs this generator: one request per sample (a server that
// honours n is sent the prompt once, so it costs less), the prompt's tokens
// estimated from its text as the rate limiter and budget do, and every
// sample running to Sampling.MaxTokens (DefaultCompletionTokens when unset).
// Cost is set when the generator has Prices. Samples already in the
// generator's Cache are not counted.
func (g *Generator) Estimate(p prefdata.Prompt) prefdata.Usage {
	if p.ID == "" {
		p.ID = prefdata.ContentID(p.Messages)
	}
	completion := g.cfg.Sampling.MaxTokens
	if completion <= 0 {
		completion = DefaultCompletionTokens
	}
	var u prefdata.Usage
	for i := range g.cfg.Samples {
		sys := g.systemFor(p, i)
		if g.cfg.Cache != nil {
			if _, ok := g.cfg.Cache.get(g.cacheKey(p, sys, i)); ok {
				continue
			}
		}
		u.Requests++
		u.PromptTokens += estimateTokens(messages(p, sys))
		u.CompletionTokens += completion
	}
	if g.cfg.Prices != nil {
		u.Cost = g.cfg.Prices.Cost(u)
	}
	return u
}
