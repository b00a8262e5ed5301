package tokenizer

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/llmeter-go/llmeter"
)

// The reference ids in testdata/reference_ids.json.gz come from public
// reference implementations, run by scripts/tokenizer/reference.mjs
// (by hand, not by the tests):
//
//   - tiktoken:*  npm package tiktoken 1.0.22, the WASM build of OpenAI's
//     Rust tiktoken core (encode_ordinary);
//   - hf:*        npm package tokenizers 0.23.2, the Node binding of Hugging
//     Face's Rust tokenizers library (encode without special tokens, with the
//     special added tokens removed so that they are plain text);
//
// under node v20.20.2. The file records these versions; testdata/SOURCES.md
// says where every test file comes from.

type reference struct {
	Packages   map[string]string `json:"packages"`
	Tokenizers []string          `json:"tokenizers"`
	Long       map[string]struct {
		File   string `json:"file"`
		Count  int    `json:"count"`
		SHA256 string `json:"sha256"`
	} `json:"long"`
	Cases []struct {
		Kind    string            `json:"kind"`
		Text    string            `json:"text"`
		IDs     map[string][]int  `json:"ids"`
		Decoded map[string]string `json:"decoded"`
	} `json:"cases"`
}

var loadReference = sync.OnceValues(func() (*reference, error) {
	f, err := os.Open("testdata/reference_ids.json.gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var r reference
	return &r, json.NewDecoder(zr).Decode(&r)
})

func mustReference(t testing.TB) *reference {
	t.Helper()
	r, err := loadReference()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fixture returns the path of a testdata tokenizer.json, decompressing
// .gz files into a temporary directory.
func fixture(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join("testdata", name)
	if !strings.HasSuffix(name, ".gz") {
		return path
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(name, ".gz"))
	if err := os.WriteFile(out, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// loadRef loads a tokenizer named as in reference_ids.json.gz.
func loadRef(t testing.TB, name string) llmeter.Tokenizer {
	t.Helper()
	var tok llmeter.Tokenizer
	var err error
	if file, ok := strings.CutPrefix(name, "hf:"); ok {
		tok, err = LoadHuggingFace(fixture(t, file))
	} else {
		tok, err = Load(name)
	}
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return tok
}

func hashIDs(ids []int) string {
	var b []byte
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// checkReference compares tok with the reference ids of name.
func checkReference(t *testing.T, tok llmeter.Tokenizer, name string, long bool) {
	ref := mustReference(t)
	bad := 0
	for i, c := range ref.Cases {
		want, ok := c.IDs[name]
		if !ok {
			t.Fatalf("case %d: no ids for %s", i, name)
		}
		got := tok.Encode(c.Text)
		if !slices.Equal(got, want) {
			if bad++; bad <= 10 {
				t.Errorf("case %d (%s) %q:\n got %v\nwant %v", i, c.Kind, c.Text, got, want)
			}
			continue
		}
		if n := llmeter.CountTokens(tok, c.Text); n != len(want) {
			t.Errorf("case %d %q: CountTokens = %d, want %d", i, c.Text, n, len(want))
		}
		wantText, ok := c.Decoded[name]
		if !ok {
			wantText = c.Text
		}
		if got := tok.Decode(want); got != wantText {
			t.Errorf("case %d: Decode(%v) = %q, want %q", i, want, got, wantText)
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d cases differ", bad, len(ref.Cases))
	}
	if !long {
		return
	}
	l := ref.Long[name]
	text, err := os.ReadFile(filepath.Join("testdata", l.File))
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(string(text))
	if len(ids) != l.Count || hashIDs(ids) != l.SHA256 {
		t.Errorf("%s: %d tokens (sha256 %s), want %d (%s)", l.File, len(ids), hashIDs(ids), l.Count, l.SHA256)
	}
	if n := llmeter.CountTokens(tok, string(text)); n != l.Count {
		t.Errorf("%s: CountTokens = %d, want %d", l.File, n, l.Count)
	}
}

func TestReferenceIDs(t *testing.T) {
	ref := mustReference(t)
	if ref.Packages["tiktoken"] != "1.0.22" || ref.Packages["tokenizers"] != "0.23.2" {
		t.Errorf("reference packages = %v; update the comment at the top of this file", ref.Packages)
	}
	for _, name := range ref.Tokenizers {
		t.Run(name, func(t *testing.T) {
			checkReference(t, loadRef(t, name), name, true)
		})
	}
}

// TestReferenceIDsSlowPaths checks the same ids with the priority-queue
// merge for every piece and the regexp2 engine instead of the hand-written
// pre-tokenizer matchers.
func TestReferenceIDsSlowPaths(t *testing.T) {
	ref := mustReference(t)
	defer func(l int) { linearMax = l; forceRegexp2 = false }(linearMax)
	linearMax = 0
	forceRegexp2 = true
	for _, name := range ref.Tokenizers {
		t.Run(name, func(t *testing.T) {
			tok := loadRef(t, name)
			if tt, ok := tok.(*Tiktoken); ok {
				// The encoding is shared and was built with the
				// hand-written matcher: use a copy with regexp2.
				enc := *tt.enc
				p, err := compilePattern(tt.enc.pat.src)
				if err != nil {
					t.Fatal(err)
				}
				enc.pat = p
				tok = &Tiktoken{name: tt.name, enc: &enc}
			}
			checkReference(t, tok, name, !testing.Short())
		})
	}
}

// TestRoundTrip checks Decode(Encode(s)) == s for the byte-level
// tokenizers without a normalizer, on every reference text.
func TestRoundTrip(t *testing.T) {
	ref := mustReference(t)
	for _, name := range []string{"tiktoken:cl100k_base", "tiktoken:o200k_base", "hf:gpt2.tokenizer.json.gz"} {
		t.Run(name, func(t *testing.T) {
			tok := loadRef(t, name)
			for _, c := range ref.Cases {
				if got := tok.Decode(tok.Encode(c.Text)); got != c.Text {
					t.Errorf("Decode(Encode(%q)) = %q", c.Text, got)
				}
			}
		})
	}
}
