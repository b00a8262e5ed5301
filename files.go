package llmeter

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llmeter-go/llmeter/internal/jsonl"
)

// responseWriter appends responses to responses.jsonl and the sidecar, line
// for line. Lines are buffered and flushed by the Runner whenever it has no
// further response waiting, so a killed process loses nothing it had
// finished processing; a torn last line (a kill in mid-write) is skipped on
// load.
//
// On an object store (s3://) the files are uploaded in parts as they grow
// and become visible when the writer is closed, at the end of the run or
// when it is interrupted; a killed process leaves no responses there.
type responseWriter struct {
	f, sf io.WriteCloser
	w, sw *bufio.Writer
	buf   []byte
}

// createResponseWriter creates responses.jsonl and its sidecar in dir. The
// files outlive ctx's cancellation: an interrupted run still closes them.
func createResponseWriter(ctx context.Context, dir string) (*responseWriter, error) {
	ctx = context.WithoutCancel(ctx)
	open := func(name string) (io.WriteCloser, error) {
		f, err := createFile(ctx, JoinPath(dir, name))
		if err != nil {
			return nil, fmt.Errorf("llmeter: %w", err)
		}
		return f, nil
	}
	f, err := open(ResponsesFile)
	if err != nil {
		return nil, err
	}
	sf, err := open(SidecarFile)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &responseWriter{f: f, sf: sf, w: bufio.NewWriterSize(f, 64<<10), sw: bufio.NewWriterSize(sf, 16<<10)}, nil
}

func (w *responseWriter) write(r *InvocationResponse) error {
	var err error
	if w.buf, err = r.AppendJSON(w.buf[:0]); err != nil {
		return fmt.Errorf("llmeter: encode response %s: %w", r.ID, err)
	}
	w.buf = append(w.buf, '\n')
	if _, err := w.w.Write(w.buf); err != nil {
		return fmt.Errorf("llmeter: write %s: %w", ResponsesFile, err)
	}
	w.buf = appendSidecar(w.buf[:0], r)
	w.buf = append(w.buf, '\n')
	if _, err := w.sw.Write(w.buf); err != nil {
		return fmt.Errorf("llmeter: write %s: %w", SidecarFile, err)
	}
	return nil
}

func (w *responseWriter) flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("llmeter: write %s: %w", ResponsesFile, err)
	}
	if err := w.sw.Flush(); err != nil {
		return fmt.Errorf("llmeter: write %s: %w", SidecarFile, err)
	}
	return nil
}

// close flushes the files and, on local disk, syncs them once: lines are
// written as they come (a killed process loses none) but not synced one by
// one, which costs about a millisecond each on a disk (about 1,000
// responses/s at most) for what only a crash of the machine would lose.
func (w *responseWriter) close() error {
	err := w.flush()
	for _, f := range []io.WriteCloser{w.f, w.sf} {
		if s, ok := f.(interface{ Sync() error }); ok && err == nil {
			err = s.Sync()
		}
	}
	return errors.Join(err, w.f.Close(), w.sf.Close())
}

