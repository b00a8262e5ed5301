// Package tokenizer provides llmeter's tokenizers, all behind
// llmeter.Tokenizer (Encode, Decode), with the optional fast path
// llmeter.TokenCounter and the run_config.json form
// llmeter.TokenizerDescriber, compatible with LLMeter's
// {"tokenizer_module": …} descriptors:
//
//   - LLMeter's whitespace tokenizer, llmeter.DummyTokenizer
//     ({"tokenizer_module": "llmeter"});
//   - OpenAI's tiktoken encodings cl100k_base, o200k_base and o200k_harmony,
//     also chosen by model name (Tiktoken; {"tokenizer_module": "tiktoken",
//     "name": ENCODING}). Their rank tables are embedded in the binary;
//   - Hugging Face tokenizer.json files read from disk (HuggingFace;
//     {"tokenizer_module": "transformers", "name": PATH}).
//
// Load builds one from a command-line spec ("dummy", "tiktoken:o200k_base",
// "tiktoken:gpt-4o", "hf:/path/to/tokenizer.json"); FromConfig from a saved
// descriptor. Nothing is downloaded at run time: a Hugging Face hub name
// works only if its files are in the local Hugging Face cache.
//
// # Special tokens
//
// Encode treats special tokens written in the text, such as <|endoftext|>,
// as plain text: it is tiktoken's encode_ordinary, and Hugging Face's
// encode with split_special_tokens and without the post-processor's
// special tokens. It never fails on such text, and it counts what a
// prompt's text costs.
//
// # Implementation
//
// One byte-pair-encoding core serves both tiktoken and Hugging Face BPE
// models: rank-based merges, the lowest rank first, by linear scan for short
// pieces and with a priority queue for long ones, so nothing is quadratic on
// long pre-tokens (a SentencePiece model without pre-tokenizer sees the whole
// text as one piece). Byte-level models run it on raw bytes.
//
// Pre-tokenization regexes of byte-level BPE use lookahead (\s+(?!\S)),
// which Go's regexp lacks. The known patterns (GPT-2, cl100k_base and
// Llama 3, Qwen2, o200k_base) are matched by hand-written code, several times
// faster than a regex engine; any other Split regex of a tokenizer.json runs
// on github.com/dlclark/regexp2, a backtracking engine with lookaround. A
// fuzz test checks the hand-written matchers against regexp2, and the tests
// check token ids against ids produced by the reference implementations
// (OpenAI's tiktoken and Hugging Face's tokenizers, through their npm
// packages; see testdata/SOURCES.md).
package tokenizer
