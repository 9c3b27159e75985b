package dataset

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prefdata/prefdata"
)

func routedSummary(t *testing.T, audited *prefdata.Measured) Summary {
	t.Helper()
	dir, err := prefdata.OpenRunDir(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	st := prefdata.Stats{PairsAI: 90, PairsHuman: 10, Routing: &prefdata.RoutingStats{
		Goal: "target", Target: 0.9, Pairs: 100, Human: 6, Audit: 4, Labeled: 0, HumanFraction: 0.1,
		Predicted: prefdata.Estimate{Est: 0.912, Lo: 0.88, Hi: 0.94},
		Audited:   audited,
		Curve: []prefdata.CurvePoint{
			{Human: 0, Fraction: 0, Predicted: 0.85}, {Human: 10, Fraction: 0.1, Predicted: 0.912},
			{Human: 50, Fraction: 0.5, Predicted: 0.97}, {Human: 100, Fraction: 1, Predicted: 1},
		},
		Judges: []prefdata.JudgeEstimate{{Judge: "judge:gpt", Accuracy: prefdata.Estimate{Est: 0.83, Lo: 0.8, Hi: 0.86}, PositionBias: prefdata.Estimate{Est: 0.12}, Consistency: 0.8, Verdicts: 200}},
	}}
	// What the pipeline writes at the end of a run (Pipeline.AddStats set
	// Routing) is what the summary reads back.
	require.NoError(t, dir.WriteManifest(prefdata.Manifest{Version: 1, Stats: &st}))
	s, err := Summarize(dir)
	require.NoError(t, err)
	require.NotNil(t, s.Stats.Routing)
	return s
}

func TestCardStatesPredictedAndAuditedAccuracy(t *testing.T) {
	s := routedSummary(t, &prefdata.Measured{Estimate: prefdata.Estimate{Est: 0.875, Lo: 0.69, Hi: 0.96}, Agree: 7, N: 8})
	var b bytes.Buffer
	require.NoError(t, WriteCard(&b, s, CardOptions{Format: TRLConversational}))
	card := b.String()
	assert.Contains(t, card, "### Routing and accuracy")
	assert.Contains(t, card, "a target accuracy of 0.9 for the AI-labeled pairs")
	assert.Contains(t, card, "**Predicted accuracy** of the AI-labeled pairs (the share whose order people would choose): 0.912 [0.880, 0.940]")
	assert.Contains(t, card, "**Audited accuracy**, measured: 0.875 [0.690, 0.960]")
	assert.Contains(t, card, "7 of 8 audited pairs")
	assert.Contains(t, card, "| judge:gpt | 0.830 [0.800, 0.860] | +0.120 | 80% | 200 |")

	s = routedSummary(t, nil)
	b.Reset()
	require.NoError(t, WriteCard(&b, s, CardOptions{Format: TRLConversational}))
	assert.Contains(t, b.String(), "**Audited accuracy**: not measured yet")
}

func TestReportDrawsTheRoutingCurve(t *testing.T) {
	s := routedSummary(t, &prefdata.Measured{Estimate: prefdata.Estimate{Est: 0.875, Lo: 0.69, Hi: 0.96}, Agree: 7, N: 8})
	var b bytes.Buffer
	require.NoError(t, WriteReport(&b, s, ReportOptions{}))
	page := b.String()
	chart := regexp.MustCompile(`<svg data-chart="routing-curve".*?</svg>`).FindString(page)
	require.NotEmpty(t, chart, "the curve is drawn")
	assert.Contains(t, chart, `data-series="predicted" data-points="4"`)
	assert.Contains(t, chart, `data-chosen="true" data-fraction="0.1" data-value="0.912"`, "the chosen point is marked")
	assert.Contains(t, chart, `data-series="predicted-interval" data-lo="0.88" data-hi="0.94"`)
	assert.Contains(t, chart, `data-series="audited-interval" data-lo="0.69" data-hi="0.96"`, "the audit with its interval")
	assert.Contains(t, chart, `data-series="audited" data-value="0.875"`)
	assert.Contains(t, chart, `data-target="0.9"`)
	assert.Contains(t, page, `data-audited="0.875"`)

	// No routing by goal: no section.
	s.Stats.Routing = nil
	b.Reset()
	require.NoError(t, WriteReport(&b, s, ReportOptions{}))
	assert.NotContains(t, b.String(), "routing-curve")
}
