package main

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/prefdata/prefdata/filter"
)

// TestPandaLMAuditCostBeyondRanking backs BENCHMARKS.md's claim that on
// PandaLM at 0.9 no router with a 5% audit can match the majority vote at
// equal human work. An oracle router knows each verdict pattern's true
// accuracy (from gold): it ranks the patterns by it and labels by AI with
// each pattern's better side. It sends 210 pairs to people (where the seeds
// that stop early stop), 22 of them drawn among the pairs where both judges
// agree (about what the audit puts there), the rest the least accurate
// pairs. The vote sends its 210 pairs of smallest margin. Both use one
// person's label per pair (a person's "tie" broken by the AI's winner).
// The figures are expectations over the draws, not a sample.
func TestPandaLMAuditCostBeyondRanking(t *testing.T) {
	dir := sharedSets(t)
	pairs, err := filter.ReadJudgedFile(filepath.Join(dir, "pandalm.pairs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := filter.ReadHumanLabelsFile(filepath.Join(dir, "pandalm.human.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	g := gold(labels)
	byID := map[string][]string{}
	for _, l := range labels {
		byID[l.ID] = append(byID[l.ID], l.Winner)
	}
	type item struct {
		pattern string
		gold    string
		margin  int
		vote    string // "" on a margin of 0: a coin
		top     bool   // both judges name the same response
	}
	var items []item
	count := map[string]map[string]int{}
	for _, p := range pairs {
		gw, ok := g[p.ID]
		if !ok {
			continue
		}
		var pat []string
		var a, b int
		for _, v := range p.Verdicts {
			w := "-"
			if v.Winner != nil {
				w = *v.Winner
			}
			pat = append(pat, w)
			switch w {
			case "a":
				a++
			case "b":
				b++
			}
		}
		it := item{pattern: strings.Join(pat, ","), gold: gw.String(), margin: max(a-b, b-a), top: a == 2 || b == 2}
		switch {
		case a > b:
			it.vote = "a"
		case b > a:
			it.vote = "b"
		}
		if count[it.pattern] == nil {
			count[it.pattern] = map[string]int{}
		}
		count[it.pattern][it.gold]++
		items = append(items, it)
	}
	side := map[string]string{}
	acc := map[string]float64{}
	for pat, c := range count {
		side[pat] = "a"
		if c["b"] > c["a"] {
			side[pat] = "b"
		}
		acc[pat] = float64(c[side[pat]]) / float64(c["a"]+c["b"])
	}
	// right is the expected correctness of winner w (""=coin) on pair x.
	right := func(x item, w string) float64 {
		if w == "" {
			return 0.5
		}
		if w == x.gold {
			return 1
		}
		return 0
	}
	ids := make([]string, 0, len(pairs))
	for _, p := range pairs {
		if _, ok := g[p.ID]; ok {
			ids = append(ids, p.ID)
		}
	}
	// person is the expected correctness of one random label of pair k,
	// a "tie" broken by winner w.
	person := func(k int, w string) float64 {
		ls := byID[ids[k]]
		var s float64
		for _, l := range ls {
			switch l {
			case "a", "b":
				if l == items[k].gold {
					s++
				}
			default:
				s += right(items[k], w)
			}
		}
		return s / float64(len(ls))
	}
	// total labels a fraction q[k] of each pair k (its chance of going to
	// people) and scores the rest by AI.
	total := func(q []float64, winner func(int) string) float64 {
		var s float64
		for k := range items {
			w := winner(k)
			s += q[k]*person(k, w) + (1-q[k])*right(items[k], w)
		}
		return s / float64(len(items))
	}
	// fill gives h labels to the pairs in ascending key order, shared
	// evenly within a tied key, to those with allowed(k).
	fill := func(q []float64, h float64, key func(int) float64, allowed func(int) bool) {
		var ks []int
		for k := range items {
			if allowed(k) {
				ks = append(ks, k)
			}
		}
		sort.SliceStable(ks, func(x, y int) bool { return key(ks[x]) < key(ks[y]) })
		for x := 0; x < len(ks) && h > 0; {
			y := x
			for y < len(ks) && key(ks[y]) == key(ks[x]) {
				y++
			}
			share := min(1, h/float64(y-x))
			for _, k := range ks[x:y] {
				q[k] += share
			}
			h -= share * float64(y-x)
			x = y
		}
	}
	const human = 210
	vote := func() float64 {
		q := make([]float64, len(items))
		fill(q, human, func(k int) float64 { return float64(items[k].margin) }, func(int) bool { return true })
		return total(q, func(k int) string { return items[k].vote })
	}
	oracle := func(audit int) float64 {
		q := make([]float64, len(items))
		var top int
		for _, x := range items {
			if x.top {
				top++
			}
		}
		for k, x := range items {
			if x.top {
				q[k] = float64(audit) / float64(top)
			}
		}
		// The rest among the pairs not already audited, least accurate
		// first (a top pair's share left is what the audit did not take).
		rest := make([]float64, len(items))
		fill(rest, float64(human-audit), func(k int) float64 { return acc[items[k].pattern] }, func(k int) bool { return !items[k].top })
		for k := range q {
			q[k] += rest[k]
		}
		return total(q, func(k int) string { return side[items[k].pattern] })
	}
	v, o22, o0 := vote(), oracle(22), oracle(0)
	t.Logf("%d pairs with gold; %d to people: vote %.4f, oracle router with 22 audited among the both-agree pairs %.4f, with none %.4f", len(items), human, v, o22, o0)
	if o22 >= v {
		t.Errorf("oracle with the audit %.4f, vote %.4f: the audit's cost no longer exceeds what ranking can win", o22, v)
	}
	if o0 <= v {
		t.Errorf("oracle without the audit %.4f, vote %.4f: want the oracle above the vote", o0, v)
	}
}
