package tokenizer

import (
	"fmt"
	"strings"
)

// tiktoken's model → encoding tables (tiktoken/model.py). Encodings that
// are not built in (p50k_base, r50k_base, gpt2, …) are listed so that the
// error can say which one the model needs.
var modelToEncoding = map[string]string{
	// reasoning
	"o1": "o200k_base", "o3": "o200k_base", "o4-mini": "o200k_base",
	// chat
	"gpt-5": "o200k_base", "gpt-4.1": "o200k_base", "gpt-4o": "o200k_base",
	"gpt-4": "cl100k_base", "gpt-3.5-turbo": "cl100k_base", "gpt-3.5": "cl100k_base",
	"gpt-35-turbo": "cl100k_base",
	// base
	"davinci-002": "cl100k_base", "babbage-002": "cl100k_base",
	// embeddings
	"text-embedding-ada-002": "cl100k_base", "text-embedding-3-small": "cl100k_base",
	"text-embedding-3-large": "cl100k_base",
	// deprecated
	"text-davinci-003": "p50k_base", "text-davinci-002": "p50k_base", "text-davinci-001": "r50k_base",
	"text-curie-001": "r50k_base", "text-babbage-001": "r50k_base", "text-ada-001": "r50k_base",
	"davinci": "r50k_base", "curie": "r50k_base", "babbage": "r50k_base", "ada": "r50k_base",
	"code-davinci-002": "p50k_base", "code-davinci-001": "p50k_base", "code-cushman-002": "p50k_base",
	"code-cushman-001": "p50k_base", "davinci-codex": "p50k_base", "cushman-codex": "p50k_base",
	"text-davinci-edit-001": "p50k_edit", "code-davinci-edit-001": "p50k_edit",
	"text-similarity-davinci-001": "r50k_base", "text-similarity-curie-001": "r50k_base",
	"text-similarity-babbage-001": "r50k_base", "text-similarity-ada-001": "r50k_base",
	"text-search-davinci-doc-001": "r50k_base", "text-search-curie-doc-001": "r50k_base",
	"text-search-babbage-doc-001": "r50k_base", "text-search-ada-doc-001": "r50k_base",
	"code-search-babbage-code-001": "r50k_base", "code-search-ada-code-001": "r50k_base",
	"gpt2": "gpt2", "gpt-2": "gpt2",
}

// modelPrefixToEncoding is tried in order, as tiktoken does.
var modelPrefixToEncoding = []struct{ prefix, encoding string }{
	{"o1-", "o200k_base"},
	{"o3-", "o200k_base"},
	{"o4-mini-", "o200k_base"},
	{"gpt-5-", "o200k_base"},
	{"gpt-4.5-", "o200k_base"},
	{"gpt-4.1-", "o200k_base"},
	{"chatgpt-4o-", "o200k_base"},
	{"gpt-4o-", "o200k_base"},
	{"gpt-4-", "cl100k_base"},
	{"gpt-3.5-turbo-", "cl100k_base"},
	{"gpt-35-turbo-", "cl100k_base"},
	{"gpt-oss-", "o200k_harmony"},
	{"ft:gpt-4o", "o200k_base"},
	{"ft:gpt-4", "cl100k_base"},
	{"ft:gpt-3.5-turbo", "cl100k_base"},
	{"ft:davinci-002", "cl100k_base"},
	{"ft:babbage-002", "cl100k_base"},
}

// EncodingForModel returns the tiktoken encoding of an OpenAI model name,
// with tiktoken's tables (encoding_name_for_model): exact names first, then
// prefixes such as "gpt-4o-" or "gpt-oss-".
func EncodingForModel(model string) (string, error) {
	if enc, ok := modelToEncoding[model]; ok {
		return enc, nil
	}
	for _, p := range modelPrefixToEncoding {
		if strings.HasPrefix(model, p.prefix) {
			return p.encoding, nil
		}
	}
	return "", fmt.Errorf("tokenizer: could not map model %q to a tiktoken encoding; name one, e.g. tiktoken:o200k_base", model)
}
