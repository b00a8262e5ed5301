package openai

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"path/filepath"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/prompt"
)

// CreateMultimodalPayload builds a Chat Completions payload whose user
// message mixes text and media (LLMeter's create_payload with a list of
// strings and MediaContent): {"messages": [{"role": "user", "content": …}],
// "max_tokens": maxTokens}, then the keys of extra (which may override).
//
// A single text item is sent as plain string content. Otherwise the content
// is a list of parts in the order of items:
//
//   - text: {"type": "text", "text": …}
//   - image/jpeg, image/png, image/gif, image/webp:
//     {"type": "image_url", "image_url": {"url": "data:<mime>;base64,<data>"}}
//   - audio/mpeg, audio/wav: {"type": "input_audio", "input_audio":
//     {"data": "<base64>", "format": "mp3" | "wav"}}
//   - application/pdf: {"type": "file", "file": {"file_data":
//     "data:application/pdf;base64,<data>", "filename": <base name of
//     SourcePath, only when known>}}
//
// Video cannot be sent inline, and any other MIME type is an error, as are
// an empty list and maxTokens ≤ 0. Media bytes are base64-encoded here, so
// the payload is plain JSON.
func CreateMultimodalPayload(items []prompt.Item, maxTokens int, extra map[string]any) (llmeter.Payload, error) {
	if maxTokens <= 0 {
		return nil, fmt.Errorf("openai: max_tokens must be a positive integer, got %d", maxTokens)
	}
	if len(items) == 0 {
		return nil, errors.New("openai: no user message")
	}
	var content any
	if t, ok := items[0].(prompt.Text); ok && len(items) == 1 {
		content = string(t)
	} else {
		parts := make([]any, len(items))
		for i, it := range items {
			part, err := contentPart(it)
			if err != nil {
				return nil, fmt.Errorf("openai: item %d: %w", i, err)
			}
			parts[i] = part
		}
		content = parts
	}
	p := llmeter.Payload{
		"messages":   []any{map[string]any{"role": "user", "content": content}},
		"max_tokens": maxTokens,
	}
	maps.Copy(p, extra)
	return p, nil
}

// audioFormats are the input_audio formats by MIME type (with the aliases a
// hand-made Media may use).
var audioFormats = map[string]string{
	"audio/mpeg": "mp3", "audio/mp3": "mp3",
	"audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav",
}

// contentPart is the Chat Completions content part of one item.
func contentPart(it prompt.Item) (map[string]any, error) {
	switch x := it.(type) {
	case prompt.Text:
		return map[string]any{"type": "text", "text": string(x)}, nil
	case prompt.Media:
		return mediaPart(x)
	case *prompt.Media:
		if x != nil {
			return mediaPart(*x)
		}
	}
	return nil, fmt.Errorf("unsupported content item %T", it)
}

func mediaPart(m prompt.Media) (map[string]any, error) {
	if m.Kind == prompt.Video {
		return nil, fmt.Errorf("video (%s) is not supported inline by the Chat Completions API", m.MIMEType)
	}
	b64 := base64.StdEncoding.EncodeToString(m.Data)
	switch m.MIMEType {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
		return map[string]any{"type": "image_url", "image_url": map[string]any{
			"url": "data:" + m.MIMEType + ";base64," + b64}}, nil
	case "application/pdf":
		file := map[string]any{"file_data": "data:application/pdf;base64," + b64}
		if m.SourcePath != "" {
			file["filename"] = filepath.Base(m.SourcePath)
		}
		return map[string]any{"type": "file", "file": file}, nil
	}
	if f, ok := audioFormats[m.MIMEType]; ok {
		return map[string]any{"type": "input_audio", "input_audio": map[string]any{"data": b64, "format": f}}, nil
	}
	return nil, fmt.Errorf("unsupported MIME type %q for %s content (want image/jpeg, image/png, image/gif, "+
		"image/webp, audio/mpeg, audio/wav or application/pdf)", m.MIMEType, m.Kind)
}
