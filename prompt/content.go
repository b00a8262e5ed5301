// Package prompt builds the content of prompts: multimodal items (images,
// audio, video, documents) read from files or bytes, with their MIME type
// detected, for the providers' create-payload helpers (LLMeter's
// prompt_utils).
//
// Detection is a convenience, not validation: the MIME type comes from the
// first bytes of the content (magic numbers) and, failing that, from the file
// name's extension. A file that starts like a PNG is called image/png whatever
// else it holds. Do not use detection to decide whether untrusted input is
// safe to send or to open.
package prompt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// Kind is the kind of a media item; it decides the content block a provider
// builds (Bedrock's "image", "audio", "video" or "document" key), while the
// MIME type decides the format.
type Kind string

// The media kinds.
const (
	Image    Kind = "image"
	Audio    Kind = "audio"
	Video    Kind = "video"
	Document Kind = "document"
)

// An Item is one part of a user message, in order: Text or Media.
type Item interface{ isItem() }

// Text is a text part of a message.
type Text string

// Media is an image, audio clip, video or document. Build it with FromPath or
// FromBytes; treat it as immutable.
type Media struct {
	Kind       Kind
	Data       []byte
	MIMEType   string
	SourcePath string // the file it was read from, if any
}

func (Text) isItem()  {}
func (Media) isItem() {}

// FromPath reads a media item from a file and detects its MIME type from its
// bytes, then from the file name's extension. It fails when neither tells.
func FromPath(kind Kind, path string) (Media, error) {
	if err := kind.valid(); err != nil {
		return Media{}, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Media{}, fmt.Errorf("prompt: %w", err)
	}
	mt, err := DetectFormat(data, path)
	if err != nil {
		return Media{}, err
	}
	return Media{Kind: kind, Data: data, MIMEType: mt, SourcePath: path}, nil
}

// FromBytes makes a media item from bytes whose MIME type is detected from
// their magic numbers; it fails when they match no known format.
func FromBytes(kind Kind, data []byte) (Media, error) {
	if err := kind.valid(); err != nil {
		return Media{}, err
	}
	mt, err := DetectFormat(data, "")
	if err != nil {
		return Media{}, err
	}
	return Media{Kind: kind, Data: data, MIMEType: mt}, nil
}

func (k Kind) valid() error {
	switch k {
	case Image, Audio, Video, Document:
		return nil
	}
	return fmt.Errorf("prompt: unknown media kind %q (want image, audio, video or document)", string(k))
}

// extensions maps file extensions to MIME types, LLMeter's list.
var extensions = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
	".webp": "image/webp", ".pdf": "application/pdf", ".mp4": "video/mp4",
	".mov": "video/quicktime", ".avi": "video/x-msvideo", ".mp3": "audio/mpeg",
	".wav": "audio/wav", ".ogg": "audio/ogg",
}

// aliases turns the detector's names into the ones providers expect.
var aliases = map[string]string{
	"audio/x-wav": "audio/wav", "audio/vnd.wave": "audio/wav", "audio/wave": "audio/wav",
	"audio/mp3": "audio/mpeg", "audio/x-mpeg": "audio/mpeg",
	"application/ogg": "audio/ogg", "audio/x-ogg": "audio/ogg",
	"video/x-quicktime": "video/quicktime", "video/avi": "video/x-msvideo",
}

// ErrUnknownFormat is returned when no MIME type can be determined.
var ErrUnknownFormat = errors.New("prompt: unknown media format")

// DetectFormat returns the MIME type of content from its magic numbers, else
// from path's extension (case-insensitive). At least one of content and path
// must be given.
func DetectFormat(content []byte, path string) (string, error) {
	if len(content) == 0 && path == "" {
		return "", errors.New("prompt: DetectFormat needs content or a file path")
	}
	if len(content) > 0 {
		m := mimetype.Detect(content)
		if mt := m.String(); mt != "application/octet-stream" && !m.Is("text/plain") {
			mt, _, _ = strings.Cut(mt, ";")
			if a, ok := aliases[mt]; ok {
				mt = a
			}
			return mt, nil
		}
	}
	if path != "" {
		if mt, ok := extensions[strings.ToLower(filepath.Ext(path))]; ok {
			return mt, nil
		}
	}
	what := "content"
	if path != "" {
		what = path
	}
	return "", fmt.Errorf("%w: %s", ErrUnknownFormat, what)
}

// BedrockFormat is the "format" of a Bedrock (and SageMaker) content block
// for a MIME type: jpeg, png, gif, webp, pdf, mp4, mov, avi, mp3, wav or ogg.
func BedrockFormat(mimeType string) (string, error) {
	switch mimeType {
	case "image/jpeg":
		return "jpeg", nil
	case "image/png":
		return "png", nil
	case "image/gif":
		return "gif", nil
	case "image/webp":
		return "webp", nil
	case "application/pdf":
		return "pdf", nil
	case "video/mp4":
		return "mp4", nil
	case "video/quicktime":
		return "mov", nil
	case "video/x-msvideo":
		return "avi", nil
	case "audio/mpeg":
		return "mp3", nil
	case "audio/wav", "audio/x-wav":
		return "wav", nil
	case "audio/ogg":
		return "ogg", nil
	}
	return "", fmt.Errorf("prompt: MIME type %q has no Bedrock format", mimeType)
}

// BedrockBlock returns the Bedrock Converse content block of an item:
// {"text": …} or {<kind>: {"format": <fmt>, "source": {"bytes": <data>}}}.
// Bytes stay []byte, so payload files hold them as __llmeter_bytes__.
func BedrockBlock(it Item) (map[string]any, error) {
	switch x := it.(type) {
	case Text:
		return map[string]any{"text": string(x)}, nil
	case Media:
		f, err := BedrockFormat(x.MIMEType)
		if err != nil {
			return nil, err
		}
		return map[string]any{string(x.Kind): map[string]any{"format": f, "source": map[string]any{"bytes": x.Data}}}, nil
	}
	return nil, fmt.Errorf("prompt: unsupported item %T", it)
}
