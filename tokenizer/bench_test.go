package tokenizer

import (
	"os"
	"testing"

	"github.com/llmeter-go/llmeter"
)

// The benchmarks encode the long test text (testdata/opticks.txt, 150 KB of
// English prose) and report the speed in tokens per second.

func benchTokenizers() []string {
	return []string{
		"tiktoken:cl100k_base",
		"tiktoken:o200k_base",
		"hf:gpt2.tokenizer.json.gz",
		"hf:bytelevel-split.tokenizer.json",
		"hf:sp-bytefallback.tokenizer.json",
		"hf:sp-metaspace-unk.tokenizer.json",
	}
}

func longText(b *testing.B) string {
	data, err := os.ReadFile("testdata/opticks.txt")
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}

func BenchmarkEncode(b *testing.B) {
	text := longText(b)
	for _, name := range benchTokenizers() {
		b.Run(name, func(b *testing.B) {
			tok := loadRef(b, name)
			n := len(tok.Encode(text))
			b.SetBytes(int64(len(text)))
			b.ResetTimer()
			for b.Loop() {
				tok.Encode(text)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

func BenchmarkCountTokens(b *testing.B) {
	text := longText(b)
	for _, name := range benchTokenizers()[:3] {
		b.Run(name, func(b *testing.B) {
			tok := loadRef(b, name)
			n := llmeter.CountTokens(tok, text)
			b.SetBytes(int64(len(text)))
			b.ResetTimer()
			for b.Loop() {
				llmeter.CountTokens(tok, text)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	text := longText(b)
	for _, name := range benchTokenizers()[:3] {
		b.Run(name, func(b *testing.B) {
			tok := loadRef(b, name)
			ids := tok.Encode(text)
			b.SetBytes(int64(len(text)))
			b.ResetTimer()
			for b.Loop() {
				tok.Decode(ids)
			}
			b.ReportMetric(float64(len(ids))*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