// appendSidecar writes the sidecar line of r: its id and this tool's
// additions (empty ones left out).
func appendSidecar(b []byte, r *InvocationResponse) []byte {
	b = append(b, `{"id": `...)
	b = appendStringOrNull(b, r.ID)
	if r.ErrorClass != "" {
		b = append(b, `, "error_class": `...)
		b = appendString(b, r.ErrorClass)
	}
	if r.SendOffset != 0 {
		b = append(b, `, "send_offset": `...)
		b, _ = appendFloat(b, r.SendOffset.Seconds())
	}
	if r.TokensInputSource != "" {
		b = append(b, `, "tokens_input_source": `...)
		b = appendString(b, r.TokensInputSource)
	}
	if r.TokensOutputSource != "" {
		b = append(b, `, "tokens_output_source": `...)
		b = appendString(b, r.TokensOutputSource)
	}
	if r.IntendedOffset != nil {
		b = append(b, `, "intended_offset": `...)
		b, _ = appendFloat(b, r.IntendedOffset.Seconds())
	}
	if r.Warmup {
		b = append(b, `, "warmup": true`...)
	}
	if r.PayloadIndex != nil {
		b = append(b, `, "payload_index": `...)
		b = strconv.AppendInt(b, int64(*r.PayloadIndex), 10)
	}
	if len(r.ChunkOffsets) > 0 {
		// Microseconds from the send: compact and exact enough.
		b = append(b, `, "chunk_offsets_us": [`...)
		for i, d := range r.ChunkOffsets {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, d.Microseconds(), 10)
		}
		b = append(b, ']')
	}
	for _, k := range sortedKeys(r.Extra) {
		b = append(b, ", "...)
		b = appendString(b, k)
		b = append(b, ": "...)
		if nb, err := appendValue(b, r.Extra[k], true); err == nil {
			b = nb
		} else {
			b = append(b, "null"...)
		}
	}
	return append(b, '}')
}

type sidecarLine struct {
	ID                 string   `json:"id"`
	ErrorClass         string   `json:"error_class"`
	SendOffset         float64  `json:"send_offset"`
	TokensInputSource  string   `json:"tokens_input_source"`
	TokensOutputSource string   `json:"tokens_output_source"`
	ChunkOffsetsUS     []int64  `json:"chunk_offsets_us"`
	PayloadIndex       *int     `json:"payload_index"`
	IntendedOffset     *float64 `json:"intended_offset"`
	Warmup             bool     `json:"warmup"`
}

var sidecarKnown = map[string]bool{"id": true, "error_class": true, "send_offset": true,
	"tokens_input_source": true, "tokens_output_source": true, "chunk_offsets_us": true, "payload_index": true,
	"intended_offset": true, "warmup": true}

func (s *sidecarLine) applyTo(r *InvocationResponse, extra map[string]any) {
	r.ErrorClass = s.ErrorClass
	r.SendOffset = time.Duration(s.SendOffset * float64(time.Second))
	r.TokensInputSource, r.TokensOutputSource = s.TokensInputSource, s.TokensOutputSource
	r.PayloadIndex = s.PayloadIndex
	r.Warmup = s.Warmup
	if s.IntendedOffset != nil {
		d := time.Duration(*s.IntendedOffset * float64(time.Second))
		r.IntendedOffset = &d
	}
	if len(s.ChunkOffsetsUS) > 0 {
		r.ChunkOffsets = make([]time.Duration, len(s.ChunkOffsetsUS))
		for i, us := range s.ChunkOffsetsUS {
			r.ChunkOffsets[i] = time.Duration(us) * time.Microsecond
		}
	}
	for k, v := range extra {
		if !sidecarKnown[k] {
			if r.Extra == nil {
				r.Extra = map[string]any{}
			}
			r.Extra[k] = v
		}
	}
}

// readResponses reads responses.jsonl of dir, and the sidecar when there is
// one. A torn last line (a killed writer) is skipped with a warning; any
// other malformed line is an error naming file and line.
func readResponses(dir string, warn func(string)) ([]*InvocationResponse, error) {
	if warn == nil {
		warn = func(string) {}
	}
	path := JoinPath(dir, ResponsesFile)
	f, err := openFile(context.Background(), path)
	if err != nil {
		return nil, fmt.Errorf("llmeter: %w", err)
	}
	defer f.Close()
	var out []*InvocationResponse
	rd := jsonl.NewReader(f, path)
	for {
		line, n, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return out, err
		}
		r := &InvocationResponse{}
		if err := r.UnmarshalJSON(line); err != nil {
			if rd.Torn() {
				warn(fmt.Sprintf("%s:%d: skipped a torn last line (the run was killed while writing it)", path, n))
				break
			}
			return out, &jsonl.LineError{Name: path, Line: n, Err: err}
		}
		out = append(out, r)
	}
	readSidecar(dir, out, warn)
	return out, nil
}

