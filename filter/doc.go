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
// one-token verdict's probabilities as a soft preference), [BracketRating],
// [PlainRating] ("8/10", "Rating: 8") and [JSONRating]; [ParseRating] and
// [ParseVerdict] read text directly. All refuse to guess: no verdict, two different
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
// # Calibrated routing
//
// [Calibrator] turns what the judges said about a pair ([Evidence]: each
// judge's verdict in each presentation order, reward-model margins; built
// with [EvidenceOf] from a candidate, or [JudgedPair.Evidence]) into the
// probability that the AI's winner is the one people would choose. It is a
// latent-class model in the spirit of Dawid and Skene, fitted by EM with
// priors: it needs no human label to estimate each judge's accuracy and
// position bias ([JudgeStats], with bootstrap intervals). Human labels
// clamp their pairs' class in every fit; once there are
// Calibrator.MinLabels of them (default 10) they also fit a
// two-parameter confidence map (a temper for the judges' shared errors
// and a ceiling, a posterior over a grid), so it sharpens as labels
// arrive without a handful of them making it overconfident. With fewer
// labels the label-free map stands: its temper assumes a correlated
// panel (1/sqrt(judges)), which is conservative for judges that err
// independently and can still be optimistic for judges that agree on
// wrong answers, which only labels reveal. Calibrator.MapWeights weighs
// labels drawn with unequal probabilities in the map's fit.
//
// [Route] routes a fitted [Calibration] by a [Goal]: [TargetAccuracy] (the
// most confident pairs are labeled by AI for as long as their predicted
// accuracy stays at the target), [HumanBudget] (the N pairs where a label
// adds the most expected accuracy, [Decision].Value) or [FixedThreshold].
// Goal.Audit sends a random share of the AI-labeled pairs to people too,
// to measure the AI's accuracy. Drawn uniformly by default, every pair
// with the same chance; with Goal.AuditByDoubt each pair has a known
// inclusion probability pi_i that grows with its doubt 1-P: in proportion
// to a uniform part and a part in proportion to doubt (Goal.AuditDoubt,
// default half), capped at 1 with the excess spread over the others,
// summing to the audit's size; the sample is drawn systematically along P
// from one random start, so it has that size. The doubtful pairs, where
// the AI errs most, are then audited more often, and a person's label
// there is more likely to correct it. [Measured] weights each audited
// pair by 1/pi_i (Decision.AuditWeight; a Hájek estimate, Σ agree/pi over
// Σ 1/pi), so the measured accuracy estimates the whole AI-labeled set's
// and not the doubtful pairs' alone; its Wilson interval is on Kish's
// effective sample size. Set it beside [Calibration.Accuracy]'s
// prediction. [Calibration.Curve] is the human
// share against the predicted accuracy over the whole range.
//
// # Judge panels and routing a pipeline by goal
//
// [Panel] is one stage-3 step in which several [PairwiseJudge]s (different
// models, or one model under several instructions with [JudgeVariant])
// compare the same pairs, each in both orders, every comparison kept with
// its judge and order. With a [Cascade] the panel is the cheap tier and the
// strong judges are asked only about the pairs where the panel's verdicts
// leave doubt; [Panel.Stats] counts the calls asked and saved.
//
// A goal is a decision over every pair, while a pipeline labels one
// candidate at a time, so a pipeline is routed by goal in two passes:
// with Pipeline.FiltersOnly and a [RoutePlanner] as its last filter (it
// collects each pair's [Evidence]), then [RoutePlanner.Plan] (the
// calibrator fitted with people's labels so far, [PeopleSaid]) and a
// normal run whose Labeler is the plan's [PlannedRouter], wrapped by
// label.Human. Audit pairs go to people like the others, marked only in
// Provenance.Audit; Provenance.Value orders the label server's queue; and
// [RoutePlan.Stats] gives the figures of prefdata.Stats.Routing (predicted
// and audited accuracy, the curve) that the dataset card and report show.
// examples/quickstart does exactly this.
//
// # Import format: judged pairs
//
// A user with verdicts of their own routes them without generating
// anything: [ReadJudged] reads the library's import format, one JSON
// object a line:
//
//	{"id": "p1", "prompt": "...", "a": "response text", "b": "response text",
//	 "verdicts": [{"judge": "gpt-4o/plain", "first": "a", "winner": "a", "reply": "..."},
//	              {"judge": "gpt-4o/plain", "first": "b", "winner": "a"}],
//	 "scores": [{"scorer": "some-reward-model", "a": 1.25, "b": -0.5}]}
//
// "first" is the response the judge was shown first; "winner" is in the
// pair's own terms ("a", "b", "tie"), or null where the reply had no
// readable verdict; a judge's name includes its prompting strategy, and
// its two entries are its two orders (one order alone is fine). "reply"
// and "scores" are optional; a response that is a JSON number or boolean
// is kept as its text. [ReadHumanLabels] reads people's labels, one
// {"id", "annotator", "winner"} a line ("a", "b" or "tie"). Both return
// every good line and an error naming file:line for each bad one
// ([*LineError]); unknown fields and duplicate IDs are errors.
// examples/route-study routes such files by a goal and reports the result.
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
