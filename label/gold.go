package label

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/prefdata/prefdata"
)

// GoldItem is a pair whose answer is known, mixed among the queue's items
// (unmarked) to measure each annotator's accuracy.
type GoldItem struct {
	Pair prefdata.Pair `json:"pair"`
	// Verdict and Preferred (a response ID of Pair, for VerdictPrefer) are
	// the known answer.
	Verdict   Verdict `json:"verdict"`
	Preferred string  `json:"preferred,omitempty"`
}

// check reports what is wrong with g, or nil.
func (g GoldItem) check() error {
	p := g.Pair
	if p.ID == "" || p.Chosen.ID == "" || p.Rejected.ID == "" || p.Chosen.ID == p.Rejected.ID {
		return errors.New("the pair needs an id and two responses with different ids")
	}
	switch g.Verdict {
	case VerdictPrefer:
		if g.Preferred != p.Chosen.ID && g.Preferred != p.Rejected.ID {
			return fmt.Errorf("preferred %q is not a response of pair %s", g.Preferred, p.ID)
		}
	case VerdictTie, VerdictBothBad:
		if g.Preferred != "" {
			return fmt.Errorf("verdict %s names a preferred response", g.Verdict)
		}
	default:
		return fmt.Errorf("unknown verdict %q (want prefer, tie or both_bad)", g.Verdict)
	}
	return nil
}

// matches reports whether l gives g's answer (the strength does not
// count).
func (g GoldItem) matches(l Label) bool {
	return l.Verdict == g.Verdict && l.Preferred == g.Preferred
}

// ReadGold reads gold items, one JSON [GoldItem] a line (blank lines are
// skipped). An error names the line.
func ReadGold(r io.Reader) ([]GoldItem, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var out []GoldItem
	var errs []error
	seen := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var g GoldItem
		if err := json.Unmarshal(line, &g); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		if err := g.check(); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		if first, dup := seen[g.Pair.ID]; dup {
			errs = append(errs, fmt.Errorf("line %d: pair %s already on line %d", n, g.Pair.ID, first))
			continue
		}
		seen[g.Pair.ID] = n
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// unit returns a stable pseudo-random number in [0, 1) for the parts.
func unit(parts ...string) float64 {
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString(p)
		b.WriteByte(0)
	}
	h := sha256.Sum256(b.Bytes())
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
}
