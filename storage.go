package llmeter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Storage holds run folders and payload files. Paths are the user's own: a
// local path ("results/run1") or a URL whose scheme names a storage
// registered with RegisterStorage ("s3://bucket/prefix/run1"). The local
// file system needs no registration.
//
// A Storage is used by many goroutines at once.
type Storage interface {
	// Create opens path for writing, replacing what is there. Writes may
	// be buffered (an object store uploads in parts); the file is complete
	// once Close returns nil. Folders above path are created as needed.
	Create(ctx context.Context, path string) (io.WriteCloser, error)
	// WriteFile replaces path with data atomically: readers see the old
	// content or the new, never part of it.
	WriteFile(ctx context.Context, path string, data []byte) error
	// Open opens path for reading; a missing file is fs.ErrNotExist.
	Open(ctx context.Context, path string) (io.ReadCloser, error)
	// Exists reports whether path is a file.
	Exists(ctx context.Context, path string) (bool, error)
	// List returns the names of the files and folders directly in dir,
	// sorted, folders with a trailing "/".
	List(ctx context.Context, dir string) ([]string, error)
	// Claim makes dir the folder of a new run: it fails with fs.ErrExist
	// when dir already holds something.
	Claim(ctx context.Context, dir string) error
}

var (
	storageMu sync.RWMutex
	storages  = map[string]Storage{}
)

// RegisterStorage serves paths of the form scheme://... with s.
func RegisterStorage(scheme string, s Storage) {
	storageMu.Lock()
	defer storageMu.Unlock()
	storages[scheme] = s
}

// urlScheme returns the scheme of a URL-like path ("s3" of "s3://b/k"), or
// "" for a local path.
func urlScheme(p string) string {
	i := strings.Index(p, "://")
	if i <= 0 {
		return ""
	}
	for _, c := range p[:i] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return ""
		}
	}
	return strings.ToLower(p[:i])
}

// IsURL reports whether p is a URL (scheme://...) rather than a local path.
func IsURL(p string) bool { return urlScheme(p) != "" && urlScheme(p) != "file" }

// StorageFor returns the Storage of a path: the local file system for a
// plain path or a file:// URL, else the storage registered for its scheme.
func StorageFor(p string) (Storage, error) {
	switch s := urlScheme(p); s {
	case "", "file":
		return Local, nil
	default:
		storageMu.RLock()
		st, ok := storages[s]
		known := slices.Sorted(maps.Keys(storages))
		storageMu.RUnlock()
		if !ok {
			if len(known) == 0 {
				return nil, fmt.Errorf("llmeter: %s: no storage for %s:// URLs", p, s)
			}
			return nil, fmt.Errorf("llmeter: %s: no storage for %s:// URLs (known: %s)", p, s, strings.Join(known, ", "))
		}
		return st, nil
	}
}

// JoinPath joins a folder and names: with "/" for a URL, with the operating
// system's separator for a local path.
func JoinPath(dir string, elem ...string) string {
	if urlScheme(dir) == "" {
		return filepath.Join(append([]string{dir}, elem...)...)
	}
	i := strings.Index(dir, "://") + 3
	rest := path.Join(append([]string{dir[i:]}, elem...)...)
	return dir[:i] + rest
}

// BasePath returns the last element of a local path or URL.
func BasePath(p string) string {
	if urlScheme(p) == "" {
		return filepath.Base(p)
	}
	return path.Base(strings.TrimRight(p, "/"))
}

// storage helpers used by the package: they pick the Storage of the path.

func createFile(ctx context.Context, p string) (io.WriteCloser, error) {
	st, err := StorageFor(p)
	if err != nil {
		return nil, err
	}
	return st.Create(ctx, p)
}

func openFile(ctx context.Context, p string) (io.ReadCloser, error) {
	st, err := StorageFor(p)
	if err != nil {
		return nil, err
	}
	return st.Open(ctx, p)
}

// ReadFile reads a whole file from local disk or a registered storage.
func ReadFile(ctx context.Context, p string) ([]byte, error) {
	r, err := openFile(ctx, p)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// fileExists reports whether p is a file, on any storage.
func fileExists(p string) bool {
	st, err := StorageFor(p)
	if err != nil {
		return false
	}
	ok, err := st.Exists(context.Background(), p)
	return err == nil && ok
}

// ListPath lists a folder on local disk or a registered storage (see
// Storage.List).
func ListPath(ctx context.Context, dir string) ([]string, error) {
	st, err := StorageFor(dir)
	if err != nil {
		return nil, err
	}
	return st.List(ctx, dir)
}

// Local is the local file system as a Storage.
var Local Storage = localStorage{}

type localStorage struct{}

func localPath(p string) string { return strings.TrimPrefix(p, "file://") }

func (localStorage) Create(_ context.Context, p string) (io.WriteCloser, error) {
	p = localPath(p)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	return os.Create(p)
}

// WriteFile writes a temporary file beside p and renames it over p.
func (localStorage) WriteFile(_ context.Context, p string, data []byte) error {
	p = localPath(p)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func (localStorage) Open(_ context.Context, p string) (io.ReadCloser, error) {
	return os.Open(localPath(p))
}

func (localStorage) Exists(_ context.Context, p string) (bool, error) {
	fi, err := os.Stat(localPath(p))
	switch {
	case err == nil:
		return !fi.IsDir(), nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, err
	}
}

func (localStorage) List(_ context.Context, dir string) ([]string, error) {
	entries, err := os.ReadDir(localPath(dir))
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	return names, nil
}

// Claim creates dir, which must not exist (its parents may).
func (localStorage) Claim(_ context.Context, dir string) error {
	dir = localPath(dir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	return os.Mkdir(dir, 0o755)
}

// SplitPath splits a local path or URL into its folder and last element.
func SplitPath(p string) (dir, name string) {
	if urlScheme(p) == "" {
		p = filepath.Clean(p)
		return filepath.Dir(p), filepath.Base(p)
	}
	i := strings.Index(p, "://") + 3
	rest := strings.TrimRight(p[i:], "/")
	j := strings.LastIndex(rest, "/")
	if j < 0 {
		return p[:i] + rest, ""
	}
	return p[:i] + rest[:j], rest[j+1:]
}

// IsRunFolder reports whether dir holds a run: a summary, or the responses
// of a run that was killed before writing its summary.
func IsRunFolder(dir string) bool {
	for _, f := range []string{SummaryFile, ResponsesFile, StatsFile} {
		if fileExists(JoinPath(dir, f)) {
			return true
		}
	}
	return false
}

// WriteFile replaces the file at p, on local disk or a registered storage,
// atomically (see Storage.WriteFile).
func WriteFile(ctx context.Context, p string, data []byte) error {
	st, err := StorageFor(p)
	if err != nil {
		return err
	}
	return st.WriteFile(ctx, p, data)
}

// PathExists reports whether p is a file or a non-empty folder, on local
// disk or a registered storage.
func PathExists(ctx context.Context, p string) bool {
	if !IsURL(p) {
		_, err := os.Stat(localPath(p))
		return err == nil
	}
	if fileExists(p) {
		return true
	}
	names, err := ListPath(ctx, p)
	return err == nil && len(names) > 0
}
