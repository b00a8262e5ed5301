package tokenizer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/llmeter-go/llmeter"
)

// ErrOffline is wrapped by the error for a Hugging Face hub name that is
// neither a local path nor in the local Hugging Face cache: this package
// never downloads.
var ErrOffline = errors.New("tokenizers are not downloaded (offline)")

// ErrUnknownModule is wrapped by FromConfig's error for a tokenizer_module
// it does not know (LLMeter raises "Unknown tokenizer module").
var ErrUnknownModule = errors.New("unknown tokenizer module")

// Load returns the tokenizer named by a command-line spec:
//
//	dummy                     LLMeter's whitespace tokenizer (also "llmeter")
//	tiktoken:cl100k_base      a built-in tiktoken encoding (also o200k_base, o200k_harmony)
//	tiktoken:gpt-4o           the encoding tiktoken uses for an OpenAI model
//	hf:/path/tokenizer.json   a Hugging Face tokenizer.json, or a directory holding one
//	transformers:NAME         as run_config.json's "transformers" module: a path, or a
//	                          hub name found in the local Hugging Face cache
func Load(spec string) (llmeter.Tokenizer, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	switch kind {
	case "dummy", "llmeter":
		if arg == "" {
			return new(llmeter.DummyTokenizer), nil
		}
	case "tiktoken":
		if arg == "" {
			break
		}
		return tokenizerOrNil(tiktokenByName(arg))
	case "hf":
		if arg == "" {
			break
		}
		return tokenizerOrNil(LoadHuggingFace(arg))
	case "transformers":
		if arg == "" {
			break
		}
		return tokenizerOrNil(loadTransformers(arg))
	}
	return nil, fmt.Errorf("tokenizer: unknown spec %q: want dummy, tiktoken:ENCODING, tiktoken:MODEL, hf:PATH or transformers:NAME", spec)
}

// FromConfig rebuilds a tokenizer from its saved form in run_config.json,
// LLMeter's {"tokenizer_module": …}:
//
//	nil or {}                                          Dummy (LLMeter's default)
//	{"tokenizer_module": "llmeter"}                    Dummy
//	{"tokenizer_module": "tiktoken", "name": ENC}      tiktoken encoding ENC
//	{"tokenizer_module": "transformers", "name": N}    tokenizer.json at path N (a file or a
//	                                                   directory), or hub name N from the
//	                                                   local Hugging Face cache
//
// A hub name that is not available locally is an error wrapping
// ErrOffline; "custom" (a tokenizer the program supplied) cannot be
// rebuilt.
func FromConfig(m map[string]any) (llmeter.Tokenizer, error) {
	if len(m) == 0 {
		return new(llmeter.DummyTokenizer), nil
	}
	module, _ := m["tokenizer_module"].(string)
	name, _ := m["name"].(string)
	switch module {
	case "llmeter":
		return new(llmeter.DummyTokenizer), nil
	case "tiktoken":
		if name == "" {
			return nil, errors.New(`tokenizer: tiktoken tokenizer without "name"`)
		}
		return tokenizerOrNil(tiktokenByName(name))
	case "transformers":
		if name == "" {
			return nil, errors.New(`tokenizer: transformers tokenizer without "name"`)
		}
		return tokenizerOrNil(loadTransformers(name))
	case "custom":
		return nil, errors.New("tokenizer: a custom tokenizer cannot be rebuilt from run_config.json; pass it to the program")
	}
	return nil, fmt.Errorf("tokenizer: %w %q", ErrUnknownModule, module)
}

// tokenizerOrNil returns a nil interface, not a typed nil pointer, with an
// error.
func tokenizerOrNil[T llmeter.Tokenizer](t T, err error) (llmeter.Tokenizer, error) {
	if err != nil {
		return nil, err
	}
	return t, nil
}

// tiktokenByName returns a built-in encoding, or the encoding of a model.
func tiktokenByName(name string) (*Tiktoken, error) {
	if _, ok := encodings[name]; ok {
		return NewTiktoken(name)
	}
	if _, err := EncodingForModel(name); err == nil {
		return TiktokenForModel(name)
	}
	return nil, fmt.Errorf("tokenizer: %q is neither a built-in tiktoken encoding (%s) nor an OpenAI model tiktoken knows",
		name, strings.Join(TiktokenEncodings(), ", "))
}

// loadTransformers loads what transformers' AutoTokenizer.from_pretrained
// would, without network: a tokenizer.json file or a directory holding
// one, or a hub model id already in the local Hugging Face cache.
func loadTransformers(name string) (*HuggingFace, error) {
	if _, err := os.Stat(name); err == nil {
		return LoadHuggingFace(name)
	}
	if dir := cachedSnapshot(name); dir != "" {
		t, err := LoadHuggingFace(dir)
		if err != nil {
			return nil, err
		}
		t.name = name
		return t, nil
	}
	return nil, fmt.Errorf("tokenizer: %q is not a local file or directory, nor in the Hugging Face cache, and %w: "+
		"download its tokenizer.json (e.g. `huggingface-cli download %s tokenizer.json`) and use hf:/path/to/tokenizer.json, "+
		`or set "name" in run_config.json to that path`, name, ErrOffline, name)
}

// cachedSnapshot returns the snapshot directory of hub model id name in the
// Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)
// if it holds a tokenizer.json, else "".
func cachedSnapshot(name string) string {
	if strings.Count(name, "/") > 1 || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "/") {
		return ""
	}
	cache := os.Getenv("HF_HUB_CACHE")
	if cache == "" {
		if home := os.Getenv("HF_HOME"); home != "" {
			cache = filepath.Join(home, "hub")
		} else if h, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(h, ".cache", "huggingface", "hub")
		} else {
			return ""
		}
	}
	repo := filepath.Join(cache, "models--"+strings.ReplaceAll(name, "/", "--"))
	ref, err := os.ReadFile(filepath.Join(repo, "refs", "main"))
	if err != nil {
		return ""
	}
	dir := filepath.Join(repo, "snapshots", strings.TrimSpace(string(ref)))
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		return ""
	}
	return dir
}
