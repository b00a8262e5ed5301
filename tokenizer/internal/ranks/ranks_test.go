package ranks

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"testing"
)

// TestProvenance rebuilds each original .tiktoken file from the embedded
// table and checks its SHA-256 against the hash tiktoken pins for it, so
// the embedded data is byte for byte OpenAI's.
func TestProvenance(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			tokens, err := Load(name)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			var line []byte
			for rank, tok := range tokens {
				line = base64.StdEncoding.AppendEncode(line[:0], tok)
				line = append(line, ' ')
				line = strconv.AppendInt(line, int64(rank), 10)
				line = append(line, '\n')
				h.Write(line)
			}
			if got, want := hex.EncodeToString(h.Sum(nil)), SHA256[name]; got != want {
				t.Errorf("sha256 = %s, want %s", got, want)
			}
		})
	}
}

func TestLoadUnknown(t *testing.T) {
	if _, err := Load("p50k_base"); err == nil {
		t.Fatal("Load(p50k_base): no error")
	}
}
