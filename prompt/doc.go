// Package prompt is stage 1 of the framework: it collects prompts from many
// sources, removes duplicates and evaluation leaks, labels and balances
// categories, keeps the prompts the policy is weak on, and synthesizes more
// where a category is thin.
//
// Everything here is a [prefdata.PromptSource] or a [prefdata.PromptFilter],
// so a [prefdata.Pipeline] wires it in; nothing imports another stage.
//
// Sources stream with constant memory:
//   - [Reader] ([Open], [NewReader]) reads JSONL or JSON arrays (gzipped
//     too, through Open) in the usual schemas (plain prompt, Alpaca
//     instruction/input, OpenAI messages,
//     ShareGPT conversations, MT-Bench turns, Self-Instruct seed tasks,
//     HH-RLHF transcripts) or any schema through a [Mapping]. IDs come from
//     the record or from [prefdata.ContentID]. A bad record (malformed JSON,
//     empty prompt, invalid UTF-8, over the size limit) is an error naming
//     file and line; with ReaderConfig.SkipBad it is an item error the
//     pipeline records, and it is counted and listed in [Reader.Report].
//   - [Concat] and [Interleave] (weighted, seeded) combine sources;
//     [prefdata.Prompts] is the source over a slice.
//
// In a Pipeline, filters without a fingerprint (the dedup filters) see one
// prompt at a time, in source order; a fingerprinted one (the Classifier) is
// stateless, so the pipeline runs it on up to Limits.Prompt prompts at once
// and keeps their order for the filters after it:
//   - [ExactDedup]: equal after [Normalize] (case, white space, punctuation).
//   - [NearDedup]: MinHash over character 5-grams (or word n-grams), 128
//     permutations, LSH banding (18 bands of 7 rows for the default Jaccard
//     threshold 0.7, from [OptimalBands]), each candidate checked against its
//     signature; deterministic for a seed, linear time and memory.
//     [NewNearDedup] returns an error for an impossible configuration;
//     [MustNearDedup] is for configurations written in the code.
//   - [Decontaminator]: shares a word 8-gram with an evaluation prompt, or
//     contains a shorter evaluation prompt whole.
//   - [Classifier]: an LLM (any [prefdata.Generator]) picks one category of
//     a taxonomy ([DefaultTaxonomy]); answers are parsed leniently and
//     nonsense gets a fallback category. It has a Fingerprint, so a
//     Pipeline runs it concurrently and, with a run directory, caches its
//     categories for a rerun.
//   - [RIP]: the policy's worst response must score above a floor, not be
//     too short, and the best-worst gap must stay below a ceiling.
//
// Each rejection carries its reason ("near-duplicate of p-1a2b (jaccard
// 0.83)"); inside a Pipeline with a run directory, every dropped prompt is
// recorded in prompts.jsonl with the filter's name and that reason.
//
// Steps that need the whole input are source wrappers: [Balance] (per
// category quotas, share caps, an even spread of a total) and [Difficulty]
// (k policy responses per prompt scored by a reward [prefdata.Scorer]; keep
// the lowest mean reward and/or the highest variance, by quantile or
// threshold). Put filters in front of them with [Filtered]. A Pipeline sees
// only what a source yields: with RecordDrops set, these wrappers yield the
// prompts they leave out as prefdata.RejectPrompt errors, which the pipeline
// counts and records in the run directory like a filter's drops
// ([Balancer.Counts], [DifficultySelector.Results] and Filtered's onDrop
// callback show them too). A [Rater] keeps the policy's responses and
// replays them as a [prefdata.Generator], so stage 2 does not pay for them
// twice.
//
// Synthesis: [SelfInstruct] writes new prompts from seeds shown in context
// and keeps one only if its [RougeL] against every kept prompt is below 0.7;
// [Evol] rewrites prompts (add constraints, deepen, concretize, add
// reasoning steps, a rarer prompt in the same domain) and drops failed
// rewrites. Synthesized prompts record their parent and method in Meta and
// "synth:<method>" in Source.
//
// Every threshold is a setting with a documented default, not a claim about
// what the paper used.
package prompt
