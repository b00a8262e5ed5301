package prompt

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/tokenizer"
)

// testdata/source.txt is generated text (random words from one sentence of
// our own), free of any licence.

func TestPromptsHaveExactDummyLengths(t *testing.T) {
	c := &PromptCollection{InputLengths: []int{1, 10, 50, 200}, OutputLengths: []int{8}, SourceFile: "testdata/source.txt"}
	texts, err := c.Prompts()
	if err != nil {
		t.Fatal(err)
	}
	for l, text := range texts {
		if got := len(strings.Fields(text)); got != l {
			t.Errorf("input length %d: got %d words", l, got)
		}
		if strings.ContainsAny(text, "\n\ufeff") {
			t.Errorf("input length %d: text holds a newline or BOM: %q", l, text)
		}
	}
	if !strings.HasPrefix(texts[10], texts[1]) {
		t.Errorf("samples do not start at the beginning of the source: %q, %q", texts[1], texts[10])
	}
}

func TestPromptsShortSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "short.txt")
	os.WriteFile(path, []byte("only four words here\n"), 0o600)
	c := &PromptCollection{InputLengths: []int{2, 100}, OutputLengths: []int{1}, SourceFile: path}
	texts, err := c.Prompts()
	if err != nil {
		t.Fatal(err)
	}
	if texts[2] != "only four" || texts[100] != "only four words here" {
		t.Errorf("got %v", texts)
	}
}

func TestCreateCollection(t *testing.T) {
	c := &PromptCollection{InputLengths: []int{10, 50}, OutputLengths: []int{16, 32, 64}, SourceFile: "testdata/source.txt", RequestsPerCombination: 3}
	got, err := c.Create()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 18 {
		t.Fatalf("got %d samples, want 2×3×3 = 18", len(got))
	}
	count := map[[2]int]int{}
	for _, s := range got {
		count[[2]int{s.InputLength, s.OutputLength}]++
		if s.Tokens != s.InputLength {
			t.Errorf("sample %d/%d has %d tokens", s.InputLength, s.OutputLength, s.Tokens)
		}
	}
	for k, n := range count {
		if n != 3 {
			t.Errorf("combination %v appears %d times, want 3", k, n)
		}
	}
	again, _ := c.Create()
	for i := range got {
		if got[i] != again[i] {
			t.Fatal("the same seed gave another order")
		}
	}
	for _, bad := range []*PromptCollection{
		{InputLengths: []int{0}, OutputLengths: []int{1}, SourceFile: "testdata/source.txt"},
		{InputLengths: []int{1}, SourceFile: "testdata/source.txt"},
		{InputLengths: []int{1}, OutputLengths: []int{1}, SourceFile: "testdata/missing.txt"},
	} {
		if _, err := bad.Create(); err == nil {
			t.Errorf("%+v: got nil error", bad)
		}
	}
}

func TestLoadPrompts(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("\ufefffirst prompt\n\n  second prompt  \n"), 0o600)
	os.WriteFile(filepath.Join(dir, "b.txt"), []byte("third"), 0o600)
	os.WriteFile(filepath.Join(dir, "c.md"), []byte("not matched\n"), 0o600)
	create := func(text string) (llmeter.Payload, error) { return llmeter.Payload{"prompt": text}, nil }
	got, err := LoadPrompts(dir, "*.txt", create)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, p := range got {
		texts = append(texts, p["prompt"].(string))
	}
	if strings.Join(texts, "|") != "first prompt|second prompt|third" {
		t.Errorf("got %q", texts)
	}
	failing := func(text string) (llmeter.Payload, error) {
		if text == "second prompt" {
			return nil, errors.New("too long")
		}
		return llmeter.Payload{}, nil
	}
	_, err = LoadPrompts(filepath.Join(dir, "a.txt"), "", failing)
	if err == nil || !strings.Contains(err.Error(), "a.txt:3: too long") {
		t.Errorf("got %v, want an error naming a.txt:3", err)
	}
	if _, err := LoadPrompts(dir, "*.none", create); err == nil {
		t.Error("no matching files: got nil error")
	}
}

// With a real tokenizer the samples have the asked length: the issue asks
// for ±2 %; cutting the whole text and checking the re-encoded length gives
// it exactly. (LLMeter's per-line sampling is 12–14 % short here.)
func TestPromptsTiktokenLengths(t *testing.T) {
	for _, spec := range []string{"tiktoken:cl100k_base", "tiktoken:o200k_base", "hf:../tokenizer/testdata/gpt2.tokenizer.json.gz"} {
		tok, err := tokenizer.Load(spec)
		if err != nil {
			t.Fatal(err)
		}
		lengths := []int{10, 50, 200, 500, 2000}
		c := &PromptCollection{InputLengths: lengths, OutputLengths: []int{1}, SourceFile: "../tokenizer/testdata/opticks.txt", Tokenizer: tok}
		texts, err := c.Prompts()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lengths {
			got := llmeter.CountTokens(tok, texts[l])
			if diff := math.Abs(float64(got-l)) / float64(l); diff > 0.02 {
				t.Errorf("%s, %d tokens asked: the sample has %d (%.1f%% off)", spec, l, got, diff*100)
			} else if got != l {
				t.Logf("%s, %d tokens asked: %d", spec, l, got)
			}
		}
	}
}
