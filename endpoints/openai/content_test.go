package openai

// The content part shapes follow OpenAI's Chat Completions API reference
// (https://platform.openai.com/docs/api-reference/chat/create: text,
// image_url with a data URL, input_audio with data and format, file with
// file_data and filename) and LLMeter's create_payload (spec §1.C.1 point 12).

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/prompt"
)

func TestCreateMultimodalPayload(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	media := func(kind prompt.Kind, mime, path string, data []byte) prompt.Media {
		return prompt.Media{Kind: kind, Data: data, MIMEType: mime, SourcePath: path}
	}
	user := func(content any) llmeter.Payload {
		return llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": content}}, "max_tokens": 64}
	}
	text := func(s string) map[string]any { return map[string]any{"type": "text", "text": s} }
	tests := []struct {
		name    string
		items   []prompt.Item
		max     int
		extra   map[string]any
		want    llmeter.Payload
		wantErr string
	}{
		{name: "one text is plain content", items: []prompt.Item{prompt.Text("Hello")}, max: 64, want: user("Hello")},
		{name: "several texts are parts", items: []prompt.Item{prompt.Text("a"), prompt.Text("b")}, max: 64,
			want: user([]any{text("a"), text("b")})},
		{name: "text and image in order", max: 64,
			items: []prompt.Item{prompt.Text("Describe"), media(prompt.Image, "image/png", "", png), prompt.Text("briefly")},
			want: user([]any{text("Describe"), map[string]any{"type": "image_url", "image_url": map[string]any{
				"url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="}}, text("briefly")})},
		{name: "one image alone is a list", items: []prompt.Item{media(prompt.Image, "image/jpeg", "/x/a.jpg", []byte{1, 2, 3})}, max: 64,
			want: user([]any{map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/jpeg;base64,AQID"}}})},
		{name: "gif and webp", max: 64,
			items: []prompt.Item{media(prompt.Image, "image/gif", "", []byte("G")), media(prompt.Image, "image/webp", "", []byte("W"))},
			want: user([]any{map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/gif;base64,Rw=="}},
				map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/webp;base64,Vw=="}}})},
		{name: "audio mp3 and wav", max: 64,
			items: []prompt.Item{media(prompt.Audio, "audio/mpeg", "", []byte("ID3")), media(prompt.Audio, "audio/wav", "", []byte("RIFF"))},
			want: user([]any{
				map[string]any{"type": "input_audio", "input_audio": map[string]any{"data": "SUQz", "format": "mp3"}},
				map[string]any{"type": "input_audio", "input_audio": map[string]any{"data": "UklGRg==", "format": "wav"}}})},
		{name: "pdf with a file name", max: 64,
			items: []prompt.Item{prompt.Text("Summarize"), media(prompt.Document, "application/pdf", "/docs/q3 report.pdf", []byte("%PDF"))},
			want: user([]any{text("Summarize"), map[string]any{"type": "file", "file": map[string]any{
				"file_data": "data:application/pdf;base64,JVBERg==", "filename": "q3 report.pdf"}}})},
		{name: "pdf without a source path", max: 64,
			items: []prompt.Item{media(prompt.Document, "application/pdf", "", []byte("%PDF"))},
			want: user([]any{map[string]any{"type": "file", "file": map[string]any{
				"file_data": "data:application/pdf;base64,JVBERg=="}}})},
		{name: "pointer to media", max: 64, items: []prompt.Item{prompt.Text("x"), &prompt.Media{Kind: prompt.Image, MIMEType: "image/png"}},
			want: user([]any{text("x"), map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64,"}}})},
		{name: "extra merged last", items: []prompt.Item{prompt.Text("hi")}, max: 5,
			extra: map[string]any{"max_tokens": 64, "temperature": 0.5},
			want:  llmeter.Payload{"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "max_tokens": 64, "temperature": 0.5}},
		{name: "video", max: 64, items: []prompt.Item{prompt.Text("x"), media(prompt.Video, "video/mp4", "", []byte("v"))},
			wantErr: "not supported inline"},
		{name: "other MIME type", max: 64, items: []prompt.Item{media(prompt.Audio, "audio/ogg", "", []byte("OggS"))},
			wantErr: `item 0: unsupported MIME type "audio/ogg"`},
		{name: "video MIME as an image", max: 64, items: []prompt.Item{media(prompt.Image, "video/mp4", "", nil)},
			wantErr: "unsupported MIME type"},
		{name: "nil item", max: 64, items: []prompt.Item{prompt.Text("x"), nil}, wantErr: "unsupported content item"},
		{name: "nil media pointer", max: 64, items: []prompt.Item{(*prompt.Media)(nil)}, wantErr: "unsupported content item"},
		{name: "zero max tokens", items: []prompt.Item{prompt.Text("x")}, wantErr: "max_tokens"},
		{name: "no items", max: 64, wantErr: "no user message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CreateMultimodalPayload(tc.items, tc.max, tc.extra)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error: got %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("payload:\n got %#v\nwant %#v", got, tc.want)
			}
			if _, err := llmeter.AppendRequestJSON(nil, got); err != nil {
				t.Errorf("payload does not encode: %v", err)
			}
		})
	}
}

// TestCreateMultimodalPayloadFromFiles reads media with prompt.FromPath (MIME
// detection, source path) and checks the prompt the endpoint records.
func TestCreateMultimodalPayloadFromFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	img, err := prompt.FromPath(prompt.Image, write("cat.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := prompt.FromPath(prompt.Document, write("Report.PDF", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")))
	if err != nil {
		t.Fatal(err)
	}
	p, err := CreateMultimodalPayload([]prompt.Item{prompt.Text("What is this?"), img, doc, prompt.Text("Be brief.")}, 32, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts := p["messages"].([]any)[0].(map[string]any)["content"].([]any)
	if got := parts[1].(map[string]any)["image_url"].(map[string]any)["url"].(string); !strings.HasPrefix(got, "data:image/png;base64,iVBORw0KGgo") {
		t.Errorf("image url: got %q", got)
	}
	if got := parts[2].(map[string]any)["file"].(map[string]any)["filename"]; got != "Report.PDF" {
		t.Errorf("filename: got %v, want Report.PDF", got)
	}
	if got := PromptText(p); got != "What is this?\nBe brief." {
		t.Errorf("PromptText: got %q", got)
	}
}
