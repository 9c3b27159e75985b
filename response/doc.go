// Package response is stage 2 of the framework: it answers prompts with
// models behind any OpenAI-compatible chat completions API (OpenAI, Azure,
// vLLM, SGLang, Ollama, llama.cpp's server, hosted providers).
//
// [New] makes a [Generator] for one model: k samples per prompt with its
// sampling settings and an optional system prompt, using the request's n
// where the server honours it and separate requests where it does not.
// Requests are retried with exponential backoff and jitter on 429, 5xx,
// timeouts, resets and malformed answers, honouring Retry-After; 400, 401,
// 403, 404 and context-length errors fail the item at once with the
// server's message. A shared [Limiter] holds requests and tokens per minute,
// a shared [Budget] stops the run when its cost would pass a ceiling, and
// several base URLs spread one model over replicas, avoiding a failing one
// for a while.
//
// Go-openai's request types stay inside this package: callers see only
// prefdata's records. Tests use the fake server in package openaitest.
package response
