// Package journal holds the mechanics of a run directory: append-only files
// of one record a line, their scans, torn-tail repair, an exclusive lock, files
// replaced atomically, and an on-disk index from keys to line offsets. It
// imports nothing of the project; the record types live in the root package
// prefdata and the typed readers in runstore.
//
// # Appends
//
// [Dir.Append] writes a line in one write to a file opened with O_APPEND, so
// lines of several writers (goroutines or processes) never overwrite or cut
// each other; a file is never truncated. Append returns nil only when the
// whole line was written: a short write (a full disk) returns an error naming
// the file, and the next append first ends the fragment with a newline, so
// the next record starts on a line of its own. A file found ending mid-line
// when it is opened (a crash) is repaired the same way. Each repair is
// reported as a [Fragment].
//
// # Index
//
// [Index] maps keys to the offsets of their latest lines in one journal. It
// is an open-addressing hash table in a memory-mapped file next to the
// journal (index/NAME.idx): 16 bytes a key, outside the Go heap, so a resumed
// run of millions of items does not hold its keys in memory. It stores a
// 64-bit hash of each key; a lookup is confirmed by the caller against the
// key on the line. The index is a cache of the journal: it is rebuilt or
// caught up from the journal when it is missing, stale or damaged.
package journal
