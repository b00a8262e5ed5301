package prompt

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Just the magic numbers of each format, padded; enough for detection.
var samples = map[string][]byte{
	"image/png":       append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 32)...),
	"image/jpeg":      append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), make([]byte, 32)...),
	"image/gif":       append([]byte("GIF89a"), make([]byte, 32)...),
	"image/webp":      append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), make([]byte, 32)...),
	"application/pdf": []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
	"audio/wav":       append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), make([]byte, 32)...),
	"audio/mpeg":      append([]byte("\xff\xfb\x90\x44"), make([]byte, 64)...),
	"video/mp4":       append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), make([]byte, 32)...),
}

func TestDetectFormatMagic(t *testing.T) {
	for want, data := range samples {
		got, err := DetectFormat(data, "")
		if err != nil || got != want {
			t.Errorf("DetectFormat(%s bytes): got %q, %v; want %q", want, got, err, want)
		}
		// Magic wins over a misleading extension.
		if got, _ := DetectFormat(data, "x.txt"); got != want {
			t.Errorf("DetectFormat(%s bytes, x.txt): got %q, want %q", want, got, want)
		}
	}
}

func TestDetectFormatExtension(t *testing.T) {
	for path, want := range map[string]string{"a.JPG": "image/jpeg", "b.mov": "video/quicktime", "c.avi": "video/x-msvideo", "d.Ogg": "audio/ogg", "e.wav": "audio/wav"} {
		if got, err := DetectFormat([]byte("not a known format"), path); err != nil || got != want {
			t.Errorf("DetectFormat(text, %s): got %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := DetectFormat([]byte("plain words"), "notes.txt"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("unknown: got %v, want ErrUnknownFormat", err)
	}
	if _, err := DetectFormat(nil, ""); err == nil {
		t.Error("no content and no path: got nil error")
	}
}

func TestFromPathAndBytes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pic.bin")
	if err := os.WriteFile(path, samples["image/png"], 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := FromPath(Image, path)
	if err != nil {
		t.Fatal(err)
	}
	if m.MIMEType != "image/png" || m.SourcePath != path || m.Kind != Image {
		t.Errorf("FromPath: got %+v", m)
	}
	if _, err := FromBytes(Document, []byte("hello")); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("FromBytes(text): got %v, want ErrUnknownFormat", err)
	}
	if _, err := FromPath(Image, filepath.Join(dir, "missing.png")); err == nil {
		t.Error("FromPath(missing): got nil error")
	}
	if _, err := FromBytes("sticker", samples["image/png"]); err == nil {
		t.Error("unknown kind: got nil error")
	}
}

func TestBedrockBlock(t *testing.T) {
	m, err := FromBytes(Document, samples["application/pdf"])
	if err != nil {
		t.Fatal(err)
	}
	got, err := BedrockBlock(m)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"document": map[string]any{"format": "pdf", "source": map[string]any{"bytes": samples["application/pdf"]}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
	if got, _ := BedrockBlock(Text("hi")); !reflect.DeepEqual(got, map[string]any{"text": "hi"}) {
		t.Errorf("text block: got %#v", got)
	}
	if _, err := BedrockBlock(Media{Kind: Image, MIMEType: "image/tiff"}); err == nil {
		t.Error("tiff: got nil error")
	}
}
