package cachebuster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/llmeter-go/llmeter"
)

// Type is the callback's "type" in run_config.json.
const Type = "CacheBuster"

// ExtraKey is the key of the tag in InvocationResponse.Extra.
const ExtraKey = "cache_buster"

// Targets of the tag.
const (
	TargetUser   = "user"   // the first text of the first user message (default)
	TargetSystem = "system" // the system prompt; the user message when there is none
)

// Modes of the tag.
const (
	ModeRandom  = "random"  // 16 random hex digits (default)
	ModeCounter = "counter" // a random run prefix and a counter: "3f9a1c-42"
)

// DefaultTemplate wraps the tag in the text: "[tag] original text".
const DefaultTemplate = "[%s] "

// ErrNoPrompt is returned for a payload without text to tag.
var ErrNoPrompt = errors.New("cachebuster: no prompt text in the payload")

// CacheBuster is the callback. Its zero value tags the user message with a
// random tag. It is safe for concurrent use.
type CacheBuster struct {
	// Target is TargetUser (default) or TargetSystem.
	Target string
	// Mode is ModeRandom (default) or ModeCounter.
	Mode string
	// Template is how the tag is written before the text: it must hold one
	// %s (default DefaultTemplate).
	Template string

	counter atomic.Uint64
	run     atomic.Pointer[string]
}

// Validate checks the settings.
func (c *CacheBuster) Validate() error {
	switch c.Target {
	case "", TargetUser, TargetSystem:
	default:
		return fmt.Errorf("cachebuster: target must be %q or %q, got %q", TargetUser, TargetSystem, c.Target)
	}
	switch c.Mode {
	case "", ModeRandom, ModeCounter:
	default:
		return fmt.Errorf("cachebuster: mode must be %q or %q, got %q", ModeRandom, ModeCounter, c.Mode)
	}
	if c.Template != "" && (strings.Count(c.Template, "%s") != 1 || strings.Count(c.Template, "%") != 1) {
		return fmt.Errorf("cachebuster: template %q must hold exactly one %%s", c.Template)
	}
	return nil
}

func (c *CacheBuster) template() (prefix, suffix string) {
	t := c.Template
	if t == "" {
		t = DefaultTemplate
	}
	prefix, suffix, _ = strings.Cut(t, "%s")
	return prefix, suffix
}

// BeforeRun checks the settings and starts a new counter prefix.
func (c *CacheBuster) BeforeRun(context.Context, *llmeter.Runner) error {
	if err := c.Validate(); err != nil {
		return err
	}
	run := strconv.FormatUint(rand.Uint64()&0xffffff, 16)
	c.run.Store(&run)
	return nil
}

// Tag returns a new tag.
func (c *CacheBuster) Tag() string {
	if c.Mode == ModeCounter {
		run := c.run.Load()
		if run == nil {
			r := strconv.FormatUint(rand.Uint64()&0xffffff, 16)
			c.run.CompareAndSwap(nil, &r)
			run = c.run.Load()
		}
		return *run + "-" + strconv.FormatUint(c.counter.Add(1), 10)
	}
	return fmt.Sprintf("%016x", rand.Uint64())
}

// BeforeInvoke prefixes a new tag to the payload's prompt text.
func (c *CacheBuster) BeforeInvoke(_ context.Context, p llmeter.Payload) error {
	t := locate(p, c.Target == TargetSystem)
	if t == nil {
		return fmt.Errorf("%w (keys: %s)", ErrNoPrompt, strings.Join(slices.Sorted(maps.Keys(p)), ", "))
	}
	pre, suf := c.template()
	t.set(pre + c.Tag() + suf + t.get())
	return nil
}

// AfterInvoke records the tag of the payload that was sent in
// resp.Extra["cache_buster"].
func (c *CacheBuster) AfterInvoke(_ context.Context, r *llmeter.InvocationResponse) error {
	if tag, ok := c.TagOf(r.InputPayload); ok {
		if r.Extra == nil {
			r.Extra = map[string]any{}
		}
		r.Extra[ExtraKey] = tag
	}
	return nil
}

// TagOf reads back the tag that BeforeInvoke wrote into a payload.
func (c *CacheBuster) TagOf(p llmeter.Payload) (string, bool) {
	t := locate(p, c.Target == TargetSystem)
	if t == nil {
		return "", false
	}
	pre, suf := c.template()
	rest, ok := strings.CutPrefix(t.get(), pre)
	if !ok {
		return "", false
	}
	tag, _, ok := strings.Cut(rest, suf)
	if !ok || tag == "" {
		return "", false
	}
	return tag, true
}

