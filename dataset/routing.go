package dataset

import (
	"fmt"
	"math"
	"strings"

	"github.com/prefdata/prefdata"
)

// The routing section of the card and the report: what a router by goal
// predicted for the AI-labeled pairs and what the audit measured, from the
// last run's [prefdata.Stats].Routing.

func routingGoal(st *prefdata.RoutingStats) string {
	switch st.Goal {
	case "target":
		return fmt.Sprintf("a target accuracy of %g for the AI-labeled pairs", st.Target)
	case "budget":
		return fmt.Sprintf("a budget of %d pairs for people", st.Budget)
	case "threshold":
		return fmt.Sprintf("a fixed probability threshold of %g", st.Threshold)
	}
	return "goal " + st.Goal
}

func (c cardWriter) routing(s Summary) {
	st := s.Stats.Routing
	if !s.HasStats || st == nil {
		return
	}
	c.p("### Routing and accuracy\n\n")
	c.p("A calibrated router split the %s by %s: %.1f%% of them are people's work (%d with people for their label, %d decided by people), and %s of the AI-labeled pairs also went to people, unmarked, as an audit.",
		plural(st.Pairs, "pair", "pairs"), routingGoal(st), 100*st.HumanFraction, st.Human, st.Labeled, plural(st.Audit, "pair", "pairs"))
	c.p(" **Predicted accuracy** of the AI-labeled pairs (the share whose order people would choose): %.3f [%.3f, %.3f].", st.Predicted.Est, st.Predicted.Lo, st.Predicted.Hi)
	if a := st.Audited; a != nil {
		c.p(" **Audited accuracy**, measured: %.3f [%.3f, %.3f] (95%% Wilson interval; people kept the AI's order on %d of %d audited pairs).", a.Est, a.Lo, a.Hi, a.Agree, a.N)
	} else {
		c.p(" **Audited accuracy**: not measured yet (no audited pair labeled by people).")
	}
	if st.HumanLabels > 0 {
		c.p(" The calibrator was fitted on the judges' agreement and %s.", plural(st.HumanLabels, "pair labeled by people", "pairs labeled by people"))
	} else {
		c.p(" The calibrator was fitted on the judges' agreement alone.")
	}
	c.p("\n\n")
	if len(st.Judges) > 0 {
		c.p("| judge | accuracy | position bias | consistent across orders | verdicts |\n|---|---|---|---|---|\n")
		for _, j := range st.Judges {
			c.p("| %s | %.3f [%.3f, %.3f] | %+.3f | %.0f%% | %d |\n", md(j.Judge), j.Accuracy.Est, j.Accuracy.Lo, j.Accuracy.Hi, j.PositionBias.Est, 100*j.Consistency, j.Verdicts)
		}
		c.p("\n")
	}
}

func (r reportWriter) routing(s Summary) {
	st := s.Stats.Routing
	if !s.HasStats || st == nil {
		return
	}
	r.p("<h2>Routing and accuracy</h2>\n")
	r.p("<p>Routed by %s: %d pairs, human share <strong data-human-fraction=\"%s\">%.1f%%</strong> (%d with people, %d decided by people, %d audited). ",
		esc(routingGoal(st)), st.Pairs, num(st.HumanFraction), 100*st.HumanFraction, st.Human, st.Labeled, st.Audit)
	r.p(`Predicted accuracy of the AI-labeled pairs: <strong data-predicted="%s">%.3f [%.3f, %.3f]</strong>. `, num(st.Predicted.Est), st.Predicted.Est, st.Predicted.Lo, st.Predicted.Hi)
	if a := st.Audited; a != nil {
		r.p(`Audited accuracy: <strong data-audited="%s">%.3f [%.3f, %.3f]</strong>, %d of %d audited pairs.`, num(a.Est), a.Est, a.Lo, a.Hi, a.Agree, a.N)
	} else {
		r.p("Audited accuracy: not measured yet.")
	}
	r.p("</p>\n%s\n", curveChart("routing-curve", st))
}

