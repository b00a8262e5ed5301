package prompt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/llmeter-go/llmeter"
)

// CreatePayload builds a request from a prompt text and an output length (an
// endpoint package's create-payload helper, bound to its other settings).
type CreatePayload func(text string, maxTokens int) (llmeter.Payload, error)

// LoadPrompts reads prompt texts, one per non-blank line (trimmed), from a
// file, or from every file of a directory whose name matches pattern
// (default "*"; sorted by name; not recursive), and builds a payload from
// each with create (LLMeter's load_prompts). A failure names the file and
// line; nothing is skipped silently.
func LoadPrompts(path, pattern string, create func(text string) (llmeter.Payload, error)) ([]llmeter.Payload, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("prompt: %w", err)
	}
	files := []string{path}
	if st.IsDir() {
		if pattern == "" {
			pattern = "*"
		}
		all, err := filepath.Glob(filepath.Join(path, pattern))
		if err != nil {
			return nil, fmt.Errorf("prompt: pattern %q: %w", pattern, err)
		}
		files = files[:0]
		for _, f := range all {
			if fi, err := os.Stat(f); err == nil && !fi.IsDir() {
				files = append(files, f)
			}
		}
		slices.Sort(files)
		if len(files) == 0 {
			return nil, fmt.Errorf("prompt: no files matching %q in %s", pattern, path)
		}
	}
	var out []llmeter.Payload
	for _, name := range files {
		err := eachLine(name, func(n int, line string) error {
			if line = strings.TrimSpace(line); line == "" {
				return nil
			}
			p, err := create(line)
			if err != nil {
				return fmt.Errorf("prompt: %s:%d: %w", name, n, err)
			}
			out = append(out, p)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("prompt: no prompts in %s", path)
	}
	return out, nil
}

// eachLine calls f with every line of a UTF-8 file (a byte-order mark
// dropped, line ends kept), numbered from 1.
func eachLine(name string, f func(n int, line string) error) error {
	fh, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("prompt: %w", err)
	}
	defer fh.Close()
	rd := bufio.NewReaderSize(fh, 64<<10)
	for n := 1; ; n++ {
		line, err := rd.ReadString('\n')
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line != "" {
			if ferr := f(n, line); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("prompt: %s:%d: %w", name, n, err)
		}
	}
}

// Sample is one prompt of a collection: a text of InputLength tokens (by the
// tokenizer that made it) to be answered with at most OutputLength tokens.
type Sample struct {
	Text         string
	InputLength  int // the target; the text has this many tokens unless the source was shorter
	Tokens       int // the tokens of Text by the tokenizer
	OutputLength int
}

// PromptCollection samples prompts of given token lengths from a source text
// (LLMeter's CreatePromptCollection).
type PromptCollection struct {
	InputLengths           []int
	OutputLengths          []int
	SourceFile             string
	RequestsPerCombination int               // default 1
	Tokenizer              llmeter.Tokenizer // default llmeter.DummyTokenizer
	// Seed orders the collection; LLMeter shuffles without a seed, we shuffle
	// reproducibly.
	Seed uint64
}

// Prompts returns, for each input length L, a text of L tokens from the
// start of the source. Like LLMeter, lines are tokenized one after the
// other until more than L tokens are collected. Unlike LLMeter, which then
// decodes the first L ids of those per-line tokens (a text that re-encodes
// to 12–14 % fewer tokens with a BPE tokenizer at a few hundred tokens,
// since merges across lines are lost), the collected text is encoded as a
// whole, cut at L ids and decoded; when the cut text does not re-encode to
// exactly L tokens (a cut inside a character or a merge), the nearest cut
// that does is taken. With the Dummy tokenizer this is LLMeter's result: L
// words joined by single spaces. A source shorter than L gives a shorter
// text.
func (c *PromptCollection) Prompts() (map[int]string, error) {
	tok := c.Tokenizer
	if tok == nil {
		tok = &llmeter.DummyTokenizer{}
	}
	longest := slices.Max(append([]int{0}, c.InputLengths...))
	var text strings.Builder
	n := 0
	stop := errors.New("enough")
	err := eachLine(c.SourceFile, func(_ int, line string) error {
		text.WriteString(line)
		n += llmeter.CountTokens(tok, line)
		if n > longest+longest/8+8 { // a margin for merges across lines
			return stop
		}
		return nil
	})
	if err != nil && err != stop {
		return nil, err
	}
	ids := tok.Encode(text.String())
	if len(ids) == 0 {
		return nil, fmt.Errorf("prompt: source %s has no text", c.SourceFile)
	}
	out := map[int]string{}
	for _, l := range c.InputLengths {
		out[l] = cut(tok, ids, l)
	}
	return out, nil
}

// cut decodes the first l ids, or a few more or fewer when that text does
// not re-encode to l tokens.
func cut(tok llmeter.Tokenizer, ids []int, l int) string {
	if l >= len(ids) {
		return tok.Decode(ids)
	}
	best, bestDiff := tok.Decode(ids[:l]), -1
	for d := 0; d <= 4; d++ {
		for _, k := range []int{l + d, l - d} {
			if k < 1 || k > len(ids) {
				continue
			}
			s := tok.Decode(ids[:k])
			diff := llmeter.CountTokens(tok, s) - l
			if diff < 0 {
				diff = -diff
			}
			if bestDiff < 0 || diff < bestDiff {
				best, bestDiff = s, diff
			}
			if diff == 0 {
				return s
			}
		}
	}
	return best
}

// Create returns the collection: every (input length, output length) pair,
// RequestsPerCombination times, shuffled with Seed.
func (c *PromptCollection) Create() ([]Sample, error) {
	if len(c.InputLengths) == 0 || len(c.OutputLengths) == 0 {
		return nil, errors.New("prompt: input and output lengths are required")
	}
	for _, l := range append(slices.Clone(c.InputLengths), c.OutputLengths...) {
		if l < 1 {
			return nil, fmt.Errorf("prompt: lengths must be positive, got %d", l)
		}
	}
	rpc := c.RequestsPerCombination
	if rpc == 0 {
		rpc = 1
	}
	if rpc < 0 {
		return nil, fmt.Errorf("prompt: requests per combination must be positive, got %d", rpc)
	}
	texts, err := c.Prompts()
	if err != nil {
		return nil, err
	}
	tok := c.Tokenizer
	if tok == nil {
		tok = &llmeter.DummyTokenizer{}
	}
	var one []Sample
	for _, in := range c.InputLengths {
		n := llmeter.CountTokens(tok, texts[in])
		for _, out := range c.OutputLengths {
			one = append(one, Sample{Text: texts[in], InputLength: in, Tokens: n, OutputLength: out})
		}
	}
	all := make([]Sample, 0, len(one)*rpc)
	for range rpc {
		all = append(all, one...)
	}
	rand.New(rand.NewPCG(c.Seed, 0)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all, nil
}
