// Package openaitest is a fake OpenAI-compatible server for tests: it serves
// POST /v1/chat/completions on a loopback [net/http/httptest] server, with
// deterministic replies, configurable latency, scripted faults (429 with
// Retry-After, 5xx, connection resets, hangs, malformed JSON, empty choices,
// finish_reason "length", 400/401/403/404 and context-length errors), the
// three ways real servers treat n (honour, ignore, refuse), token usage, and
// the files and batches endpoints of the Batch API. Its answers carry every
// field OpenAI's spec requires (message.refusal, choices[].logprobs,
// logprobs.content[].bytes, logprobs.refusal), and a reply can script
// reasoning text (as reasoning_content, reasoning or a <think> block),
// tool calls and refusals. It can refuse max_tokens or
// max_completion_tokens, or any request field, with a 400 naming it, as
// real servers do.
//
// It records every request it received ([Server.Log]) and the most requests
// it handled at once ([Server.MaxInFlight]), so tests assert on what a client
// really sent: each [Request] keeps its JSON body ([Request.Body],
// [Request.Sent]).
package openaitest
