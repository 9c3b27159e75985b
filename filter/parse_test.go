package filter_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata/filter"
)

func TestParseRating(t *testing.T) {
	tests := []struct {
		text string
		want float64
		err  error
	}{
		{"Good answer.\n\nRating: [[8]]", 8, nil},
		{"Rating: [[10]]", 10, nil},
		{"I would rate it as a [[ 7 ]].", 7, nil},
		{"Rating: [[4.5]]", 4.5, nil},
		{"Rating: [[6]] ... to repeat, Rating: [[6]]", 6, nil},
		{"Rating: [[6]] or maybe [[7]]", 0, filter.ErrContradictory},
		{"Rating: [[1", 0, filter.ErrTruncated},
		{"Rating: [[", 0, filter.ErrTruncated},
		{"Rating: [[10]", 0, filter.ErrTruncated},
		{"Rating: [[10]\n", 0, filter.ErrTruncated},
		{"Rating: [[[7]]]", 7, nil},
		{"In code, x = [[1, 2], [3]] is a list. Rating: [[5]]", 5, nil},
		{"Rating: [[ 7 ]] and [[7.0]]", 7, nil},
		{"Rating: [[8]] and then a second try Rating: [[1", 0, filter.ErrTruncated},
		{"Rating: 8", 0, filter.ErrNoVerdict},
		{"no verdict at all", 0, filter.ErrNoVerdict},
		{"Rating: [[rating]]", 0, filter.ErrNoVerdict},
		// Only plain decimals are ratings: ParseFloat's other forms would
		// turn a judge's "[[NaN]]" or "[[inf]]" into a number.
		{"Rating: [[NaN]]", 0, filter.ErrNoVerdict},
		{"Rating: [[inf]]", 0, filter.ErrNoVerdict},
		{"Rating: [[Infinity]]", 0, filter.ErrNoVerdict},
		{"Rating: [[0x1p3]]", 0, filter.ErrNoVerdict},
		{"Rating: [[1e1]]", 0, filter.ErrNoVerdict},
		// A reply cut off at the first bracket of a second rating.
		{"Rating: [[7]]\n\nOn reflection, Rating: [", 0, filter.ErrTruncated},
		// A second rating inside an unclosed "[[" is still a second rating.
		{"Rating: [[2]] [[ [[9]]", 0, filter.ErrContradictory},
		{"Rating: [[2]] [[x [[2]]", 2, nil},
		{"", 0, filter.ErrNoVerdict},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := filter.ParseRating(tt.text)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				var pe *filter.ParseError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, tt.text, pe.Raw)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseVerdict(t *testing.T) {
	tests := []struct {
		text  string
		label string
		pref  float64
		err   error
	}{
		{"Assistant A is better. [[A]]", "A", 1, nil},
		{"[[B]]", "B", -1, nil},
		{"It's a tie: [[C]]", "C", 0, nil},
		{"[[tie]]", "C", 0, nil},
		{"My final verdict is: [[A>>B]]", "A>>B", 1, nil},
		{"My final verdict is: [[A>B]]", "A>B", 0.5, nil},
		{"My final verdict is tie: [[A=B]]", "A=B", 0, nil},
		{"[[B>A]]", "B>A", -0.5, nil},
		{"[[B >> A]]", "B>>A", -1, nil},
		{"[[A<B]]", "B>A", -0.5, nil},
		{"[[A]] as I said, [[A]]", "A", 1, nil},
		{"[[A]] no wait [[B]]", "", 0, filter.ErrContradictory},
		{"[[A>B]] or [[A>>B]]", "", 0, filter.ErrContradictory},
		{"My final verdict is: [[A", "", 0, filter.ErrTruncated},
		{"My final verdict is: [[A>", "", 0, filter.ErrTruncated},
		{"My final verdict is: [[B>>A]", "", 0, filter.ErrTruncated},
		{"Assistant A is better.", "", 0, filter.ErrNoVerdict},
		{"[[D]]", "", 0, filter.ErrNoVerdict},
		{"[[A]]\n\nSee [[note]] above. [[A]]", "A", 1, nil},
		{"Verdict: [[B> A", "", 0, filter.ErrTruncated},
		// A second verdict after an unclosed "[[" is not swallowed.
		{"My verdict: [[A]]. [[Wait, [[B]]", "", 0, filter.ErrContradictory},
		{"My verdict: [[A]]. [[Wait, [[A]]", "A", 1, nil},
		{"[[ [[A]]", "A", 1, nil},
		{"Verdict: [[A]]\n\nOn reflection, my final verdict: [ ", "", 0, filter.ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := filter.ParseVerdict(tt.text)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, filter.Verdict{Label: tt.label, Preference: tt.pref}, got)
		})
	}
}

// sharedData returns the path of a file under ../shared/data, skipping the
// test when it is absent.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real data not available (%s): %v", p, err)
	}
	return p
}

func TestParseRatingArenaHard(t *testing.T) {
	path := sharedData(t, "arena_hard/judgment_gpt-3.5-turbo-1106.jsonl")
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var rows, scored, nulls int
	for line := 1; sc.Scan(); line++ {
		var row struct {
			QuestionID string   `json:"question_id"`
			Judgment   string   `json:"judgment"`
			Score      *float64 `json:"score"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &row), "%s:%d", path, line)
		rows++
		got, err := filter.ParseRating(row.Judgment)
		if row.Score != nil {
			scored++
			if assert.NoError(t, err, "%s:%d (%s)", path, line, row.QuestionID) {
				assert.Equal(t, *row.Score, got, "%s:%d (%s)", path, line, row.QuestionID)
			}
			continue
		}
		nulls++
		assert.Error(t, err, "%s:%d (%s): null score but parsed %v", path, line, row.QuestionID, got)
		assert.True(t, errors.Is(err, filter.ErrTruncated) || errors.Is(err, filter.ErrNoVerdict), "%s:%d: %v", path, line, err)
	}
	require.NoError(t, sc.Err())
	t.Logf("%d rows: %d scored rows agree, %d null rows rejected", rows, scored, nulls)
	assert.Equal(t, 300, rows)
}
