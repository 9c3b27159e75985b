// Package label is stage 4 of the framework: people label the pairs the AI
// could not settle.
//
// The pipeline appends every pair it is unsure of ([prefdata.Pair.NeedsHuman])
// to the run directory's queue file (a [prefdata.QueueRecord] a line, its
// responses by reference to the responses journal, filled in by
// [runstore.QueuedPair]; queues of whole pairs, as older versions wrote
// them, are read too). This package serves that queue to
// annotators, stores their labels in the same run directory, measures how
// much they agree, and turns the labels back into pairs:
//
//   - [Server] is the annotation web app, an [net/http.Handler] built on the
//     standard library with embedded assets (no CDN, works offline): a
//     pairwise view with keyboard shortcuts, strength (never preselected),
//     comment, skip and "flag as broken" (with a reason), undo and progress;
//     prompts shown turn by turn and all text rendered as Markdown by
//     [RenderMarkdown] (raw HTML shown escaped, never run), with a view that
//     highlights where the two responses differ; a guidelines page; an admin
//     dashboard with per-annotator figures, accounts and exports. Pairs are
//     served by Provenance.Value, highest first; audit pairs are unmarked.
//     [GoldItem]s with known answers are mixed in at Config.GoldRate to
//     measure each annotator's accuracy. Tokens are strong random ones
//     ([CheckToken]), kept hashed in [FileAccounts] so links survive
//     restarts; the admin's cookie is separate from the annotators'. POSTs
//     carry a CSRF token; each pair goes to Policy.Labels distinct annotators
//     with leases that expire; the sides are shuffled per annotator and item
//     and the order shown is stored with the label. Every label is appended
//     to [FileHumanLabels] before the response returns; skips, flags and gold
//     answers to [FileLabelEvents]. Serve it with [NewHTTPServer].
//   - [Human] wraps the AI [prefdata.Labeler]: on a later run (or, with
//     HumanOptions.Wait, while the server runs) it replaces each NeedsHuman
//     pair by the pair people decided, aggregated by a [Policy] (majority,
//     tie rule, agreement threshold).
//   - [PercentAgreement], [CohenKappa], [FleissKappa] and
//     [KrippendorffAlpha] (nominal and ordinal, missing ratings allowed)
//     measure agreement; [Summarize] computes the dashboard's figures.
//   - [ExportLabelStudio] / [ImportLabelStudio] and [ExportArgilla] /
//     [ImportArgilla] round-trip the queue through the tools teams already
//     use; imported labels land in the same labels file as the app's.
//
// The labels file is append-only JSONL: an undo is a later line that
// retracts an earlier one, and for each pair and annotator only the latest
// label that was not retracted counts ([Store]). Killing the server loses
// nothing that was acknowledged, and several processes may append to the
// file at once (the server and an import, or two servers); a line cut short
// by a crash is skipped and listed on the dashboard.
package label
