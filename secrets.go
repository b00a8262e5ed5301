package llmeter

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Secrets (API keys, tokens, credentials) never appear in what llmeter
// writes: endpoints and the command line register the ones they hold, and
// every recorded error message goes through Redact. A server that echoes a
// key in its error body is answered with "[REDACTED]" in the results.

var (
	secretsMu sync.Mutex
	secrets   atomic.Pointer[strings.Replacer]
	secretSet = map[string]bool{}
)

// minSecretLen is the shortest value taken as a secret: shorter ones would
// redact ordinary words.
const minSecretLen = 6

// RegisterSecret makes Redact hide s (and, for "Bearer x" or "Basic x", x).
// Values shorter than 6 characters are ignored.
func RegisterSecret(s string) {
	s = strings.TrimSpace(s)
	for _, prefix := range []string{"Bearer ", "bearer ", "Basic ", "basic "} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			RegisterSecret(rest)
		}
	}
	if len(s) < minSecretLen {
		return
	}
	secretsMu.Lock()
	defer secretsMu.Unlock()
	if secretSet[s] {
		return
	}
	secretSet[s] = true
	// Longest first, so that a secret containing another is hidden whole.
	var all []string
	for k := range secretSet {
		all = append(all, k)
	}
	slices.SortFunc(all, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(all))
	for _, k := range all {
		pairs = append(pairs, k, "[REDACTED]")
	}
	secrets.Store(strings.NewReplacer(pairs...))
}

// Redact returns s with every registered secret replaced by "[REDACTED]".
func Redact(s string) string {
	r := secrets.Load()
	if r == nil || s == "" {
		return s
	}
	return r.Replace(s)
}

// IsSecretHeader reports whether an HTTP header's value is a credential
// (Authorization, X-Api-Key, cookies, tokens, signatures …), to be
// registered with RegisterSecret and never recorded.
func IsSecretHeader(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"auth", "key", "token", "secret", "cookie", "password", "signature", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
