package llmeter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/llmeter-go/llmeter/internal/jsonl"
)

// PayloadSource serves payloads by index, for payload sets too large to
// hold decoded in memory. It is used by many goroutines at once.
type PayloadSource interface {
	// Len is the number of payloads.
	Len() int
	// Payload returns payload i, 0 ≤ i < Len(), as a fresh value the caller
	// may keep.
	Payload(i int) (Payload, error)
}

// PayloadLines is a JSON Lines payload file read on demand: opening it checks
// every line once and keeps only where each one is (12 bytes per line); a
// payload is read from the file and decoded when it is sent. A file of a
// million payloads thus costs about 12 MB however large the payloads, where
// decoded payloads would cost a few kilobytes each.
type PayloadLines struct {
	path    string
	f       *os.File
	offsets []int64
	lens    []uint32
}

// IsPayloadFile reports whether path names a local JSON Lines file
// (.jsonl or .manifest), which OpenPayloadLines can read on demand.
func IsPayloadFile(path string) bool {
	if IsURL(path) {
		return false
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".manifest":
	default:
		return false
	}
	fi, err := os.Stat(localPath(path))
	return err == nil && fi.Mode().IsRegular()
}

// OpenPayloadLines opens a JSON Lines payload file, checking that every
// non-blank line is a JSON object; a bad line is an error naming file and
// line, before anything is sent. Close it when done.
func OpenPayloadLines(path string) (*PayloadLines, error) {
	f, err := os.Open(localPath(path))
	if err != nil {
		return nil, fmt.Errorf("llmeter: payload: %w", err)
	}
	pf := &PayloadLines{path: path, f: f}
	if err := pf.index(); err != nil {
		f.Close()
		return nil, err
	}
	if len(pf.offsets) == 0 {
		f.Close()
		return nil, fmt.Errorf("llmeter: payload: %s: no payloads", path)
	}
	return pf, nil
}

// index records where each non-blank line is, checking that it is a JSON
// object.
func (pf *PayloadLines) index() error {
	sc := bufio.NewScanner(pf.f)
	sc.Buffer(make([]byte, 64<<10), jsonl.MaxLineSize+2)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return i + 1, data[:i+1], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	var off int64
	for n := 1; sc.Scan(); n++ {
		tok := sc.Bytes()
		start := off
		off += int64(len(tok))
		line := bytes.TrimSpace(tok)
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' || !json.Valid(line) {
			err := fmt.Errorf("not a JSON object")
			if _, derr := DecodeJSON(line); derr != nil {
				err = derr
			}
			return fmt.Errorf("llmeter: payload: %w", &jsonl.LineError{Name: pf.path, Line: n, Err: err})
		}
		lead := bytes.Index(tok, line)
		pf.offsets = append(pf.offsets, start+int64(lead))
		pf.lens = append(pf.lens, uint32(len(line)))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("llmeter: payload: %s: %w", pf.path, err)
	}
	return nil
}

// Len is the number of payloads in the file.
func (pf *PayloadLines) Len() int { return len(pf.offsets) }

// Payload reads and decodes payload i.
func (pf *PayloadLines) Payload(i int) (Payload, error) {
	buf := make([]byte, pf.lens[i])
	if _, err := pf.f.ReadAt(buf, pf.offsets[i]); err != nil {
		return nil, fmt.Errorf("llmeter: payload %d of %s: %w", i, pf.path, err)
	}
	v, err := DecodeJSON(buf)
	if err != nil {
		return nil, fmt.Errorf("llmeter: payload %d of %s: %w", i, pf.path, err)
	}
	p, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("llmeter: payload %d of %s: not a JSON object", i, pf.path)
	}
	return p, nil
}

// Path is the file's path.
func (pf *PayloadLines) Path() string { return pf.path }

// Close closes the file.
func (pf *PayloadLines) Close() error { return pf.f.Close() }

// payloadSlice serves payloads held in memory.
type payloadSlice []Payload

func (s payloadSlice) Len() int                       { return len(s) }
func (s payloadSlice) Payload(i int) (Payload, error) { return s[i], nil }

// savePayloadSource writes every payload of src to dir/name (payload.jsonl
// when name is empty), one JSON object per line: a payload file is copied
// as it is, others are encoded one by one.
func savePayloadSource(ctx context.Context, src PayloadSource, dir, name string) (string, error) {
	if name == "" {
		name = PayloadFile
	}
	path := JoinPath(dir, name)
	w, err := createFile(ctx, path)
	if err != nil {
		return "", fmt.Errorf("llmeter: save payloads: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if pf, ok := src.(*PayloadLines); ok {
		_, err = io.Copy(bw, io.NewSectionReader(pf.f, 0, 1<<62))
	} else {
		var b []byte
		for i := 0; i < src.Len() && err == nil; i++ {
			var p Payload
			if p, err = src.Payload(i); err != nil {
				break
			}
			if b, err = appendValue(b[:0], p, true); err == nil {
				b = append(b, '\n')
				_, err = bw.Write(b)
			}
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("llmeter: save payloads: %w", err)
	}
	return path, nil
}
