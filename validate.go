package prefdata

import "fmt"

// ContractError reports a component that returned something its interface
// forbids: a response without an ID, a response to another prompt, two
// responses with one ID, a pair of a response with itself. The pipeline
// fails the item with it (the output is not cached) and the run goes on.
type ContractError struct {
	// Component names the component that broke the rule, as in stats
	// ("generator gpt-4o", "filter judge:gpt-4o", "labeler router").
	Component string
	// Rule is the rule it broke, with the item that broke it.
	Rule string
}

func (e *ContractError) Error() string {
	return fmt.Sprintf("prefdata: %s broke its contract: %s", e.Component, e.Rule)
}

// NewResponse returns sample i of the answer of the generator named gen to
// p, with the fields the pipeline checks filled in: ID (by [ResponseID] from
// p's ID, gen and i: stable across runs, and apart from every other
// generator's as long as gen is this generator's own name), PromptID, Model
// (gen), Sample and Text. A custom [Generator] builds its responses with it
// and sets what else it knows (FinishReason, Usage) on the result.
func NewResponse(gen string, p Prompt, i int, text string) Response {
	id := p.ID
	if id == "" {
		id = ContentID(p.Messages)
	}
	return Response{
		ID:       ResponseID(id, gen, "", Sampling{}, i),
		PromptID: id,
		Model:    gen,
		Sample:   i,
		Text:     text,
	}
}

// checkResponses checks the responses a component returned for the prompt
// with the given ID: each has an ID, answers this prompt, and no two share
// an ID.
func checkResponses(component, promptID string, rs []Response) error {
	seen := make(map[string]bool, len(rs))
	for k, r := range rs {
		switch {
		case r.ID == "":
			return &ContractError{component, fmt.Sprintf("response %d to prompt %s has no ID (build responses with prefdata.NewResponse)", k, promptID)}
		case r.PromptID != promptID:
			return &ContractError{component, fmt.Sprintf("response %s answers prompt %q, not the prompt %s it was given", r.ID, r.PromptID, promptID)}
		case seen[r.ID]:
			return &ContractError{component, fmt.Sprintf("two responses to prompt %s have the ID %s", promptID, r.ID)}
		}
		seen[r.ID] = true
	}
	return nil
}

// checkCandidate checks a filter's output against its input.
func checkCandidate(component string, in, out Candidate) error {
	if out.Prompt.ID != in.Prompt.ID {
		return &ContractError{component, fmt.Sprintf("it returned the candidate of prompt %q for prompt %s", out.Prompt.ID, in.Prompt.ID)}
	}
	return checkResponses(component, in.Prompt.ID, out.Responses)
}

// checkPairs checks a labeler's pairs for the candidate c.
func checkPairs(component string, c Candidate, pairs []Pair) error {
	seen := make(map[string]bool, len(pairs))
	for _, p := range pairs {
		for _, r := range []Response{p.Chosen, p.Rejected} {
			if err := checkResponses(component, c.Prompt.ID, []Response{r}); err != nil {
				return err
			}
		}
		switch {
		case p.Chosen.ID == p.Rejected.ID:
			return &ContractError{component, fmt.Sprintf("pair %s of prompt %s pairs response %s with itself", p.ID, c.Prompt.ID, p.Chosen.ID)}
		case p.ID != "" && seen[p.ID]:
			return &ContractError{component, fmt.Sprintf("two pairs of prompt %s have the ID %s", c.Prompt.ID, p.ID)}
		}
		seen[p.ID] = true
	}
	return nil
}
