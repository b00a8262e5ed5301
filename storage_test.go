package llmeter

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
)

func TestPaths(t *testing.T) {
	for _, c := range []struct{ dir, name, joined string }{
		{"s3://b/runs", "r1", "s3://b/runs/r1"},
		{"s3://b/runs/", "r1", "s3://b/runs/r1"},
		{"s3://b", "r1", "s3://b/r1"},
		{filepath.Join("a", "b"), "c", filepath.Join("a", "b", "c")},
	} {
		if got := JoinPath(c.dir, c.name); got != c.joined {
			t.Errorf("JoinPath(%q, %q) = %q, want %q", c.dir, c.name, got, c.joined)
		}
		if d, n := SplitPath(c.joined); n != c.name || JoinPath(d, n) != c.joined {
			t.Errorf("SplitPath(%q) = %q, %q", c.joined, d, n)
		}
	}
	for p, want := range map[string]bool{"s3://b/k": true, "file:///tmp/x": false, "C:/x": false, "a/b": false, "9p://x": true, "a b://x": false} {
		if IsURL(p) != want {
			t.Errorf("IsURL(%q) = %v", p, !want)
		}
	}
	if BasePath("s3://b/runs/r1/") != "r1" {
		t.Errorf("BasePath: %q", BasePath("s3://b/runs/r1/"))
	}
	if _, err := StorageFor("nosuch://b/k"); err == nil {
		t.Error("StorageFor of an unregistered scheme: no error")
	}
}

func TestLocalStorage(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	run := filepath.Join(dir, "runs", "r1")
	if err := Local.Claim(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := Local.Claim(ctx, run); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Claim: %v, want fs.ErrExist", err)
	}
	if err := WriteFile(ctx, "file://"+filepath.Join(run, "a.json"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	w, err := Local.Create(ctx, filepath.Join(run, "sub", "b.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x\n"))
	w.Close()
	names, err := ListPath(ctx, run)
	if err != nil || !slices.Equal(names, []string{"a.json", "sub/"}) {
		t.Errorf("List: %q, %v", names, err)
	}
	if !fileExists(filepath.Join(run, "a.json")) || fileExists(filepath.Join(run, "sub")) || fileExists(filepath.Join(run, "none")) {
		t.Error("fileExists: wrong for a file, a folder or nothing")
	}
	if !PathExists(ctx, run) || PathExists(ctx, filepath.Join(dir, "none")) {
		t.Error("PathExists: wrong")
	}
	if b, err := ReadFile(ctx, filepath.Join(run, "sub", "b.jsonl")); err != nil || string(b) != "x\n" {
		t.Errorf("ReadFile: %q, %v", b, err)
	}
}
