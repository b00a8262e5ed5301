package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseHuggingFace parses arbitrary tokenizer.json files and encodes
// an arbitrary text with what parses. Nothing may panic; the ids are in
// the vocabulary, CountTokens counts what Encode returns, and Decode takes
// them.
func FuzzParseHuggingFace(f *testing.F) {
	base := func(model, norm, pre, dec string) string {
		return fmt.Sprintf(`{"added_tokens":[],"normalizer":%s,"pre_tokenizer":%s,"decoder":%s,"model":%s}`, norm, pre, dec, model)
	}
	bpe := `{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"<unk>":3},"merges":["a b"],"unk_token":"<unk>"}`
	for _, s := range []string{
		base(bpe, "null", "null", "null"),
		base(bpe, `{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"Lowercase"},{"type":"Replace","pattern":{"String":" "},"content":"a"}]}`, `{"type":"Whitespace"}`, "null"),
		base(bpe, "null", `{"type":"Split","pattern":{"Regex":"a|b+"},"behavior":"Isolated","invert":false}`, `{"type":"ByteLevel"}`),
		base(bpe, "null", `{"type":"ByteLevel","add_prefix_space":true,"use_regex":true}`, `{"type":"BPEDecoder","suffix":"</w>"}`),
		`{"added_tokens":[{"id":4,"content":"<s>","special":true,"normalized":false},{"id":5,"content":"ab","normalized":true}],"model":` + bpe + `}`,
		`{"model":{"vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]],"byte_fallback":true,"fuse_unk":true}}`,
		`{"model":null}`, `{`,
	} {
		f.Add([]byte(s), "ab ba\u00c5 <s>abab")
	}
	for _, name := range []string{"bytelevel-split.tokenizer.json", "clip-style.tokenizer.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "Of the Reflexions and Refractions of Light, 中文 😀")
	}
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		if len(data) > 1<<16 || len(text) > 256 {
			return
		}
		tok, err := ParseHuggingFace(data, "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokenizer: ") {
				t.Errorf("error %q: want the prefix %q", err, "tokenizer: ")
			}
			return
		}
		ids := tok.Encode(text)
		for _, id := range ids {
			if id < 0 || id >= tok.VocabSize() {
				t.Fatalf("Encode(%q): id %d, vocabulary of %d", text, id, tok.VocabSize())
			}
		}
		if n := tok.CountTokens(text); n != len(ids) {
			t.Errorf("CountTokens(%q) = %d, Encode gives %d ids", text, n, len(ids))
		}
		_ = tok.Decode(ids)
	})
}
