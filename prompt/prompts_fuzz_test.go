package prompt

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
)

// FuzzLoadPrompts loads arbitrary prompt files. The prompts are the
// file's non-blank lines, trimmed, in order (a byte-order mark dropped);
// and a file without any is an error.
func FuzzLoadPrompts(f *testing.F) {
	src, err := os.ReadFile(filepath.Join("testdata", "source.txt"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(src[:min(len(src), 2048)])
	for _, s := range []string{"Say hello\nWhat is 2+2?\n", "\ufeff  one \r\n\r\n\ttwo\n", "\n \n", "", "a\rb\n\u00a0c\u2028", "\xff\xfe\n"} {
		f.Add([]byte(s))
	}
	// The fuzz function runs one call at a time in each process: the calls
	// can share a file (a t.TempDir for each costs more than the call).
	path := filepath.Join(f.TempDir(), "prompts.txt")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ps, err := LoadPrompts(path, "", func(text string) (llmeter.Payload, error) {
			return llmeter.Payload{"prompt": text}, nil
		})
		var want []string
		for _, line := range strings.Split(strings.TrimPrefix(string(data), "\ufeff"), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				want = append(want, line)
			}
		}
		if len(want) == 0 {
			if err == nil {
				t.Fatalf("no prompts in %q: got %d payloads and no error", data, len(ps))
			}
			return
		}
		if err != nil {
			t.Fatalf("LoadPrompts(%q): %v", data, err)
		}
		got := make([]string, len(ps))
		for i, p := range ps {
			got[i], _ = p["prompt"].(string)
		}
		if !slices.Equal(got, want) {
			t.Errorf("LoadPrompts(%q):\n got %q\nwant %q", data, got, want)
		}
	})
}
