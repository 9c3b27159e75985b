package main

import (
	"fmt"
	"strings"

	"github.com/prefdata/prefdata/response/openaitest"
)

// fakeReplies scripts the built-in fake server: the judge model grades and
// compares answers by a crude quality measure (distinct words), with the
// position bias real judges have on close calls; every other model gets the
// server's deterministic default text.
//
// Models named in more answer as judges too, the same way.
func fakeReplies(judge string, more ...string) func(openaitest.Request, int) openaitest.Reply {
	judges := map[string]bool{judge: true}
	for _, m := range more {
		judges[m] = true
	}
	return func(req openaitest.Request, choice int) openaitest.Reply {
		if !judges[req.Model] || len(req.Messages) == 0 {
			return openaitest.DefaultReply(req, choice)
		}
		text := req.Messages[len(req.Messages)-1].Content
		if a, ok := between(text, "[Answer A]\n", "\n[End of answer A]"); ok {
			b, _ := between(text, "[Answer B]\n", "\n[End of answer B]")
			qa, qb := quality(a), quality(b)
			close := 3 * max(qa, qb) / 10 // within 30%: a close call
			switch {
			case qa-qb > close:
				return openaitest.Reply{Content: "Answer A covers more of what was asked.\n[[A]]"}
			case qb-qa > close:
				return openaitest.Reply{Content: "Answer B covers more of what was asked.\n[[B]]"}
			default:
				// A close call: like real judges, lean to the first answer.
				return openaitest.Reply{Content: "They are close; A reads slightly better.\n[[A]]"}
			}
		}
		if ans, ok := between(text, "[Answer]\n", "\n[End of answer]"); ok {
			rating := min(10, max(1, quality(ans)/2))
			return openaitest.Reply{Content: fmt.Sprintf("The answer is judged on coverage.\nRating: [[%d]]", rating)}
		}
		return openaitest.DefaultReply(req, choice)
	}
}

func between(s, start, end string) (string, bool) {
	i := strings.Index(s, start)
	if i < 0 {
		return "", false
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		return "", false
	}
	return s[:j], true
}

func quality(s string) int {
	seen := map[string]bool{}
	for _, w := range strings.Fields(strings.ToLower(s)) {
		seen[w] = true
	}
	return len(seen)
}
