// Package jpath is how llmeter's configurable endpoints (Bedrock InvokeModel,
// SageMaker, the generic HTTP endpoint) find text, token counts and ids in
// JSON they do not know in advance: JMESPath expressions
// (https://jmespath.org), compiled once.
package jpath

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/jmespath-community/go-jmespath"
)

// Path is a compiled JMESPath expression. A nil *Path (from an empty
// expression) finds nothing.
type Path struct {
	expr string
	q    jmespath.JMESPath
}

// Compile compiles expr; an empty expr gives a nil Path (disabled).
func Compile(expr string) (*Path, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	q, err := jmespath.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("JMESPath %q: %w", expr, err)
	}
	return &Path{expr: expr, q: q}, nil
}

// MustCompile is Compile for expressions known to be valid (defaults).
func MustCompile(expr string) *Path {
	p, err := Compile(expr)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the expression ("" for a nil Path).
func (p *Path) String() string {
	if p == nil {
		return ""
	}
	return p.expr
}

// Search evaluates the expression on v (a value decoded by encoding/json
// without UseNumber); nil when the path is nil, finds nothing or fails.
func (p *Path) Search(v any) any {
	if p == nil {
		return nil
	}
	r, err := p.q.Search(v)
	if err != nil {
		return nil
	}
	return r
}

// Text returns what the expression finds as text: a string as is, a list
// of strings (nulls skipped) joined by sep. ok is false when it finds
// nothing or something else.
func (p *Path) Text(v any, sep string) (s string, ok bool) {
	switch x := p.Search(v).(type) {
	case string:
		return x, true
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			switch y := e.(type) {
			case string:
				parts = append(parts, y)
			case nil:
			default:
				return "", false
			}
		}
		return strings.Join(parts, sep), true
	}
	return "", false
}

// Int returns what the expression finds as a whole number (a JSON number
// with no fraction), or nil.
func (p *Path) Int(v any) *int {
	var f float64
	switch x := p.Search(v).(type) {
	case float64:
		f = x
	case int:
		return &x
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return nil
		}
	default:
		return nil
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return nil
	}
	n := int(f)
	return &n
}
