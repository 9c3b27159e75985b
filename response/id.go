package response

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/prefdata/prefdata"
)

// idMaker computes prefdata.ResponseID for one generator without
// re-encoding the parts that do not change between calls (model, system
// prompt, sampling). It is checked against prefdata.ResponseID when made and
// falls back to it if the two ever disagree (the root's hash changed).
type idMaker struct {
	model string
	s     prefdata.Sampling
	fast  bool
	tails sync.Map // system prompt → encoded model, system and sampling
}

func newIDMaker(model string, s prefdata.Sampling) *idMaker {
	m := &idMaker{model: model, s: s, fast: true}
	for _, probe := range []struct {
		id, sys string
		i       int
	}{{"p-0123456789abcdef", "", 0}, {"a<b>&c\u2028\"é\\", "Be <brief> & honest.", 7}} {
		if m.id(probe.id, probe.sys, probe.i) != prefdata.ResponseID(probe.id, model, probe.sys, s, probe.i) {
			m.fast = false
			break
		}
	}
	return m
}

func (m *idMaker) tail(sys string) ([]byte, bool) {
	if t, ok := m.tails.Load(sys); ok {
		return t.([]byte), true
	}
	var t []byte
	for _, part := range []any{m.model, sys, m.s} {
		b, err := json.Marshal(part)
		if err != nil {
			return nil, false
		}
		t = append(append(t, b...), '\n')
	}
	m.tails.Store(sys, t)
	return t, true
}

// id returns prefdata.ResponseID(promptID, model, sys, sampling, i).
func (m *idMaker) id(promptID, sys string, i int) string {
	tail, ok := m.tail(sys)
	pj, err := json.Marshal(promptID)
	if !m.fast || !ok || err != nil {
		return prefdata.ResponseID(promptID, m.model, sys, m.s, i)
	}
	var stack [512]byte
	buf := append(stack[:0], pj...)
	buf = append(buf, '\n')
	buf = append(buf, tail...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	buf = append(buf, '\n')
	sum := sha256.Sum256(buf)
	var hx [16]byte
	hex.Encode(hx[:], sum[:8])
	return "r-" + string(hx[:])
}

// identity is the model name the response IDs are made from: the model,
// and the generator's name when it differs from the model's, so two
// generators of one model named apart never collide (and unnamed
// generators keep the IDs they always had).
func (c Config) identity() string {
	if c.Name == "" || c.Name == c.Model {
		return c.Model
	}
	return c.Model + "@" + c.Name
}