// curveChart draws the predicted accuracy of the AI-labeled pairs against
// the human share, the chosen point marked, the target as a dashed line and
// the audited accuracy with its interval at the chosen share.
func curveChart(id string, st *prefdata.RoutingStats) string {
	const w, h, left, bottom, top, right = 600.0, 300.0, 56.0, 36.0, 12.0, 16.0
	lo := 1.0
	for _, pt := range st.Curve {
		lo = math.Min(lo, pt.Predicted)
	}
	lo = math.Min(lo, st.Predicted.Lo)
	if st.Target > 0 {
		lo = math.Min(lo, st.Target)
	}
	if a := st.Audited; a != nil {
		lo = math.Min(lo, a.Lo)
	}
	lo = math.Max(0, math.Floor(lo*20-0.5)/20) // a 0.05 grid below the lowest value
	if lo >= 1 {
		lo = 0.95
	}
	x := func(f float64) float64 { return left + f*(w-left-right) }
	y := func(v float64) float64 { return top + (1-v)/(1-lo)*(h-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg data-chart="%s" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-label="predicted accuracy of the AI-labeled pairs against the share of pairs sent to people">`,
		esc(id), num(w), num(h), num(w), num(h))
	// Axes and grid.
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>`, short(left), short(y(lo)), short(w-right), short(y(lo)))
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>`, short(left), short(top), short(left), short(y(lo)))
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="11" text-anchor="middle">%g%%</text>`, short(x(f)), short(h-bottom+16), 100*f)
	}
	for v := lo; v <= 1+1e-9; v += (1 - lo) / 4 {
		fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="11" text-anchor="end">%.2f</text>`, short(left-6), short(y(v)+4), v)
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#ddd"/>`, short(left), short(y(v)), short(w-right), short(y(v)))
	}
	fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="12" text-anchor="middle">share of pairs sent to people</text>`, short(left+(w-left-right)/2), short(h-4))
	fmt.Fprintf(&b, `<text x="12" y="%s" font-size="12" text-anchor="middle" transform="rotate(-90 12 %s)">predicted accuracy, AI-labeled</text>`, short(top+(h-top-bottom)/2), short(top+(h-top-bottom)/2))
	if st.Target > 0 {
		fmt.Fprintf(&b, `<line data-target="%s" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-dasharray="5 4"><title>target %g</title></line>`,
			num(st.Target), short(left), short(y(st.Target)), short(w-right), short(y(st.Target)), color(3), st.Target)
	}
	// The curve.
	if len(st.Curve) > 0 {
		pts := make([]string, len(st.Curve))
		for i, pt := range st.Curve {
			pts[i] = short(x(pt.Fraction)) + "," + short(y(pt.Predicted))
		}
		fmt.Fprintf(&b, `<polyline data-series="predicted" data-points="%d" points="%s" fill="none" stroke="%s" stroke-width="2"/>`, len(st.Curve), strings.Join(pts, " "), color(0))
	}
	// The chosen point.
	cx, cy := x(st.HumanFraction), y(st.Predicted.Est)
	fmt.Fprintf(&b, `<line data-series="predicted-interval" data-lo="%s" data-hi="%s" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"/>`,
		num(st.Predicted.Lo), num(st.Predicted.Hi), short(cx), short(y(st.Predicted.Lo)), short(cx), short(y(st.Predicted.Hi)), color(0))
	fmt.Fprintf(&b, `<circle data-chosen="true" data-fraction="%s" data-value="%s" cx="%s" cy="%s" r="5" fill="%s"><title>chosen: %.1f%% to people, predicted %.3f</title></circle>`,
		num(st.HumanFraction), num(st.Predicted.Est), short(cx), short(cy), color(0), 100*st.HumanFraction, st.Predicted.Est)
	// The audit, beside the chosen point.
	if a := st.Audited; a != nil {
		ax := cx + 8
		fmt.Fprintf(&b, `<line data-series="audited-interval" data-lo="%s" data-hi="%s" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"/>`,
			num(a.Lo), num(a.Hi), short(ax), short(y(a.Lo)), short(ax), short(y(a.Hi)), color(1))
		fmt.Fprintf(&b, `<rect data-series="audited" data-value="%s" x="%s" y="%s" width="8" height="8" fill="%s"><title>audited %.3f [%.3f, %.3f], %d of %d</title></rect>`,
			num(a.Est), short(ax-4), short(y(a.Est)-4), color(1), a.Est, a.Lo, a.Hi, a.Agree, a.N)
	}
	// Legend.
	lx := w - right - 190
	fmt.Fprintf(&b, `<rect x="%s" y="%s" width="10" height="10" fill="%s"/><text x="%s" y="%s" font-size="11">predicted (chosen point, interval)</text>`, short(lx), short(top+4), color(0), short(lx+14), short(top+13))
	fmt.Fprintf(&b, `<rect x="%s" y="%s" width="10" height="10" fill="%s"/><text x="%s" y="%s" font-size="11">audited (measured, interval)</text>`, short(lx), short(top+20), color(1), short(lx+14), short(top+29))
	b.WriteString("</svg>")
	return b.String()
}
