package prefdata_test

import (
	"testing"

	"github.com/prefdata/prefdata"
)

// One prompt in NFC and in NFD (decomposed accents, as macOS file names and
// some scrapers write them) has one ContentID.
func TestContentIDIsNFC(t *testing.T) {
	nfc := "Qu'est-ce qu'un caf\u00e9 cr\u00e8me ? \u304c" // é, è, が composed
	nfd := "Qu'est-ce qu'un cafe\u0301 cre\u0300me ? \u304b\u3099"
	if nfc == nfd {
		t.Fatal("test strings are equal")
	}
	a := prefdata.ContentID([]prefdata.Message{{Role: prefdata.RoleUser, Content: nfc}})
	b := prefdata.ContentID([]prefdata.Message{{Role: prefdata.RoleUser, Content: nfd}})
	if a != b {
		t.Errorf("NFC %s and NFD %s differ", a, b)
	}
	// IDs of text already in NFC are what they were before.
	if got := prefdata.ContentID([]prefdata.Message{{Role: prefdata.RoleUser, Content: "Hello  World, caf\u00e9"}}); got != "p-5daef3abc9440484" {
		t.Errorf("ContentID of NFC text changed: %s", got)
	}
}