// readSidecar applies the sidecar lines to the responses with the same id.
func readSidecar(dir string, responses []*InvocationResponse, warn func(string)) {
	path := JoinPath(dir, SidecarFile)
	f, err := openFile(context.Background(), path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			warn(fmt.Sprintf("cannot read %s: %v", path, err))
		}
		return
	}
	defer f.Close()
	byID := make(map[string]*InvocationResponse, len(responses))
	for _, r := range responses {
		byID[r.ID] = r
	}
	rd := jsonl.NewReader(f, path)
	for {
		line, n, err := rd.Next()
		if err != nil {
			if err != io.EOF {
				warn(err.Error())
			}
			return
		}
		var s sidecarLine
		var extra map[string]any
		if err := json.Unmarshal(line, &s); err != nil || json.Unmarshal(line, &extra) != nil {
			if !rd.Torn() {
				warn(fmt.Sprintf("%s:%d: skipped a malformed line", path, n))
			}
			continue
		}
		if r, ok := byID[s.ID]; ok {
			s.applyTo(r, extra)
		}
	}
}

// LoadPayloads reads payloads from a file or a folder. A file ending in
// .jsonl or .manifest holds one JSON object per line (blank lines skipped);
// any other file is one JSON document: an object, or a list of objects. A
// folder loads every *.json* file in it (not recursively), in name order.
// A malformed line or document is an error naming the file and line. A
// URL (s3://bucket/key) names one file of a registered Storage.
func LoadPayloads(path string) ([]Payload, error) {
	if IsURL(path) {
		return loadPayloadFile(path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("llmeter: payload: %w", err)
	}
	if !st.IsDir() {
		return loadPayloadFile(path)
	}
	files, err := filepath.Glob(filepath.Join(path, "*.json*"))
	if err != nil {
		return nil, fmt.Errorf("llmeter: payload: %w", err)
	}
	slices.Sort(files)
	var out []Payload
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.IsDir() {
			continue
		}
		ps, err := loadPayloadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("llmeter: payload: no *.json or *.jsonl files with payloads in %s", path)
	}
	return out, nil
}

func loadPayloadFile(path string) ([]Payload, error) {
	f, err := openFile(context.Background(), path)
	if err != nil {
		return nil, fmt.Errorf("llmeter: payload: %w", err)
	}
	defer f.Close()
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".jsonl" || ext == ".manifest" {
		var out []Payload
		rd := jsonl.NewReader(f, path)
		for {
			line, n, err := rd.Next()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return nil, fmt.Errorf("llmeter: payload: %w", err)
			}
			v, err := DecodeJSON(line)
			if err != nil {
				return nil, fmt.Errorf("llmeter: payload: %w", &jsonl.LineError{Name: path, Line: n, Err: err})
			}
			p, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("llmeter: payload: %w", &jsonl.LineError{Name: path, Line: n, Err: fmt.Errorf("not a JSON object")})
			}
			out = append(out, p)
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("llmeter: payload: %w", err)
	}
	v, err := DecodeJSON(data)
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + strings.Count(string(data[:min(int(se.Offset), len(data))]), "\n")
			return nil, fmt.Errorf("llmeter: payload: %w", &jsonl.LineError{Name: path, Line: line, Err: err})
		}
		return nil, fmt.Errorf("llmeter: payload: %s: %w", path, err)
	}
	switch x := v.(type) {
	case map[string]any:
		return []Payload{x}, nil
	case []any:
		out := make([]Payload, 0, len(x))
		for i, e := range x {
			p, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("llmeter: payload: %s: item %d is not a JSON object", path, i)
			}
			out = append(out, p)
		}
		return out, nil
	}
	return nil, fmt.Errorf("llmeter: payload: %s: not a JSON object or a list of objects", path)
}

// SavePayloads writes payloads one JSON object per line to dir/name
// (payload.jsonl when name is empty) and returns the file's path.
func SavePayloads(payloads []Payload, dir, name string) (string, error) {
	return savePayloadSource(context.Background(), payloadSlice(payloads), dir, name)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
