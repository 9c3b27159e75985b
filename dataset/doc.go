// Package dataset writes preference pairs in the formats trainers read, and
// describes how they were made: a dataset card for the output folder and a
// self-contained HTML run report with the same figures as a JSON [Summary].
//
// # Writers and readers
//
// [NewWriter] returns a [Writer], a [prefdata.Sink] that streams one JSON
// line per pair in one [Format]: TRL standard and conversational (with an
// optional margin column), the Hugging Face Hub's common preference schema,
// OpenAI preference fine-tuning, HH-RLHF transcripts, and LLaMA-Factory's
// alpaca and sharegpt ranking formats. [Options.Provenance] adds columns that
// say how each pair was made (models, scores, stage, labeler, judge,
// annotators). A pair the format cannot express (a prompt with no user turn
// for OpenAI, say) is skipped and recorded as a [*SkipError] instead of
// ending the run, unless [Writer.Strict] is set. [NewReader] reads a format
// back: writing what it reads gives the same bytes.
//
// # Output folders
//
// [NewFolder] returns a [Folder], a Sink that writes an output folder: a
// train/test split by prompt ID hash ([SplitOf]; a prompt's pairs never
// straddle the split) and, with [FolderOptions.ByStage], one configuration
// per deciding stage (stage2, stage3, stage4) so reward models trained on
// each stage's data can be compared. For LLaMA-Factory formats it also writes
// dataset_info.json ([DatasetInfo]).
//
// # Summary, card and report
//
// [Summarize] reads a run directory (its manifest and JSONL files) into a
// [Summary]; [StartSummary] begins the same reading before a run is over,
// for a program whose last pass reads the responses and the filters'
// records back without writing them, and [FollowSummary] before a run
// starts: it takes those records from memory as the run writes them
// ([prefdata.RunDir.Tap]) and decodes them meanwhile (the quickstart).
// [WriteCard] writes the Hub dataset card (README.md with a YAML
// header of configs and data_files) and [WriteReport] the HTML report: the
// funnel through the four stages, prompts per category and source, responses,
// tokens and cost per model, generator failure rates (exact for the last
// run, from its stats), score distributions and chosen-rejected gaps, judge
// self-consistency, the new pairs by route and reason, and what went to
// people.
// Charts are inline SVG drawn by this package; every bar carries its numbers
// as data- attributes, and the page embeds the Summary as JSON.
package dataset
