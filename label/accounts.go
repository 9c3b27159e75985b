package label

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
	"unicode"

	"github.com/prefdata/prefdata"
)

// FileAccounts is the run-directory file of the server's accounts: one line
// per token made, changed or revoked, latest line per name counting. Only
// SHA-256 hashes of the tokens are stored, so the file does not let anyone
// in; the links handed out keep working across restarts because the same
// tokens hash the same.
const FileAccounts = "label_accounts.jsonl"

// Roles of an account.
const (
	roleAnnotator = "annotator"
	roleAdmin     = "admin"
)

// adminName is the account name of the dashboard's token.
const adminName = "\x00admin"

// accountLine is one line of FileAccounts.
type accountLine struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Hash    string    `json:"sha256,omitempty"`
	Revoked bool      `json:"revoked,omitempty"`
	Time    time.Time `json:"time"`
}

type account struct {
	name, role string
	hash       [sha256.Size]byte
}

// accounts holds the live accounts of FileAccounts.
type accounts struct {
	dir *prefdata.RunDir

	mu    sync.RWMutex
	list  []account // live accounts, in the order first made
	names map[string]int
	bad   []string
	size  int64 // of the file when last read
}

func openAccounts(dir *prefdata.RunDir) (*accounts, error) {
	a := &accounts{dir: dir}
	return a, a.load()
}

// load (re)reads the file. a.mu is held (or a is not shared yet).
func (a *accounts) load() error {
	a.list, a.names, a.bad = nil, map[string]int{}, nil
	if st, err := os.Stat(a.dir.Path(FileAccounts)); err == nil {
		a.size = st.Size()
	}
	return a.dir.Scan(FileAccounts, func(r prefdata.Record) error {
		var l accountLine
		if err := json.Unmarshal(r.Data, &l); err != nil || l.Name == "" {
			a.bad = append(a.bad, fmt.Sprintf("%s line %d: not an account", FileAccounts, r.Line))
			return nil
		}
		var h [sha256.Size]byte
		if !l.Revoked {
			b, err := hex.DecodeString(l.Hash)
			if err != nil || len(b) != sha256.Size {
				a.bad = append(a.bad, fmt.Sprintf("%s line %d: bad hash", FileAccounts, r.Line))
				return nil
			}
			copy(h[:], b)
		}
		a.apply(l, h)
		return nil
	})
}

// refresh rereads the file when it grew: another server on the same run
// directory added or revoked an account.
func (a *accounts) refresh() {
	st, err := os.Stat(a.dir.Path(FileAccounts))
	if err != nil {
		return
	}
	a.mu.RLock()
	same := st.Size() == a.size
	a.mu.RUnlock()
	if same {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_ = a.load() // on a read error the accounts read so far stand
}

// apply sets or revokes one account. a.mu is held (or a is not shared yet).
func (a *accounts) apply(l accountLine, h [sha256.Size]byte) {
	i, ok := a.names[l.Name]
	switch {
	case l.Revoked && ok:
		a.list = append(a.list[:i], a.list[i+1:]...)
		delete(a.names, l.Name)
		for j := i; j < len(a.list); j++ {
			a.names[a.list[j].name] = j
		}
	case l.Revoked:
	case ok:
		a.list[i].hash, a.list[i].role = h, l.Role
	default:
		a.names[l.Name] = len(a.list)
		a.list = append(a.list, account{name: l.Name, role: l.Role, hash: h})
	}
}

// set makes or changes the account name to tok, writing it to the file
// when it changed.
func (a *accounts) set(name, role, tok string, now time.Time) error {
	h := sha256.Sum256([]byte(tok))
	a.mu.Lock()
	defer a.mu.Unlock()
	if i, ok := a.names[name]; ok && a.list[i].hash == h && a.list[i].role == role {
		return nil
	}
	l := accountLine{Name: name, Role: role, Hash: hex.EncodeToString(h[:]), Time: now.UTC()}
	if err := a.dir.Append(FileAccounts, l); err != nil {
		return err
	}
	a.apply(l, h)
	a.grew()
	return nil
}

// grew notes the file's size after an append of ours. a.mu is held.
func (a *accounts) grew() {
	if st, err := os.Stat(a.dir.Path(FileAccounts)); err == nil {
		a.size = st.Size()
	}
}

func (a *accounts) revoke(name string, now time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.names[name]; !ok {
		return fmt.Errorf("no account %q", name)
	}
	l := accountLine{Name: name, Revoked: true, Time: now.UTC()}
	if err := a.dir.Append(FileAccounts, l); err != nil {
		return err
	}
	a.apply(l, [sha256.Size]byte{})
	a.grew()
	return nil
}

func (a *accounts) has(name string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	_, ok := a.names[name]
	return ok
}

// annotators returns the live annotators' names in the order they were
// first made.
func (a *accounts) annotators() []string {
	a.refresh()
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []string
	for _, ac := range a.list {
		if ac.role == roleAnnotator {
			out = append(out, ac.name)
		}
	}
	return out
}

// lookup finds the account of a token. It hashes the token and compares
// the hash with every account's in constant time, without stopping at a
// match, so the time taken says nothing about which account (if any) is
// near.
func (a *accounts) lookup(tok string) (account, bool) {
	if tok == "" {
		return account{}, false
	}
	a.refresh()
	h := sha256.Sum256([]byte(tok))
	a.mu.RLock()
	defer a.mu.RUnlock()
	found, idx := 0, 0
	for i := range a.list {
		eq := subtle.ConstantTimeCompare(h[:], a.list[i].hash[:])
		idx = subtle.ConstantTimeSelect(eq, i, idx)
		found |= eq
	}
	if found != 1 {
		return account{}, false
	}
	return a.list[idx], true
}

// MinTokenLen is the shortest token the server accepts.
const MinTokenLen = 32

// CheckToken reports why tok is too weak to guard the labeling app, or
// nil: a token is at least [MinTokenLen] characters of letters, digits, '-'
// and '_', with at least 10 different characters (a made-up word or a
// repeated one is refused). [NewToken] makes good ones.
func CheckToken(tok string) error {
	if len(tok) < MinTokenLen {
		return fmt.Errorf("a token must be at least %d characters (this one has %d); leave it out to have a strong random one made", MinTokenLen, len(tok))
	}
	distinct := map[rune]bool{}
	for _, r := range tok {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			return errors.New("a token may only hold letters, digits, '-' and '_'; leave it out to have a strong random one made")
		}
		distinct[r] = true
	}
	if len(distinct) < 10 {
		return fmt.Errorf("a token must mix at least 10 different characters (this one has %d): it looks made up, not random; leave it out to have a strong random one made", len(distinct))
	}
	return nil
}

// checkName reports what is wrong with an annotator's name, or nil.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if len(name) > 64 {
		return fmt.Errorf("name %.20q… is longer than 64 bytes", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '=' || r == ',' {
			return fmt.Errorf("name %q holds a control character, '=' or ','", name)
		}
	}
	return nil
}

func (a *accounts) badLines() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return append([]string(nil), a.bad...)
}
