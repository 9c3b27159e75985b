package dataset_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/dataset"
)

func ExampleNewWriter() {
	pair := prefdata.Pair{
		ID: "pair-1",
		Prompt: prefdata.Prompt{ID: "p-1", Messages: []prefdata.Message{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Content: "What is the capital of France?"},
		}},
		Chosen:   prefdata.Response{Model: "big", Text: "Paris."},
		Rejected: prefdata.Response{Model: "small", Text: "Lyon."},
		Margin:   2,
	}
	w, err := dataset.NewWriter(os.Stdout, dataset.TRLConversational, dataset.Options{Margin: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.WritePair(context.Background(), pair); err != nil {
		log.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// {"prompt":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is the capital of France?"}],"chosen":[{"role":"assistant","content":"Paris."}],"rejected":[{"role":"assistant","content":"Lyon."}],"margin":2}
}

func ExampleNewReader() {
	rows := `{"chosen":"\n\nHuman: Hi\n\nAssistant: Hello! How can I help?","rejected":"\n\nHuman: Hi\n\nAssistant: What."}
`
	r, err := dataset.NewReader(strings.NewReader(rows), "hh.jsonl", dataset.HHRLHF)
	if err != nil {
		log.Fatal(err)
	}
	p, err := r.Read()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("prompt %q\nchosen %q\nrejected %q\n", p.Prompt.Text(), p.Chosen.Text, p.Rejected.Text)
	// Output:
	// prompt "Hi"
	// chosen "Hello! How can I help?"
	// rejected "What."
}

// Example shows the calls a program makes around a run: a Folder as the
// pipeline's sink (train/test split by prompt, one configuration per
// deciding stage), then the summary of the run directory, the dataset card
// and the report.
func Example() {
	tmp, err := os.MkdirTemp("", "prefdata-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	runDir, err := prefdata.OpenRunDir(filepath.Join(tmp, "run"))
	if err != nil {
		log.Fatal(err)
	}
	defer runDir.Close()
	outDir := filepath.Join(tmp, "out")

	folder, err := dataset.NewFolder(outDir, dataset.TRLConversational, dataset.FolderOptions{
		Options:      dataset.Options{Provenance: true},
		TestFraction: 0.2,
		ByStage:      true,
	})
	if err != nil {
		log.Fatal(err)
	}
	var prompts []prefdata.Prompt
	for _, q := range []string{"Name a prime.", "Name a colour.", "Name a planet.", "Name a river.", "Name a tree."} {
		prompts = append(prompts, prefdata.Prompt{Messages: []prefdata.Message{{Role: "user", Content: q}}, Source: "example", Category: "naming"})
	}
	p := &prefdata.Pipeline{
		Source: prefdata.Prompts(prompts...),
		// Stand-ins for a real generator and labeler.
		Generators: []prefdata.Generator{prefdata.GeneratorFunc(func(ctx context.Context, pr prefdata.Prompt) ([]prefdata.Response, error) {
			return []prefdata.Response{
				{ID: pr.ID + "-good", PromptID: pr.ID, Model: "big", Text: "A fine answer."},
				{ID: pr.ID + "-bad", PromptID: pr.ID, Model: "small", Text: "Eh."},
			}, nil
		})},
		Labeler: prefdata.LabelerFunc(func(ctx context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) {
			return []prefdata.Pair{{Prompt: c.Prompt, Chosen: c.Responses[0], Rejected: c.Responses[1], ScoreChosen: 1}}, nil
		}),
		Sink: folder, // the pipeline calls folder.Flush at the end
		Dir:  runDir,
	}
	if _, err := p.Run(context.Background()); err != nil {
		log.Fatal(err)
	}

	summary, err := dataset.Summarize(runDir)
	if err != nil {
		log.Fatal(err)
	}
	// summary.Human.Agreement = &dataset.Agreement{...} when people labeled.
	if err := dataset.WriteCardFile(outDir, summary, dataset.CardOptions{
		Title: "Example preferences", Format: dataset.TRLConversational, Files: folder.Files(),
	}); err != nil {
		log.Fatal(err)
	}
	if err := dataset.WriteReportFiles(outDir, summary, dataset.ReportOptions{}); err != nil {
		log.Fatal(err)
	}

	for _, f := range folder.Files() {
		fmt.Printf("%s/%s: %s, %d rows\n", f.Config, f.Split, f.Path, f.Rows)
	}
	for _, name := range []string{dataset.FileCard, dataset.FileReport, dataset.FileSummary} {
		if _, err := os.Stat(filepath.Join(outDir, name)); err == nil {
			fmt.Println("wrote", name)
		}
	}
	fmt.Println("pairs in the journal:", summary.Pairs.Total)
	// Output:
	// default/train: data/train.jsonl, 4 rows
	// default/test: data/test.jsonl, 1 rows
	// stage3/train: stage3/train.jsonl, 4 rows
	// stage3/test: stage3/test.jsonl, 1 rows
	// wrote README.md
	// wrote report.html
	// wrote summary.json
	// pairs in the journal: 5
}

func ExampleSplitOf() {
	// The split depends only on the prompt ID and the seed.
	for _, id := range []string{"p-1", "p-2", "p-3", "p-4"} {
		fmt.Println(id, dataset.SplitOf(id, "v1", 0.5))
	}
	// Output:
	// p-1 train
	// p-2 test
	// p-3 train
	// p-4 train
}

// A summary that follows a run: started before the run writes, it takes the
// responses and the filters' records as they are written, so that little
// is left to read when the run is over.
func ExampleFollowSummary() {
	tmp, err := os.MkdirTemp("", "prefdata-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	runDir, err := prefdata.OpenRunDir(filepath.Join(tmp, "run"))
	if err != nil {
		log.Fatal(err)
	}
	defer runDir.Close()

	pending := dataset.FollowSummary(runDir)
	defer pending.Wait() // stops following if the run fails
	p := &prefdata.Pipeline{
		Source: prefdata.Prompts(
			prefdata.Prompt{Messages: []prefdata.Message{{Role: "user", Content: "Name a prime."}}},
			prefdata.Prompt{Messages: []prefdata.Message{{Role: "user", Content: "Name a planet."}}},
		),
		Generators: []prefdata.Generator{prefdata.GeneratorFunc(func(ctx context.Context, pr prefdata.Prompt) ([]prefdata.Response, error) {
			return []prefdata.Response{
				{ID: pr.ID + "-a", PromptID: pr.ID, Model: "big", Text: "A fine answer."},
				{ID: pr.ID + "-b", PromptID: pr.ID, Model: "small", Text: "Eh."},
			}, nil
		})},
		Labeler: prefdata.LabelerFunc(func(ctx context.Context, c prefdata.Candidate) ([]prefdata.Pair, error) {
			return []prefdata.Pair{{Prompt: c.Prompt, Chosen: c.Responses[0], Rejected: c.Responses[1]}}, nil
		}),
		Sink: prefdata.SinkFunc(func(ctx context.Context, p prefdata.Pair) error { return nil }),
		Dir:  runDir,
	}
	if _, err := p.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	summary, err := pending.Summary()
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range summary.Models {
		fmt.Printf("%s: %d responses\n", m.Model, m.Responses)
	}
	fmt.Println("pairs:", summary.Pairs.Total)
	// Output:
	// big: 2 responses
	// small: 2 responses
	// pairs: 2
}
