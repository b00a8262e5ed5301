package anthropic

import (
	"encoding/json"

	"github.com/llmeter-go/llmeter/internal/jsonscan"
)

// The fast path decodes the events that make up almost all of a stream
// (content_block_delta, and the content_block_start/stop, ping and
// message_stop events of streams without event names) without
// encoding/json's per-call allocations: the input is first checked with
// json.Valid (which does not allocate), then scanned (internal/jsonscan) for
// exactly the fields the parser uses: the event's "type", and its delta's
// "type" and "text". Whenever an event holds anything whose decoding is not
// trivially identical to encoding/json's (a non-null message, usage or
// error, a key spelled in another case or with escapes, a duplicate key, a
// value of an unexpected type), it declines and the caller falls back to
// encoding/json. FuzzFastEvent checks the two agree.

// fastEvent is what the fast path extracts.
type fastEvent struct {
	typ       []byte // the event's "type", unquoted (aliases data or typBuf); nil if absent
	deltaType []byte // delta.type
	text      []byte // delta.text
	typBuf    []byte // scratch for unescaped values
	dtBuf     []byte
	textBuf   []byte
}

// The keys the fast path reads: an event's, and its delta's.
const (
	eventType = iota
	eventDelta
	eventMessage
	eventUsage
	eventError
)

const (
	deltaType = iota
	deltaText
)

var (
	eventKeys = []string{eventType: "type", eventDelta: "delta", eventMessage: "message", eventUsage: "usage",
		eventError: "error"}
	deltaKeys = []string{deltaType: "type", deltaText: "text"}
)

// decode fills f from data and reports whether it could; false means "use
// encoding/json".
func (f *fastEvent) decode(data []byte) bool {
	f.typ, f.deltaType, f.text = nil, nil, nil
	if !json.Valid(data) {
		return false
	}
	s := jsonscan.New(data)
	return s.Fields(eventKeys, func(i int) bool {
		switch i {
		case eventType:
			var ok bool
			f.typ, ok = s.StrOrNull(&f.typBuf)
			return ok
		case eventDelta:
			return s.Null() || s.Fields(deltaKeys, func(i int) bool {
				var ok bool
				if i == deltaType {
					f.deltaType, ok = s.StrOrNull(&f.dtBuf)
				} else {
					f.text, ok = s.StrOrNull(&f.textBuf)
				}
				return ok
			})
		default: // message, usage, error: only null is handled here
			return s.Null()
		}
	})
}