// CallbackConfig saves the settings in run_config.json.
func (c *CacheBuster) CallbackConfig() map[string]any {
	cfg := map[string]any{"type": Type, "target": TargetUser, "mode": ModeRandom, "template": DefaultTemplate}
	if c.Target != "" {
		cfg["target"] = c.Target
	}
	if c.Mode != "" {
		cfg["mode"] = c.Mode
	}
	if c.Template != "" {
		cfg["template"] = c.Template
	}
	return cfg
}

// FromConfig re-creates a CacheBuster from its CallbackConfig.
func FromConfig(cfg map[string]any) (*CacheBuster, error) {
	c := &CacheBuster{}
	for k, v := range cfg {
		s, isString := v.(string)
		switch k {
		case "type", "_type", "_callback_type":
			continue
		case "target", "mode", "template":
		default:
			return nil, fmt.Errorf("cachebuster: unknown setting %q", k)
		}
		if !isString {
			return nil, fmt.Errorf("cachebuster: %s must be a string, got %v", k, v)
		}
		switch k {
		case "target":
			c.Target = s
		case "mode":
			c.Mode = s
		case "template":
			c.Template = s
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// text is one string inside a payload: how to read and replace it.
type text struct {
	get func() string
	set func(string)
}

func mapText(m map[string]any, key string) *text {
	if _, ok := m[key].(string); ok {
		return &text{get: func() string { return m[key].(string) }, set: func(v string) { m[key] = v }}
	}
	return nil
}

func sliceText(s []any, i int) *text {
	return &text{get: func() string { return s[i].(string) }, set: func(v string) { s[i] = v }}
}

// locate finds the text to tag: the system prompt when system is set (if
// the payload has one), else the first text of the first user message, else
// a top-level prompt.
func locate(p llmeter.Payload, system bool) *text {
	if p == nil {
		return nil
	}
	if system {
		if t := systemText(p); t != nil {
			return t
		}
	}
	if msgs, ok := p["messages"].([]any); ok {
		if t := firstMessageText(msgs, "user"); t != nil {
			return t
		}
	}
	if msgs, ok := p["contents"].([]any); ok { // Gemini
		if t := firstMessageText(msgs, "user"); t != nil {
			return t
		}
	}
	switch in := p["input"].(type) { // OpenAI Responses
	case string:
		return mapText(p, "input")
	case []any:
		if t := firstMessageText(in, "user"); t != nil {
			return t
		}
	}
	for _, key := range []string{"inputs", "prompt", "inputText"} {
		switch v := p[key].(type) {
		case string:
			return mapText(p, key)
		case []any:
			for i, e := range v {
				if _, ok := e.(string); ok {
					return sliceText(v, i)
				}
			}
		}
	}
	return nil
}

func systemText(p llmeter.Payload) *text {
	switch s := p["system"].(type) { // Anthropic, Bedrock Converse
	case string:
		return mapText(p, "system")
	case []any:
		if t := partsText(s); t != nil {
			return t
		}
	}
	if _, ok := p["instructions"].(string); ok { // OpenAI Responses
		return mapText(p, "instructions")
	}
	if msgs, ok := p["messages"].([]any); ok { // OpenAI, Ollama
		if t := firstMessageText(msgs, "system", "developer"); t != nil {
			return t
		}
	}
	if in, ok := p["input"].([]any); ok {
		if t := firstMessageText(in, "system", "developer"); t != nil {
			return t
		}
	}
	return nil
}

// firstMessageText returns the first text of the first message with one of
// the roles that has text.
func firstMessageText(msgs []any, roles ...string) *text {
	for _, m := range msgs {
		msg, ok := m.(map[string]any)
		if !ok {
			continue
		}
		role, _ := msg["role"].(string)
		if !slices.Contains(roles, role) {
			continue
		}
		switch c := msg["content"].(type) {
		case string:
			return mapText(msg, "content")
		case []any:
			if t := partsText(c); t != nil {
				return t
			}
		}
		if parts, ok := msg["parts"].([]any); ok { // Gemini
			if t := partsText(parts); t != nil {
				return t
			}
		}
	}
	return nil
}

// partsText returns the first text part: a string, or an object with a
// string "text" whose "type", if any, is a text type.
func partsText(parts []any) *text {
	for i, e := range parts {
		switch part := e.(type) {
		case string:
			return sliceText(parts, i)
		case map[string]any:
			if _, ok := part["text"].(string); !ok {
				continue
			}
			switch typ, _ := part["type"].(string); typ {
			case "", "text", "input_text":
				return mapText(part, "text")
			}
		}
	}
	return nil
}
