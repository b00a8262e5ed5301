package replay

import (
	"reflect"
	"strings"
	"testing"

	"github.com/llmeter-go/llmeter"
)

// Checks for the table tests every endpoint package has: payload builders,
// PreparePayload, ParsePayload, configuration readers and saving.

// CheckResult checks what a call that may fail returned: with wantErr set,
// an error containing it (the test stops otherwise); else no error and got
// deeply equal to want.
func CheckResult[T any](t *testing.T, got T, err error, want T, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error: got %v, want one containing %q", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

// CheckPrepare checks that ep.PreparePayload(p) returns want and leaves p
// unchanged; it returns what PreparePayload returned.
func CheckPrepare(t *testing.T, ep llmeter.Endpoint, p, want llmeter.Payload) llmeter.Payload {
	t.Helper()
	before := llmeter.CopyPayload(p)
	got, err := ep.PreparePayload(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("prepared: got %v, want %v", got, want)
	}
	if !reflect.DeepEqual(p, before) {
		t.Errorf("input modified: got %v, want %v", p, before)
	}
	return got
}

// CheckPrompt checks that ep.ParsePayload(p) returns want.
func CheckPrompt(t *testing.T, ep llmeter.Endpoint, p llmeter.Payload, want any) {
	t.Helper()
	got, err := ep.ParsePayload(p)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("prompt: got %#v, want %#v", got, want)
	}
}

// RoundTrip saves ep as run_config.json holds it (llmeter.EndpointToMap,
// then JSON), checks that none of secrets is in the saved bytes, loads it
// back (llmeter.LoadEndpoint) and checks the loaded endpoint's Info. It
// returns the loaded endpoint and the saved map.
func RoundTrip(t *testing.T, ep llmeter.Endpoint, secrets ...string) (llmeter.Endpoint, map[string]any) {
	t.Helper()
	m := llmeter.EndpointToMap(ep)
	saved, err := llmeter.MarshalJSONValue(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range secrets {
		if strings.Contains(string(saved), secret) {
			t.Errorf("saved config %s contains the secret %q", saved, secret)
		}
	}
	v, err := llmeter.DecodeJSON(saved)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := llmeter.LoadEndpoint(v.(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := loaded.Info(), ep.Info(); got != want {
		t.Errorf("Info: got %+v, want %+v", got, want)
	}
	return loaded, m
}

// CheckError checks that err holds wantErr and none of secrets.
func CheckError(t *testing.T, err error, wantErr string, secrets ...string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("error: got %v, want one containing %q", err, wantErr)
	}
	for _, secret := range secrets {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q leaks the secret %q", err, secret)
		}
	}
}

// CheckFastPath tests a stream parser's fast path. check compares the fast
// path with encoding/json on one event's data and reports whether the fast
// path took it; CheckFastPath runs it on the seeds (meant to trip the fast
// path), then on the events of the SSE transcripts matching glob: every
// event that skip does not exempt must go through the fast path, and there
// must be at least min of them.
func CheckFastPath(t *testing.T, seeds []string, glob string, min int, skip func(data []byte) bool,
	check func(t *testing.T, data []byte) bool) {
	t.Helper()
	for _, s := range seeds {
		check(t, []byte(s))
	}
	n := 0
	for _, ev := range SSEData(t, glob) {
		if skip(ev.Data) {
			continue
		}
		if !check(t, ev.Data) {
			t.Errorf("%s: fast path declined %s", ev.Name, ev.Data)
		}
		n++
	}
	if n < min {
		t.Errorf("fast path checked on %d testdata events, want at least %d", n, min)
	}
}

// FuzzFastPath fuzzes check (see CheckFastPath) from the seeds.
func FuzzFastPath(f *testing.F, seeds []string, check func(t *testing.T, data []byte) bool) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check(t, data)
	})
}
