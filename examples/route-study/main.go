// Command route-study routes judged pairs by a goal and reports how many
// pairs people had to label and how accurate the AI-labeled rest is
// predicted to be: the study a user runs to pick settings before paying
// annotators.
//
//	go run ./examples/route-study -pairs P.jsonl -human H.jsonl -target 0.9 -seed N -out D.jsonl
//
// P.jsonl holds judged pairs in the library's import format (see package
// filter: ReadJudged); H.jsonl plays the people, one
// {"id", "annotator", "winner"} line per label. Whenever the study sends a
// pair to people (the calibration sample, the pairs the goal routes to
// them, the audit) it reveals one of that pair's labels, drawn by -seed
// (-overlap k: k of them), and counts each revealed label as human work; it
// never reads a label it did not ask for.
//
// The study asks people for a small random calibration sample (-calib
// pairs), then, in rounds, fits the calibrator on every label so far,
// routes by the goal (-target, or -budget, or -threshold) and asks people
// for the routed pairs, until a round asks for nothing new (at most
// -rounds). A random -audit share of the first routing's AI-labeled pairs
// also goes to people (at least -audit-min pairs): their agreement with
// the AI is the measured accuracy. With -audit-by-doubt (on by default)
// each pair is drawn with a known probability that grows with its doubt
// 1-p (-audit-doubt of it in proportion to doubt, the rest uniform;
// filter.Goal.AuditByDoubt), the measured accuracy weights each audited
// pair by its inverse. The fit of the confidence map weighs each label by
// the pairs it stands for (-audit-map-weights, filter.Calibrator.MapWeights):
// an audited pair by its inverse audit probability, a pair routed to
// people by 1, scaled to the labels' effective number.
//
// Judges named "model/strategy" (LLMBar's "GPT-4/Vanilla_NoRules") are
// grouped by model (-judge-blocks, on by default): a model's strategies
// make the same mistakes, so in the calibrator they count as one judge.
// With -leads (on by default), once there are labels the calibrator also
// tries each model leading the panel and keeps a led fit only where the
// labels clearly favour it (filter.Calibrator.Leads). -consistency-lead
// (off by default) also lets the model whose two orders agree most often,
// by a clear margin, lead before any label (filter.Calibrator.ConsistencyLead).
// -consistency-ceiling (on by default) bounds the confidence fitted on the
// labels by what the most order-consistent judge allows
// (filter.Calibrator.ConsistencyCeiling).
//
// D.jsonl gets one line per pair, {"id", "winner": "a"|"b", "by":
// "ai"|"human", "p"}: p (on AI lines) is the estimated probability that the
// AI's winner is right; a human line's winner is the majority of its
// revealed labels, a tie (or a majority of "tie") broken by the AI. Every
// pair gets a winner. The last line printed is
//
//	human H of N pairs (X%); AI-labeled accuracy predicted P [lo, hi]
//
// -curve also prints the human fraction against the predicted accuracy
// over the whole range; with several labels revealed per pair it prints
// their agreement (Krippendorff's alpha).
//
// -table DIR prints the BENCHMARKS.md table over the shared judged sets
// (-sets to pick some, -seeds to average), then the router's final
// accuracy minus each baseline's, paired by seed, with the standard error
// of that mean, which tells a gap from the seeds' noise; -audit, -audit-by-doubt,
// -audit-doubt, -audit-map-weights, -audit-only-weights, -judge-blocks,
// -leads, -consistency-lead, -lead-misfit, -consistency-ceiling,
// -difficulty and -audit-min apply to it as to one study.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/prefdata/prefdata/filter"
	"github.com/prefdata/prefdata/label"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "route-study:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("route-study", flag.ContinueOnError)
	var (
		pairsPath  = fl.String("pairs", "", "judged pairs, JSONL (required)")
		humanPath  = fl.String("human", "", "human labels, JSONL: plays the people (required)")
		outPath    = fl.String("out", "", "where to write the decisions, JSONL (required)")
		target     = fl.Float64("target", 0.9, "accuracy the AI-labeled pairs must keep")
		budget     = fl.Int("budget", -1, "route this many pairs to people instead of a target")
		threshold  = fl.Float64("threshold", 0, "label by AI the pairs whose p is at least this, instead of a target")
		seed       = fl.Uint64("seed", 1, "seed of the random draws (calibration sample, labels revealed, audit, bootstrap)")
		overlap    = fl.Int("overlap", 1, "labels revealed per pair sent to people")
		audit      = fl.Float64("audit", 0.05, "share of the AI-labeled pairs also sent to people to measure accuracy")
		byDoubt    = fl.Bool("audit-by-doubt", true, "draw the audit more often among doubtful pairs (weighted back in the measured accuracy)")
		doubtShare = fl.Float64("audit-doubt", 0.9, "with -audit-by-doubt: the share of each pair's audit probability in proportion to its doubt 1-p, the rest uniform (1: wholly by doubt; 0: filter.Goal's default, 0.5)")
		mapWeights = fl.Bool("audit-map-weights", true, "with -audit-by-doubt: weigh each label in the fit of the confidence map by the pairs it stands for, an audit label by its inverse audit probability, any other by 1, scaled to the labels' effective number (filter.Calibrator.MapWeights)")
		auditOnly  = fl.Bool("audit-only-weights", false, "with -audit-map-weights: the older weights, the audit's labels alone weighted, by 1/pi scaled to a mean of 1")
		auditMin   = fl.Int("audit-min", 0, "with -audit: audit at least this many pairs (a small set's 5% may be too few labels to measure or calibrate from)")
		blocks     = fl.Bool("judge-blocks", true, "judges named model/strategy: the strategies of one model count as one correlated judge")
		calib      = fl.Int("calib", 0, "random pairs sent to people before the first fit")
		rounds     = fl.Int("rounds", 5, "at most this many rounds of fit, route, ask")
		boot       = fl.Int("bootstrap", 40, "bootstrap refits behind the intervals")
		curve      = fl.Bool("curve", false, "also print human fraction against predicted accuracy over the whole range")
		tableDir   = fl.String("table", "", "instead of one study: print the benchmark table over the shared judged sets in this directory")
		seeds      = fl.Int("seeds", 10, "with -table: seeds 1..n averaged")
		sets       = fl.String("sets", "", "with -table: comma-separated sets (default all three)")
		difficulty = fl.Bool("difficulty", false, "a latent easy/hard class per pair, each judge with its own accuracy on each (filter.Calibrator.Difficulty)")
		consCeil   = fl.Bool("consistency-ceiling", true, "bound the fitted ceiling by the most order-consistent judge's accuracy where its orders agree (filter.Calibrator.ConsistencyCeiling)")
		consLead   = fl.Bool("consistency-lead", true, "with -leads: the judge block whose orders agree most often, by a clear margin, leads even before labels (filter.Calibrator.ConsistencyLead)")
		misfit     = fl.Bool("lead-misfit", true, "with -consistency-lead: the most consistent block leads only where the full panel's fit misjudges it (its orders agree significantly more often than the fit predicts; filter.Calibrator.LeadMisfit)")
		lead       = fl.Bool("leads", true, "with enough labels, let one judge block lead the fit where the labels favour it over the full panel (filter.Calibrator.Leads)")
	)
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *tableDir != "" {
		// The table reads its settings from the bench variables; they are
		// put back when it is done, so one run does not change the next.
		oldSets, oldBlocks, oldLead, oldConsLead, oldConsCeil, oldAuditMin, oldDifficulty, oldAudit, oldShare, oldByDoubt, oldMapW, oldMisfit, oldAuditOnly := benchSets, benchBlocks, benchLead, benchConsLead, benchConsCeil, benchAuditMin, benchDifficulty, benchAudit, benchDoubtShare, benchByDoubt, benchMapWeights, benchMisfit, benchAuditOnly
		defer func() {
			benchSets, benchBlocks, benchLead, benchConsLead, benchConsCeil, benchAuditMin, benchDifficulty, benchAudit, benchDoubtShare, benchByDoubt, benchMapWeights, benchMisfit, benchAuditOnly = oldSets, oldBlocks, oldLead, oldConsLead, oldConsCeil, oldAuditMin, oldDifficulty, oldAudit, oldShare, oldByDoubt, oldMapW, oldMisfit, oldAuditOnly
		}()
		if *sets != "" {
			benchSets = strings.Split(*sets, ",")
		}
		benchBlocks, benchLead, benchConsLead, benchConsCeil, benchAuditMin, benchDifficulty = *blocks, *lead, *consLead, *consCeil, *auditMin, *difficulty
		benchAudit, benchDoubtShare, benchByDoubt, benchMapWeights, benchMisfit, benchAuditOnly = *audit, *doubtShare, *byDoubt, *mapWeights, *misfit, *auditOnly
		_, err := table(stdout, *tableDir, *seeds, *boot)
		return err
	}
	switch {
	case *pairsPath == "" || *humanPath == "" || *outPath == "":
		return errors.New("-pairs, -human and -out are required")
	case *overlap < 1:
		return errors.New("-overlap must be at least 1")
	case *audit < 0 || *audit > 1:
		return errors.New("-audit must be in [0, 1]")
	case *doubtShare < 0 || *doubtShare > 1:
		return errors.New("-audit-doubt must be in [0, 1]")
	case *target <= 0 || *target > 1:
		return errors.New("-target must be in (0, 1]")
	case *budget >= 0 && *threshold > 0:
		return errors.New("-budget and -threshold exclude each other")
	}
	goal := filter.TargetAccuracy(*target)
	switch {
	case *budget >= 0:
		goal = filter.HumanBudget(*budget)
	case *threshold > 0:
		goal = filter.FixedThreshold(*threshold)
	}
	pairs, err := filter.ReadJudgedFile(*pairsPath)
	if err != nil {
		return err
	}
	labels, err := filter.ReadHumanLabelsFile(*humanPath)
	if err != nil {
		return err
	}
	if len(pairs) == 0 {
		return fmt.Errorf("%s: no pairs", *pairsPath)
	}
	nCalib := *calib
	pp := newPeople(labels, *overlap, *seed)
	res, err := study(pairs, pp, studyConfig{goal: goal, audit: *audit, calib: nCalib, rounds: *rounds, seed: *seed, bootstrap: *boot, byDoubt: *byDoubt, doubtShare: *doubtShare, mapWeights: *mapWeights, auditOnly: *auditOnly, blocks: *blocks, lead: *lead, consLead: *consLead, consCeil: *consCeil, difficulty: *difficulty, auditMin: *auditMin, misfit: *misfit})
	if err != nil {
		return err
	}
	if err := writeLines(*outPath, res.lines); err != nil {
		return err
	}
	for _, j := range res.cal.Judges {
		fmt.Fprintf(stdout, "judge %s: accuracy %v, position bias %+.3f, consistency %.3f\n", j.Judge, j.Accuracy, j.PositionBias.Est, j.Consistency)
	}
	fmt.Fprintf(stdout, "calibration: %d labeled pairs, temper %.2f, %d rounds\n", res.cal.Labeled, res.cal.Temper, res.rounds)
	if *curve {
		fmt.Fprintln(stdout, "human fraction  predicted accuracy")
		pts := res.cal.Curve()
		step := max(1, len(pts)/20)
		for k, pt := range pts {
			if k%step == 0 || k == len(pts)-1 {
				fmt.Fprintf(stdout, "%.3f  %.3f\n", pt.Fraction, pt.Predicted)
			}
		}
	}
	if alpha, n, ok := agreement(pp); ok {
		fmt.Fprintf(stdout, "annotators' agreement on %d pairs with several labels: Krippendorff's alpha %.3f\n", n, alpha)
	} else if n > 0 {
		fmt.Fprintf(stdout, "annotators' agreement: not enough data on %d pairs with several labels\n", n)
	}
	if res.audited > 0 {
		fmt.Fprintf(stdout, "audit: %d pairs; measured accuracy %v\n",
			res.audited, res.measured)
	}
	if *overlap > 1 {
		fmt.Fprintf(stdout, "human labels: %d\n", pp.work)
	}
	n := len(res.lines)
	fmt.Fprintf(stdout, "human %d of %d pairs (%.1f%%); AI-labeled accuracy predicted %.3f [%.3f, %.3f]\n",
		res.human, n, 100*float64(res.human)/float64(n), res.predicted.Est, res.predicted.Lo, res.predicted.Hi)
	return nil
}

// agreement is Krippendorff's alpha (nominal) over the revealed labels of
// the pairs with at least two; n counts those pairs.
func agreement(pp *people) (alpha float64, n int, ok bool) {
	col := map[string]int{}
	var units []map[string]int
	for _, id := range sortedIDs(pp.revealed) {
		ls := pp.revealed[id]
		if len(ls) < 2 {
			continue
		}
		u := map[string]int{}
		for _, l := range ls {
			if _, ok := col[l.Annotator]; !ok {
				col[l.Annotator] = len(col)
			}
			u[l.Annotator] = map[string]int{"a": 0, "b": 1, "tie": 2}[l.Winner]
		}
		units = append(units, u)
	}
	if len(units) == 0 {
		return 0, 0, false
	}
	names := sortedIDs(col)
	r := make(label.Ratings, len(units))
	for k, u := range units {
		r[k] = make([]int, len(names))
		for c, name := range names {
			v, ok := u[name]
			if !ok {
				v = label.Missing
			}
			r[k][c] = v
		}
	}
	a, err := label.KrippendorffAlpha(r, label.Nominal)
	if err != nil {
		return 0, len(units), false
	}
	return a, len(units), true
}

func writeLines(path string, lines []outLine) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
