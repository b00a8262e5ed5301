package httpep

// EachMap calls f for every object of a JSON array ([]any, whose other
// elements are skipped, or []map[string]any), as payloads built in Go or
// decoded from JSON hold them; anything else has no objects.
func EachMap(v any, f func(map[string]any)) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				f(m)
			}
		}
	case []map[string]any:
		for _, m := range x {
			f(m)
		}
	}
}
