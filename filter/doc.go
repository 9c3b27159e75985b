// Package filter is stage 3 of the framework: it removes broken responses,
// scores the rest with reward models and LLM judges, builds preference pairs,
// and routes each pair to AI labeling or to people.
//
// Everything here is a [prefdata.Filter], a [prefdata.Scorer] or a
// [prefdata.Labeler], so it composes with the user's own.
//
// # Rule filters
//
// [Empty], [Truncated], [Refusal], [Repetition], [Length], [NearDuplicate]
// and [Script] drop single responses with [prefdata.Candidate.Without]; each
// has a name (NameEmpty, ...) under which the pipeline counts its drops, and
// records why it dropped each response. They hold beyond English: Refusal's
// phrases cover the languages of [RefusalLanguages] and an apology followed
// by help is kept; Length counts each character of a script written without
// spaces as a word ([CountWords]) and can bound completion tokens;
// Repetition takes a run of symbols in an answer with words for
// placeholders. [AllOf], [AnyOf], [Not] and [Named]
// compose filters; [prefdata.ResponseFilterFunc] writes a custom rule as a
// function.
//
// # Scoring
//
// [RewardModel] asks a reward model over HTTP (vLLM /pooling, /classify,
// /score; SGLang /classify; or any JSON API) and keeps its raw reward.
// [RubricJudge] asks an LLM, through any [prefdata.Generator], to rate each
// response on UltraFeedback's four aspects or on MT-Bench's 1-10 scale.
// [Scores] turns either into a Filter that appends to Candidate.Scores. A
// response that could not be scored is dropped with the error as the reason
// (or the candidate fails, see [ErrorPolicy]); it never gets a made-up 0.
//
// [PairwiseJudge] compares every two responses in both orders and appends
// [prefdata.Comparison]s: a verdict counts only if both orders agree
// (ConsistentOnly) or is averaged over them (Averaged). By default it asks
// for a JSON verdict constrained by a schema, through
// [prefdata.Prompt.Options], and in plain text when the server refuses it.
//
// # Judges you shape
//
// A judge's prompt is a [Template] (Go text/template; placeholders
// {{.Prompt}}, {{.Responses}}, {{.Reference}}, {{.Rubric}}, {{.Format}},
// {{.Messages}}) and its reply is read by a [VerdictParser] or
// [RatingParser], one-method interfaces with Func adapters. A parser may
// say how to write its verdict ([FormatHinter]) and ask for what it needs
// ([Optioner]: a JSON schema, a forced function call, logprobs). Built in:
// [BracketVerdict] ("[[A]]", Arena-Hard's "[[A>>B]]"), [OutputVerdict]
// ("Output (a)"), [JSONVerdict] (schema output or a function call),
// [RankingVerdict] (AlpacaEval's ordered_models), [LogprobVerdict] (a
// one-token verdict's probabilities as a soft preference), [BracketRating]
// and [PlainRating] ("8/10", "Rating: 8"); [ParseRating] and [ParseVerdict]
// read text directly. All refuse to guess: no verdict, two different
// verdicts ("[[A]]. [[Wait, [[B]]") or a verdict cut off ("Rating: [[1" at
// the end, a JSON object cut short) is a [*ParseError] that keeps the raw
// reply, and the judge is asked again.
//
// Scorers and judges have fingerprints, so a pipeline with a run directory
// caches their output and a rerun does not pay for them twice.
//
// # Pairs and routing
//
// [Combine] merges scores (weighted aspects, normalized scorers); [Pairs]
// builds pairs from the result: best vs a random strictly lower response (the
// default), best vs worst, or every pair above a margin. Ties are never
// paired. [RIP] rejects prompts whose worst answer is poor or whose answers
// are erratic. [Router] is the stage-3 Labeler: each pair gets a confidence
// from the judge's self-consistency, its agreement with the scores and the
// score gap; confident pairs are labeled by AI, the rest go to the human
// queue, each with a reason ([RouteReasons] counts them). [Stage2Pairs]
// emits the pair set of stage 2 (scores only), for comparing the data of
// each stage.
//
// # Testing
//
// [CheckFilter] checks that any Filter keeps the contract (no change to its
// input, a drop record for every removed response, safe concurrent use).
// Package filter/rmtest is a fake reward-model server with the vLLM and
// SGLang shapes; response/openaitest scripts judge replies.
//
// Every threshold is a setting with a documented default, not a value from
// the paper.
package filter
