package filter

import "github.com/prefdata/prefdata"

// toolArguments returns the arguments of the reply's first tool call.
func toolArguments(r prefdata.Response) (string, bool) {
	if len(r.ToolCalls) == 0 {
		return "", false
	}
	return r.ToolCalls[0].Arguments, true
}

// rawReply is the text a judge's verdict was read from: the tool call's
// arguments for a function-call verdict, else the text.
func rawReply(r prefdata.Response) string { return structuredText(r) }
