// Package runstore reads a run directory: the typed readers of its journals
// for users, dataset, label and the examples. The pipeline writes the
// journals through [prefdata.RunDir]; their record types
// ([prefdata.PromptRecord], [prefdata.CacheRecord], [prefdata.PairsRecord],
// [prefdata.Pair] in the queue, [prefdata.Failure]) are the root package's,
// so every reader and writer shares one declaration. The human label
// ([Label], one line of [FileHumanLabels]) is declared here: package label
// writes it under the name label.Label (an alias of this type) and dataset
// reads it, and the pipeline never touches it.
//
// The shape of the run store, imports running one way:
//
//	internal/journal  files, appends, scans, torn-tail repair, lock, atomic files, on-disk index
//	prefdata          the records, RunDir (the handle the Pipeline writes through)
//	runstore          typed readers: the latest run's pairs, responses, scores, queue, labels, failures
//
// # Current and stale records
//
// The journals are cumulative across runs. A pairs record is current when
// it was made by the configuration of the latest run (its RunKey is the
// manifest's) and no later line of the same done key replaced it; the pairs
// of an earlier configuration (before a model was added, say) are stale.
// Lines written before records had versions (v 0) carry no run key: of
// those, the last line of each prompt counts.
//
// # Texts stored once
//
// A response's text is in the responses journal only. Cache records of
// filters and labelers refer to the responses they return unchanged by ID
// ([Store.Scores] and [Store.Judgments] fill them in), and so does a queue
// line ([prefdata.QueueRecord]), which also names the offsets of the
// generation records holding its responses: [QueuedPair] fills a line in
// with one read per record, which is what lets the label server, in
// another process, follow a queue the pipeline is still writing. A pairs
// line ([prefdata.PairsRecord]) refers to its responses the same way:
// [Store.Pairs], [Store.PairsRecords] and [Store.LatestPairs] fill them in
// ([prefdata.RunDir.FillRefs]), and a line whose records cannot be read is
// a *[LineError] naming the pairs file and line. Lines of whole pairs, as
// earlier versions wrote them, are read as they are.
//
// # Damaged lines
//
// A half-written line (a crash, a full disk) is skipped and reported
// ([Store.Fragments]); a line that is not a record gives a *[LineError]
// naming the file and line, and one bad line never hides the others from
// the readers that say so.
package runstore
