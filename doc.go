// Package prefdata collects preference data — a prompt, a chosen response and
// a rejected response — for training reward models and for DPO.
//
// It follows the four-stage framework of Hu et al. (2024), "Towards
// Comprehensive Preference Data Collection for Reward Modeling":
//
//  1. Prompt collection and selection (package prompt): sources, dedup,
//     decontamination, categories, difficulty, synthesis.
//  2. Response generation (package response): several models and samples
//     per prompt over any OpenAI-compatible server.
//  3. Response filtering (package filter): rule filters, reward models, LLM
//     judges, pair building, and routing of unsure pairs to people.
//  4. Human labeling (package label): an annotation web app, agreement
//     statistics, and round trips with Label Studio and Argilla.
//
// This package holds what the stages share: the typed records that flow
// between them ([Prompt], [Response], [Score], [Candidate], [Pair]), the
// one-method interfaces each stage implements ([PromptSource],
// [PromptFilter], [Generator], [Filter], [Labeler], [Sink]) with Func
// adapters, the [Pipeline] that wires them with bounded concurrency, and the
// [RunDir], the run store's handle: append-only journals of exported,
// versioned records ([CacheRecord], [PairsRecord], [PromptRecord]), a run
// lock and on-disk indexes, that make a run resumable: a rerun never pays
// twice for a generation, a score or a label. Package runstore reads them.
//
// Errors belong to items, not batches. A prompt whose generation fails after
// retries is recorded in the run directory's failures file with its stage
// and ID, and the run goes on; an [ErrorBudget] decides when too many
// failures stop it. A filter that drops something is not failing: it returns
// an error made by [Reject], which is counted under the filter's name.
//
// Test doubles for the interfaces live in package prefdatatest; an
// OpenAI-compatible fake server lives in response/openaitest.
package prefdata
