package prompt_test

import (
	"context"
	"testing"

	"github.com/prefdata/prefdata"
	"github.com/prefdata/prefdata/prompt"
)

// One prompt in NFC and in NFD is one prompt to every dedup.
func TestDedupNFCAndNFD(t *testing.T) {
	nfc := prefdata.Prompt{ID: "nfc", Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: "Écris un poème sur la forêt enneigée, s'il te plaît. Ça doit rimer."}}}
	nfd := prefdata.Prompt{ID: "nfd", Messages: []prefdata.Message{{Role: prefdata.RoleUser, Content: "E\u0301cris un poe\u0300me sur la fore\u0302t enneige\u0301e, s'il te plai\u0302t. C\u0327a doit rimer."}}}
	if nfc.Messages[0].Content == nfd.Messages[0].Content {
		t.Fatal("the two forms are byte-equal")
	}
	if got, want := prompt.Normalize(nfd.Messages[0].Content), prompt.Normalize(nfc.Messages[0].Content); got != want {
		t.Errorf("Normalize: %q vs %q", got, want)
	}
	if a, b := prefdata.ContentID(nfc.Messages), prefdata.ContentID(nfd.Messages); a != b {
		t.Errorf("ContentID %s vs %s", a, b)
	}
	ctx := context.Background()
	exact := prompt.NewExactDedup()
	if _, err := exact.FilterPrompt(ctx, nfc); err != nil {
		t.Fatal(err)
	}
	if _, err := exact.FilterPrompt(ctx, nfd); err == nil {
		t.Error("ExactDedup kept the NFD copy of a kept NFC prompt")
	}
	near, err := prompt.NewNearDedup(prompt.NearDedupConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := near.FilterPrompt(ctx, nfd); err != nil {
		t.Fatal(err)
	}
	if _, err := near.FilterPrompt(ctx, nfc); err == nil {
		t.Error("NearDedup kept the NFC copy of a kept NFD prompt")
	}
}
