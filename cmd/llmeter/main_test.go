package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"llmeter": main})
}

// TestScripts runs the end-to-end scripts in testdata/script. Besides the
// llmeter command they have:
//
//	exitcode N prog args...   run prog (like exec) and check its exit code
//	jsonkeys FILE key[=value]...  check that FILE (or stdout) is a JSON object with these keys (a.b: key b of object a) (and values); with !, that it has none of them
//	chop FILE                 remove the last byte of FILE (a torn last line)
//
// and $FAKE_API, the base of a fake OpenAI API: $FAKE_API/auth/v1 answers
// every request with HTTP 401, $FAKE_API/missing/v1 with HTTP 404. The AWS
// environment points at an in-process S3 server with the bucket
// llmeter-test.
func TestScripts(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(fakeAPI))
	t.Cleanup(fake.Close) // the scripts run in parallel, after this function returns
	s3env := startFakeS3(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("FAKE_API", fake.URL)
			for _, kv := range s3env {
				k, v, _ := strings.Cut(kv, "=")
				env.Setenv(k, v)
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitCode,
			"jsonkeys": cmdJSONKeys,
			"chop":     cmdChop,
		},
	})
}

// fakeAPI fails like OpenAI does for a bad key or an unknown model.
func fakeAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasPrefix(r.URL.Path, "/auth/"):
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error": {"message": "Incorrect API key provided: %s.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}`, key)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error": {"message": "The model does not exist.", "type": "invalid_request_error", "code": "model_not_found"}}`)
	}
}

func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N prog args...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with code %d, want %d", args[1], got, want)
	}
}

func cmdJSONKeys(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: jsonkeys FILE key[=value]...")
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &obj); err != nil {
		ts.Fatalf("%s is not a JSON object: %v", args[0], err)
	}
	for _, kv := range args[1:] {
		k, want, hasValue := strings.Cut(kv, "=")
		v, ok := lookup(obj, k)
		switch {
		case neg && ok:
			ts.Fatalf("%s has %q (= %v)", args[0], k, v)
		case neg:
		case !ok:
			ts.Fatalf("%s has no key %q", args[0], k)
		case hasValue && fmt.Sprint(v) != want:
			ts.Fatalf("%s: %q is %v, want %s", args[0], k, v, want)
		}
	}
}

// lookup finds a key, or a dotted path of keys ("endpoint.model_id"), in a
// JSON object; a key that itself holds dots is found as is first.
func lookup(obj map[string]any, path string) (any, bool) {
	if v, ok := obj[path]; ok {
		return v, true
	}
	head, rest, found := strings.Cut(path, ".")
	if !found {
		return nil, false
	}
	inner, ok := obj[head].(map[string]any)
	if !ok {
		return nil, false
	}
	return lookup(inner, rest)
}

func cmdChop(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: chop FILE")
	}
	path := ts.MkAbs(args[0])
	data, err := os.ReadFile(path)
	ts.Check(err)
	if len(data) == 0 {
		ts.Fatalf("%s is empty", args[0])
	}
	ts.Check(os.WriteFile(path, data[:len(data)-1], 0o644))
}
