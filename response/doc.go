// Package response is stage 2 of the framework: it answers prompts with
// models behind any OpenAI-compatible chat completions API (OpenAI, Azure,
// vLLM, SGLang, Ollama, llama.cpp's server, hosted providers). The
// generator writes its own chat-completions body (go-openai, used for the
// files and batches of batch mode, cannot send a temperature of 0), and
// callers see prefdata's records only.
//
// # One model
//
// [New] makes a [Generator] for one model: Samples responses per prompt with
// its [prefdata.Sampling] settings and an optional system prompt, or one
// "principle" system prompt per sample drawn reproducibly from a list. It
// fills every field of [prefdata.Response], with usage and, when [Prices]
// are given, cost. Several samples go in one request with n where the server
// honours it; a server that returns fewer choices (Ollama) or refuses n > 1
// (llama.cpp) is detected and then asked one sample at a time ([NMode]).
// Temperature 0 is sent as 0, so judges decode greedily.
//
// # Reasoning models and structured replies
//
// The completion limit goes out as max_completion_tokens to OpenAI and
// Azure and as max_tokens elsewhere ([MaxTokensField]); a 400 that names
// the field sent switches the endpoint to the other one. Sampling's
// ReasoningEffort is sent as reasoning_effort. The reply's reasoning
// (reasoning_content, reasoning, or a leading <think> block) is kept in
// Response.Reasoning, never in Text, with its tokens in
// Usage.ReasoningTokens. A caller holding only a [prefdata.Generator] (a
// judge) asks per prompt, with [prefdata.Prompt].Options, for a JSON
// schema (response_format), tools and tool_choice (the calls come back in
// Response.ToolCalls), logprobs and top alternatives, a limit, a
// temperature or an effort of its own; a server that refuses one of them
// gives an error matching [prefdata.ErrUnsupportedOption]. The nested
// module response/spectest validates every request sent and every answer
// of the fake server against OpenAI's OpenAPI description.
//
// # Never break, never pay twice
//
// Requests are retried ([Retry]) with exponential backoff and jitter on 429,
// 5xx, timeouts, connection resets, malformed answers and empty choices, and
// Retry-After (or retry-after-ms) is honoured. 400, 401, 403, 404,
// context-length errors ([ErrContextLength]) and a 429 for an exhausted
// quota fail the item at once with the server's message ([StatusError]). A [Limiter] shared by the generators of
// one endpoint holds requests and tokens per minute over a sliding window,
// estimating a request's tokens before it is sent and correcting them with
// the usage returned. A [Budget] shared by a run refuses the request that
// would pass its ceiling with [ErrBudget], which wraps [prefdata.ErrStopRun]:
// a Pipeline then ends the whole run by itself, with its work saved and no
// item recorded as failed, and returns an error matching both; a later run
// does the rest. Several base
// URLs spread one model over replicas, and a replica that fails is avoided
// for a while.
//
// The pipeline caches each generator's output per prompt in the run
// directory. When a prompt's samples take several requests (a server that
// ignores or refuses n, [NSeparate], several principles), a Generator run
// by a Pipeline with a run directory journals each request's samples as
// they arrive, in the run's call journal ([prefdata.CallJournalFrom]): a
// run killed halfway pays again only for the requests that were in flight.
// One request with n for all the samples is not journaled (its answer goes
// to the generation record, each text stored once). A [Cache] adds a
// per-sample cache (which, set, keeps each sample as it arrives in place of
// the call journal), so a [Pool] ("draw K of M
// models per prompt", reproducible from a seed) whose membership changed
// pays only for the samples it has not produced before.
//
// # Scale out and pay half
//
// [ShardFilter] and [ShardSource] select shard i of n by prompt-ID hash, so
// n machines share a run without overlap. [NewBatch] gives the batch mode of
// a generator: request files in the Batch API's JSONL format, uploaded and
// run as batches whose IDs are recorded in the run directory
// ([FileBatches]); a restarted run resumes polling and never submits twice.
// Each line of the output and error files becomes that sample's response
// or its failure; a line whose batch ended without it (expired) is sent
// again by the next Submit.
//
// Tests use the fake server in package openaitest, which scripts every
// fault above, the three n behaviours and the Batch API.
package response
