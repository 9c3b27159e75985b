package filter_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/filter"
)

func BenchmarkParseRatingArenaHard(b *testing.B) {
	f, err := os.Open(sharedData(b, "arena_hard/judgment_gpt-3.5-turbo-1106.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var row struct{ Judgment string }
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			b.Fatal(err)
		}
		texts = append(texts, row.Judgment)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = filter.ParseRating(texts[i%len(texts)])
	}
}

// alpacaCandidates returns the real AlpacaEval answers as candidates.
func alpacaCandidates(b *testing.B) []prefdata.Candidate {
	gens, ins := alpacaEval(b)
	var cs []prefdata.Candidate
	for _, in := range ins {
		msgs := []prefdata.Message{{Role: prefdata.RoleUser, Content: in}}
		c := prefdata.Candidate{Prompt: prefdata.Prompt{ID: prefdata.ContentID(msgs), Messages: msgs}}
		for _, g := range gens {
			rs, _ := g.Generate(context.Background(), c.Prompt)
			c.Responses = append(c.Responses, rs...)
		}
		cs = append(cs, c)
	}
	return cs
}

// BenchmarkRuleFiltersAlpacaEval runs every rule filter over the 805
// AlpacaEval candidates (4 real answers each); one op is one candidate.
func BenchmarkRuleFiltersAlpacaEval(b *testing.B) {
	cs := alpacaCandidates(b)
	rules := map[string]prefdata.Filter{
		"empty":          filter.Empty(),
		"refusal":        filter.Refusal(filter.RefusalConfig{}),
		"repetition":     filter.Repetition(filter.RepetitionConfig{}),
		"length":         filter.Length(filter.LengthConfig{MinWords: 3, MaxWords: 1500}),
		"near-duplicate": filter.NearDuplicate(filter.NearDuplicateConfig{}),
		"script":         filter.Script(filter.ScriptConfig{}),
	}
	rules["all"] = filter.AllOf(rules["empty"], rules["refusal"], rules["repetition"], rules["length"], rules["near-duplicate"], rules["script"])
	for _, name := range []string{"empty", "refusal", "repetition", "length", "near-duplicate", "script", "all"} {
		f := rules[name]
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := f.Filter(context.Background(), cs[i%len(cs)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRouter builds and routes pairs for a candidate of k scored
// responses with a judge comparison for every pair.
func BenchmarkRouter(b *testing.B) {
	for _, k := range []int{4, 16} {
		c := prefdata.Candidate{Prompt: prefdata.Prompt{ID: "p"}}
		for i := range k {
			id := fmt.Sprintf("r%d", i)
			c.Responses = append(c.Responses, prefdata.Response{ID: id})
			c.Scores = append(c.Scores, prefdata.Score{ResponseID: id, Scorer: "rm", Value: float64(i % 7)})
			for j := range i {
				c.Comparisons = append(c.Comparisons, prefdata.Comparison{A: id, B: fmt.Sprintf("r%d", j), Scorer: "judge", Preference: 1, Consistent: i%3 != 0})
			}
		}
		for _, s := range []filter.Strategy{filter.BestVsRandomLower, filter.AllAboveMargin} {
			rt := filter.Router{Pairs: filter.Pairs{Strategy: s}}
			b.Run(fmt.Sprintf("k=%d/%s", k, s), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := rt.Label(context.Background(), c); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRewardModelClient measures the client's own cost per response
// against an instant loopback fake of vLLM's /classify, 16 per batch.
func BenchmarkRewardModelClient(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Input []string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		var sb strings.Builder
		sb.WriteString(`{"id":"classify-1","object":"list","created":1,"model":"rm","data":[`)
		for i := range req.Input {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"index":%d,"label":"LABEL_0","probs":[%d.5],"num_classes":1}`, i, i)
		}
		sb.WriteString(`],"usage":{"prompt_tokens":1,"total_tokens":1,"completion_tokens":0}}`)
		_, _ = w.Write([]byte(sb.String()))
	}))
	defer srv.Close()
	m, err := filter.NewRewardModel(filter.RewardModelConfig{API: filter.VLLMClassify, BaseURL: srv.URL, Model: "rm", Render: render})
	if err != nil {
		b.Fatal(err)
	}
	p := prompt("q")
	rs := make([]prefdata.Response, 16)
	for i := range rs {
		rs[i] = resp(fmt.Sprintf("r%d", i), strings.Repeat("word ", 200))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Score(context.Background(), p, rs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rs)), "ns/response")
}
