package label

import (
	"crypto/sha256"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/prefdata/prefdata"
)

// rankResponse is one response of a ranking, as shown.
type rankResponse struct {
	Letter string
	ID     string
	Text   string
}

type rankPage struct {
	labelPage
	Items     []prefdata.Pair
	Prompt    prefdata.Prompt
	Responses []rankResponse
}

// rankOrder returns the distinct responses of a group of pairs of one
// prompt in the order annotator sees them: shuffled per annotator, stable.
func rankOrder(seed, annotator string, group []prefdata.Pair) []rankResponse {
	seen := map[string]bool{}
	var out []rankResponse
	for _, p := range group {
		for _, r := range []prefdata.Response{p.Chosen, p.Rejected} {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, rankResponse{ID: r.ID, Text: r.Text})
			}
		}
	}
	key := func(id string) string {
		h := sha256.Sum256([]byte(seed + "\x00" + annotator + "\x00" + id))
		return string(h[:8])
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i].ID) < key(out[j].ID) })
	for i := range out {
		out[i].Letter = string(rune('A' + i))
	}
	return out
}

// submitRanking stores one label per pair of a ranking: the response ranked
// higher (a smaller number) is preferred, equal ranks are a tie, and the
// strength is the rank difference, at most 3.
func (s *Server) submitRanking(annotator string, items []string, ranks map[string]string, comment string) ([]Label, error) {
	if len(items) < 2 {
		return nil, refuse(http.StatusBadRequest, "a ranking needs the items of two pairs or more, got %d", len(items))
	}
	if len(comment) > MaxCommentBytes {
		return nil, refuse(http.StatusRequestEntityTooLarge, "comment is %d bytes, more than the %d allowed", len(comment), MaxCommentBytes)
	}
	var group []prefdata.Pair
	seen := map[string]bool{}
	for _, id := range items {
		p, ok := s.queue.Pair(id)
		if !ok {
			return nil, refuse(http.StatusNotFound, "unknown item %q", id)
		}
		if seen[id] {
			return nil, refuse(http.StatusBadRequest, "item %s given twice", id)
		}
		seen[id] = true
		if len(group) > 0 && p.Prompt.ID != group[0].Prompt.ID {
			return nil, refuse(http.StatusBadRequest, "items %s and %s are not of the same prompt", group[0].ID, id)
		}
		group = append(group, p)
	}
	order := rankOrder(s.cfg.Seed, annotator, group)
	rank := map[string]int{}
	for _, r := range order {
		v := ranks[r.Letter]
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > len(order) {
			return nil, refuse(http.StatusBadRequest, "rank of response %s is %q: want a number from 1 to %d", r.Letter, v, len(order))
		}
		rank[r.ID] = n
	}
	for letter := range ranks {
		if len(letter) != 1 || letter[0] < 'A' || int(letter[0]-'A') >= len(order) {
			return nil, refuse(http.StatusBadRequest, "unknown response %q in the ranking", letter)
		}
	}
	pos := map[string]int{}
	for i, r := range order {
		pos[r.ID] = i
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Label
	for _, p := range group {
		ls, leased := s.leases[p.ID][annotator]
		switch {
		case s.store.Has(p.ID, annotator):
			return nil, refuse(http.StatusConflict, "you have already labeled item %s", p.ID)
		case !leased:
			return nil, refuse(http.StatusForbidden, "item %s is not assigned to you", p.ID)
		case !ls.expires.After(now) && !s.open(p, annotator, now):
			return nil, refuse(http.StatusConflict, "your time on item %s ran out and it went to someone else", p.ID)
		}
		shown := []string{p.Chosen.ID, p.Rejected.ID}
		if pos[shown[0]] > pos[shown[1]] {
			shown[0], shown[1] = shown[1], shown[0]
		}
		l := Label{
			ID: "app-" + NewToken()[:20], PairID: p.ID, PromptID: p.Prompt.ID, Annotator: annotator,
			Shown: shown, Source: SourceApp, Comment: comment, Time: now.UTC(), LeadTime: now.Sub(ls.start).Seconds(),
		}
		a, b := rank[p.Chosen.ID], rank[p.Rejected.ID]
		switch {
		case a == b:
			l.Verdict = VerdictTie
		case a < b:
			l.Verdict, l.Preferred, l.Strength = VerdictPrefer, p.Chosen.ID, Strength(min(3, b-a))
		default:
			l.Verdict, l.Preferred, l.Strength = VerdictPrefer, p.Rejected.ID, Strength(min(3, a-b))
		}
		if err := l.Check(p); err != nil {
			return nil, refuse(http.StatusBadRequest, "%v", err)
		}
		out = append(out, l)
	}
	for _, l := range out {
		if err := s.store.Add(l); err != nil {
			return nil, err
		}
		s.release(l.PairID, annotator)
	}
	for _, p := range group {
		s.reopen(p)
	}
	return out, nil
}

func (s *Server) postRank(w http.ResponseWriter, r *http.Request, name, tok string) {
	f := r.PostForm
	ranks := map[string]string{}
	for k, v := range f {
		if letter, ok := strings.CutPrefix(k, "rank_"); ok && len(v) > 0 {
			ranks[letter] = v[0]
		}
	}
	_, err := s.submitRanking(name, f["item"], ranks, f.Get("comment"))
	s.answerPost(w, r, err, "/label?m=saved")
}
