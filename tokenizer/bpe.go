package tokenizer

import (
	"math"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// bpe is the byte-pair-encoding core shared by the tiktoken encodings and
// Hugging Face BPE models. It splits one pre-token ("piece") into initial
// symbols, then repeatedly merges the adjacent pair of lowest rank, the
// leftmost one first, until no pair can merge.
//
// The two families differ only in how a pair is ranked:
//
//   - tiktoken (ranks != nil): a pair's rank is the rank of the byte string
//     it spans, and that rank is also the token id. Initial symbols are the
//     piece's bytes.
//   - Hugging Face (merges != nil): the rank of a pair of ids is the line of
//     that merge in "merges"; the merge yields the id of the concatenated
//     token. Initial symbols are bytes (byte-level models, whose vocabulary
//     is stored here by raw bytes rather than by GPT-2's byte-to-character
//     mapping) or characters, with unknown characters going to byte fallback
//     (<0xNN>) or the unknown token.
//
// Short pieces are merged by tiktoken's linear scan; long ones with a
// priority queue (Hugging Face's algorithm), O(n log n), so a long run of
// one character, or a SentencePiece model with no pre-tokenizer that sees
// the whole text as one piece, stays fast.
type bpe struct {
	ranks  map[string]int32 // tiktoken: token bytes → rank (= id)
	merges map[uint64]merge // Hugging Face: left<<32|right → merge

	byteMode bool       // initial symbols are bytes
	byteID   [256]int32 // byte mode: id of each byte, -1 if none

	// Hugging Face model options.
	vocab        map[string]int32 // token → id, in piece space
	prefix       string           // continuing_subword_prefix
	suffix       string           // end_of_word_suffix
	unk          int32            // unk_token id, -1 if none
	fuseUnk      bool
	byteFallback bool
	fallbackID   [256]int32 // ids of <0x00>…<0xFF>, -1 if missing
	ignoreMerges bool

	// whole memoizes, per vocabulary id, whether a piece equal to that
	// token encodes to the token itself (0 unknown, 1 yes, 2 no). tiktoken
	// assumes yes; Hugging Face checks, unless ignore_merges.
	whole []atomic.Uint32
}

type merge struct{ rank, id int32 }

const noRank = math.MaxInt32

// linearMax is the longest piece merged by linear scan (tiktoken's
// algorithm); longer ones use the priority queue. Tests vary it.
var linearMax = 48

type symbol struct {
	id, start, end int32
	prev, next     int32
}

type heapEntry struct{ rank, pos, id int32 }

type scratch struct {
	syms []symbol
	heap []heapEntry
	st   []int32
	rk   []int32
	ids  []int32
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch   { return scratchPool.Get().(*scratch) }
func putScratch(sc *scratch) { scratchPool.Put(sc) }

// encode appends the ids of piece to out.
func (b *bpe) encode(sc *scratch, piece string, out []int) []int {
	if id, ok := b.wholeToken(sc, piece); ok {
		return append(out, int(id))
	}
	for _, id := range b.merge(sc, piece) {
		out = append(out, int(id))
	}
	return out
}

// count returns the number of tokens of piece.
func (b *bpe) count(sc *scratch, piece string) int {
	if _, ok := b.wholeToken(sc, piece); ok {
		return 1
	}
	return len(b.merge(sc, piece))
}

// wholeToken reports whether piece encodes to the single token that has
// its text.
func (b *bpe) wholeToken(sc *scratch, piece string) (int32, bool) {
	if b.ranks != nil {
		id, ok := b.ranks[piece]
		return id, ok
	}
	id, ok := b.vocab[piece]
	if !ok {
		return 0, false
	}
	if b.ignoreMerges {
		return id, true
	}
	if int(id) >= len(b.whole) {
		return 0, false
	}
	w := &b.whole[id]
	switch w.Load() {
	case 1:
		return id, true
	case 2:
		return 0, false
	}
	ids := b.merge(sc, piece)
	self := len(ids) == 1 && ids[0] == id
	if self {
		w.Store(1)
	} else {
		w.Store(2)
	}
	return id, self
}

// merge returns the ids of piece after all merges, in sc.ids.
func (b *bpe) merge(sc *scratch, piece string) []int32 {
	if b.ranks != nil && len(piece) <= linearMax {
		return b.mergeLinear(sc, piece)
	}
	b.initSymbols(sc, piece)
	b.mergeHeap(sc, piece)
	ids := sc.ids[:0]
	for k := int32(0); len(sc.syms) > 0 && k >= 0; k = sc.syms[k].next {
		ids = append(ids, sc.syms[k].id)
	}
	sc.ids = ids
	return ids
}

func (b *bpe) rank(s string) int32 {
	if r, ok := b.ranks[s]; ok {
		return r
	}
	return noRank
}

// mergeLinear is tiktoken's _byte_pair_merge: keep the boundaries of the
// symbols and the rank of each adjacent pair, merge the leftmost pair of
// lowest rank, update its neighbours, repeat. Byte mode, tiktoken only.
func (b *bpe) mergeLinear(sc *scratch, piece string) []int32 {
	n := len(piece)
	st, rk, ids := sc.st[:0], sc.rk[:0], sc.ids[:0]
	for i := 0; i <= n; i++ {
		st = append(st, int32(i))
	}
	for i := 0; i < n; i++ {
		ids = append(ids, b.byteID[piece[i]])
	}
	for i := 0; i+1 < n; i++ {
		rk = append(rk, b.rank(piece[i:i+2]))
	}
	for {
		minRank, at := int32(noRank), -1
		for k, r := range rk {
			if r < minRank {
				minRank, at = r, k
			}
		}
		if at < 0 {
			break
		}
		ids[at] = minRank
		st = append(st[:at+1], st[at+2:]...)
		ids = append(ids[:at+1], ids[at+2:]...)
		rk = append(rk[:at], rk[at+1:]...)
		if at > 0 {
			rk[at-1] = b.rank(piece[st[at-1]:st[at+1]])
		}
		if at < len(rk) {
			rk[at] = b.rank(piece[st[at]:st[at+2]])
		}
	}
	sc.st, sc.rk, sc.ids = st, rk, ids
	return ids
}

// initSymbols fills sc.syms with the initial symbols of piece, linked in
// order.
func (b *bpe) initSymbols(sc *scratch, piece string) {
	syms := sc.syms[:0]
	add := func(id int32, start, end int) {
		syms = append(syms, symbol{id: id, start: int32(start), end: int32(end)})
	}
	if b.byteMode {
		pendUnk, pendStart := false, 0
		for i := 0; i < len(piece); i++ {
			id := b.byteID[piece[i]]
			if id >= 0 {
				if pendUnk {
					add(b.unk, pendStart, i)
					pendUnk = false
				}
				add(id, i, i+1)
				continue
			}
			if b.unk < 0 {
				continue
			}
			if pendUnk && !b.fuseUnk {
				add(b.unk, pendStart, i)
				pendUnk = false
			}
			if !pendUnk {
				pendUnk, pendStart = true, i
			}
		}
		if pendUnk {
			add(b.unk, pendStart, len(piece))
		}
	} else {
		b.initChars(piece, add)
	}
	for k := range syms {
		syms[k].prev = int32(k - 1)
		syms[k].next = int32(k + 1)
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	sc.syms = syms
}

// initChars is Hugging Face's BPE::merge_word before the merges: one symbol
// per character, found in the vocabulary with continuing_subword_prefix and
// end_of_word_suffix; an unknown character becomes its <0xNN> byte tokens
// (byte_fallback) or the unknown token, consecutive ones fused with
// fuse_unk; with neither, it is dropped.
func (b *bpe) initChars(piece string, add func(id int32, start, end int)) {
	unkStart, unkEnd := -1, -1 // pending unknown span
	for i := 0; i < len(piece); {
		_, w := utf8.DecodeRuneInString(piece[i:])
		key := piece[i : i+w]
		if i > 0 && b.prefix != "" {
			key = b.prefix + key
		}
		if i+w == len(piece) && b.suffix != "" {
			key += b.suffix
		}
		if id, ok := b.vocab[key]; ok {
			if unkStart >= 0 {
				add(b.unk, unkStart, unkEnd)
				unkStart = -1
			}
			add(id, i, i+w)
			i += w
			continue
		}
		if b.byteFallback && b.fallback(key) {
			for j := 0; j < len(key); j++ {
				add(b.fallbackID[key[j]], i, i+w)
			}
			i += w
			continue
		}
		if b.unk >= 0 {
			switch {
			case unkStart >= 0 && b.fuseUnk:
				unkEnd = i + w
			case unkStart >= 0:
				add(b.unk, unkStart, unkEnd)
				unkStart, unkEnd = i, i+w
			default:
				unkStart, unkEnd = i, i+w
			}
		}
		i += w
	}
	if unkStart >= 0 {
		add(b.unk, unkStart, unkEnd)
	}
}

func (b *bpe) fallback(key string) bool {
	for j := 0; j < len(key); j++ {
		if b.fallbackID[key[j]] < 0 {
			return false
		}
	}
	return true
}

// pair returns the rank of merging l and r and the resulting id.
func (b *bpe) pair(piece string, l, r *symbol) (int32, int32, bool) {
	if b.ranks != nil {
		rank, ok := b.ranks[piece[l.start:r.end]]
		return rank, rank, ok
	}
	m, ok := b.merges[uint64(uint32(l.id))<<32|uint64(uint32(r.id))]
	return m.rank, m.id, ok
}

// mergeHeap is Hugging Face's Word::merge_all: a min-heap of candidate
// merges ordered by rank, then position; an entry is applied only if the
// pair at its position still merges into the same id.
func (b *bpe) mergeHeap(sc *scratch, piece string) {
	syms := sc.syms
	h := sc.heap[:0]
	for k := 0; k+1 < len(syms); k++ {
		if rank, id, ok := b.pair(piece, &syms[k], &syms[k+1]); ok {
			h = append(h, heapEntry{rank, int32(k), id})
		}
	}
	heapify(h)
	for len(h) > 0 {
		top := h[0]
		h = heapPop(h)
		s := &syms[top.pos]
		if s.start < 0 || s.next < 0 {
			continue
		}
		r := &syms[s.next]
		if _, id, ok := b.pair(piece, s, r); !ok || id != top.id {
			continue
		}
		s.id, s.end, s.next = top.id, r.end, r.next
		r.start = -1 // removed
		if s.next >= 0 {
			syms[s.next].prev = top.pos
		}
		if s.prev >= 0 {
			if rank, id, ok := b.pair(piece, &syms[s.prev], s); ok {
				h = heapPush(h, heapEntry{rank, s.prev, id})
			}
		}
		if s.next >= 0 {
			if rank, id, ok := b.pair(piece, s, &syms[s.next]); ok {
				h = heapPush(h, heapEntry{rank, top.pos, id})
			}
		}
	}
	sc.heap = h
}

func less(a, b heapEntry) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

func heapify(h []heapEntry) {
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(h, i)
	}
}

func down(h []heapEntry, i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && less(h[r], h[l]) {
			m = r
		}
		if !less(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func heapPush(h []heapEntry, e heapEntry) []heapEntry {
	h = append(h, e)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !less(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPop(h []heapEntry) []heapEntry {
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	down(h, 0)
	return h
}
