package openai

import (
	"encoding/json"

	"github.com/llmeter-go/llmeter/internal/jsonscan"
)

// The fast path decodes the common chunk shape without encoding/json's
// per-call allocations (about nine per chunk): the input is first checked
// with json.Valid (which does not allocate), then scanned (internal/jsonscan)
// for exactly the fields the parser uses. Whenever a chunk holds anything
// whose decoding is not trivially identical to encoding/json's (a non-null
// usage or error, a key spelled in another case or with escapes, a duplicate
// key, a value of an unexpected type), it declines and the caller falls back
// to encoding/json. FuzzFastChunk checks the two agree.

// fastChunk is what the fast path extracts.
type fastChunk struct {
	id      []byte // the unquoted id (aliases data or idBuf); nil if absent
	index   int    // choices[0].index
	content []byte // choices[0].delta.content, unquoted (aliases data or buf)
	buf     []byte // scratch for unescaped content
	idBuf   []byte // scratch for an unescaped id
}

// The keys the fast path reads, by level.
const (
	chunkID = iota
	chunkChoices
	chunkUsage
	chunkError
)

const (
	choiceIndex = iota
	choiceDelta
)

var (
	chunkKeys  = []string{chunkID: "id", chunkChoices: "choices", chunkUsage: "usage", chunkError: "error"}
	choiceKeys = []string{choiceIndex: "index", choiceDelta: "delta"}
	deltaKeys  = []string{"content"}
)

// decode fills f from data and reports whether it could; false means "use
// encoding/json".
func (f *fastChunk) decode(data []byte) bool {
	f.id, f.index, f.content = nil, 0, nil
	if !json.Valid(data) {
		return false
	}
	s := jsonscan.New(data)
	return s.Fields(chunkKeys, func(i int) bool {
		switch i {
		case chunkID:
			var ok bool
			f.id, ok = s.StrOrNull(&f.idBuf)
			return ok
		case chunkChoices:
			// The first choice only; the others are skipped.
			return s.Null() || s.Array(func(i int) bool {
				if i > 0 {
					s.Skip()
					return true
				}
				return s.Null() || f.choice(&s)
			})
		default: // usage, error: only null is handled here
			return s.Null()
		}
	})
}

func (f *fastChunk) choice(s *jsonscan.Scanner) bool {
	return s.Fields(choiceKeys, func(i int) bool {
		switch i {
		case choiceIndex:
			if s.Null() {
				return true
			}
			n, ok := s.SmallInt()
			f.index = n
			return ok
		default: // delta
			return s.Null() || s.Fields(deltaKeys, func(int) bool {
				var ok bool
				f.content, ok = s.StrOrNull(&f.buf)
				return ok
			})
		}
	})
}
