package label_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/label"
	"github.com/prefdata/prefdata/prefdatatest"
)

// Krippendorff's alpha on the reliability data of Krippendorff (2011): four
// observers, twelve units, missing ratings.
func ExampleKrippendorffAlpha() {
	const M = label.Missing
	r := label.Ratings{
		{1, 1, M, 1}, {2, 2, 3, 2}, {3, 3, 3, 3}, {3, 3, 3, 3},
		{2, 2, 2, 2}, {1, 2, 3, 4}, {4, 4, 4, 4}, {1, 1, 2, 1},
		{2, 2, 2, 2}, {M, 5, 5, 5}, {M, M, 1, 1}, {M, 3, M, M},
	}
	nominal, _ := label.KrippendorffAlpha(r, label.Nominal)
	ordinal, _ := label.KrippendorffAlpha(r, label.Ordinal)
	fmt.Printf("nominal %.3f, ordinal %.3f\n", nominal, ordinal)
	// Output: nominal 0.743, ordinal 0.815
}

// Three annotators per pair, two of whom prefer the AI's rejected response:
// the majority flips the pair.
func ExamplePolicy_Decide() {
	p := prefdata.Pair{ID: "pair-1", Chosen: prefdata.Response{ID: "r-a"}, Rejected: prefdata.Response{ID: "r-b"}, NeedsHuman: true}
	vote := func(who, preferred string) label.Label {
		return label.Label{ID: who, PairID: p.ID, Annotator: who, Verdict: label.VerdictPrefer, Preferred: preferred, Strength: label.Clearly}
	}
	pol := label.Policy{Labels: 3, MinAgreement: 0.6}
	d := pol.Decide(p, []label.Label{vote("ann", "r-b"), vote("ben", "r-b"), vote("cat", "r-a")})
	out, _ := label.Apply(p, d)
	fmt.Println(d.Status, d.Reason)
	fmt.Println("chosen", out.Chosen.ID, "by", out.Provenance.Annotators, "stage", out.Provenance.Stage)
	// Output:
	// decided human majority 2 of 3
	// chosen r-b by [ann ben cat] stage label
}

// The whole loop: a run sends its unsure pairs to people, an annotator
// labels them in the web app, and the next run writes the pairs people
// decided.
func ExampleHuman() {
	tmp, err := os.MkdirTemp("", "label-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	dir, err := prefdata.OpenRunDir(tmp)
	if err != nil {
		log.Fatal(err)
	}
	score := prefdata.FilterFunc(func(ctx context.Context, c prefdata.Candidate) (prefdata.Candidate, error) {
		s, err := prefdatatest.LengthScorer{}.Score(ctx, c.Prompt, c.Responses)
		c.Scores = s
		return c, err
	})
	pipeline := func(sink prefdata.Sink) *prefdata.Pipeline {
		return &prefdata.Pipeline{
			Source:     prefdata.Prompts(prefdatatest.NewPrompt("Name a prime number.")),
			Generators: []prefdata.Generator{&prefdatatest.Generator{Model: "m1", Samples: 2}, &prefdatatest.Generator{Model: "m2"}},
			Filters:    []prefdata.Filter{score},
			// Every pair goes to people: the AI is never sure enough.
			Labeler: label.Human(prefdatatest.Labeler{HumanBelow: 1e9}, dir, label.HumanOptions{}),
			Sink:    sink,
			Dir:     dir,
		}
	}
	st, err := pipeline(&prefdatatest.Sink{}).Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("first run: pairs for people:", st.PairsHuman)

	// The annotator's session, over HTTP.
	secret := label.NewToken() // the token in alice's link
	srv, err := label.NewServer(label.Config{Dir: dir, Annotators: []label.Annotator{{Name: "alice", Token: secret}}})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	get, _ := http.NewRequest("GET", ts.URL+"/api/next", nil)
	get.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(get)
	if err != nil {
		log.Fatal(err)
	}
	var item label.NextItem
	_ = json.NewDecoder(resp.Body).Decode(&item)
	resp.Body.Close()
	form := url.Values{"csrf": {item.CSRF}, "item": {item.Item}, "choice": {label.ChoiceA}, "strength": {"3"}}
	post, _ := http.NewRequest("POST", ts.URL+"/label", strings.NewReader(form.Encode()))
	post.Header.Set("Authorization", "Bearer "+secret)
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.Header.Set("Accept", "application/json")
	resp, err = http.DefaultClient.Do(post)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("label:", resp.Status)

	// The second run writes the pair as alice ordered it.
	sink := &prefdatatest.Sink{}
	st, err = pipeline(sink).Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("second run: pairs for people:", st.PairsHuman)
	for _, p := range sink.Pairs() {
		fmt.Println("pair: stage", p.Provenance.Stage, "annotators", p.Provenance.Annotators, "margin", p.Margin,
			"chosen is what alice saw as A:", p.Chosen.Text == item.A)
	}
	// Output:
	// first run: pairs for people: 1
	// label: 204 No Content
	// second run: pairs for people: 0
	// pair: stage label annotators [alice] margin 3 chosen is what alice saw as A: true
}
