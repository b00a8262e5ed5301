// Package blobstore keeps run folders, payload files and reports in object
// storage. It adapts buckets of the Go Cloud Development Kit's blob package
// (gocloud.dev/blob) to [llmeter.Storage], so that every path llmeter takes
// (--output, --payload, report and compare arguments) may be a URL:
//
//	s3://bucket/prefix/run1
//
// Register the S3 driver once, e.g. in main:
//
//	blobstore.RegisterS3()
//
// It takes its credentials and region the AWS SDK's usual way (environment,
// shared config, instance role). AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL)
// points it at an S3-compatible store such as MinIO, addressed path-style.
//
// Files are uploaded as they are written, so that a run's responses.jsonl
// is streamed rather than held in memory: the AWS uploader reads up to
// 16 MiB before it chooses a multipart upload, then sends parts of PartSize
// bytes one at a time (at most about 26 MiB held per file being written).
// An object appears once its writer is closed: at the end of a run, also an
// interrupted one; a killed process leaves no responses in the bucket (the
// multipart upload it began is left for the bucket's lifecycle rules).
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/llmeter-go/llmeter"
)

// DefaultPartSize is the size of the parts a file is uploaded in: S3's
// minimum part size, which bounds the memory a streamed file holds.
const DefaultPartSize = 5 << 20

// Store is an llmeter.Storage over the buckets of one URL scheme.
type Store struct {
	scheme string
	open   func(ctx context.Context, bucket string) (*blob.Bucket, error)
	// PartSize is the upload part size; default DefaultPartSize.
	PartSize int

	mu      sync.Mutex
	buckets map[string]*blob.Bucket
}

var _ llmeter.Storage = (*Store)(nil)

// New serves scheme://bucket/key URLs with the buckets open returns (it is
// called once per bucket).
func New(scheme string, open func(ctx context.Context, bucket string) (*blob.Bucket, error)) *Store {
	return &Store{scheme: scheme, open: open, buckets: map[string]*blob.Bucket{}}
}

// S3 serves s3:// URLs with the given AWS configuration; optFns adjust the
// S3 client (an endpoint, path-style addressing).
func S3(cfg aws.Config, optFns ...func(*s3.Options)) *Store {
	client := sync.OnceValue(func() *s3.Client { return s3.NewFromConfig(cfg, optFns...) })
	return s3Store(func(context.Context) (*s3.Client, error) { return client(), nil })
}

// s3Store serves s3:// URLs with the client that client returns (called
// when a bucket is first opened).
func s3Store(client func(context.Context) (*s3.Client, error)) *Store {
	return New("s3", func(ctx context.Context, bucket string) (*blob.Bucket, error) {
		c, err := client(ctx)
		if err != nil {
			return nil, err
		}
		return s3blob.OpenBucket(ctx, c, bucket, &s3blob.Options{
			// S3-compatible stores expect no trailing checksums.
			RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		})
	})
}

// RegisterS3 makes llmeter serve s3:// URLs. The AWS configuration is loaded
// when the first bucket is opened, so that runs that write locally never
// need one.
func RegisterS3() {
	var (
		once   sync.Once
		client *s3.Client
		err    error
	)
	load := func(ctx context.Context) (*s3.Client, error) {
		once.Do(func() {
			var cfg aws.Config
			if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
				err = fmt.Errorf("AWS configuration: %w", err)
				return
			}
			if cfg.Region == "" {
				err = errors.New("no AWS region: set AWS_REGION (or a region in ~/.aws/config)")
				return
			}
			client = s3.NewFromConfig(cfg, func(o *s3.Options) {
				o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
				o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
				// A custom endpoint (MinIO and the like) is addressed
				// path-style.
				if os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != "" {
					o.UsePathStyle = true
				}
			})
		})
		return client, err
	}
	llmeter.RegisterStorage("s3", s3Store(load))
}

// Mem serves mem:// URLs from memory (for tests and examples).
func Mem() *Store {
	return New("mem", func(context.Context, string) (*blob.Bucket, error) { return memblob.OpenBucket(nil), nil })
}

// Close closes the buckets opened so far.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for name, b := range s.buckets {
		errs = append(errs, b.Close())
		delete(s.buckets, name)
	}
	return errors.Join(errs...)
}

// locate splits scheme://bucket/key into its open bucket and key.
func (s *Store) locate(ctx context.Context, p string) (*blob.Bucket, string, error) {
	prefix := s.scheme + "://"
	if !strings.HasPrefix(strings.ToLower(p), prefix) {
		return nil, "", fmt.Errorf("blobstore: %s: not a %s URL", p, prefix)
	}
	rest := p[len(prefix):]
	name, key, _ := strings.Cut(rest, "/")
	if name == "" {
		return nil, "", fmt.Errorf("blobstore: %s: no bucket name", p)
	}
	if strings.ContainsAny(name, "?#") {
		return nil, "", fmt.Errorf("blobstore: %s: query parameters are not supported; configure the client through the AWS environment", p)
	}
	key = strings.Trim(path.Clean("/"+key), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[name]
	if !ok {
		var err error
		if b, err = s.open(ctx, name); err != nil {
			return nil, "", fmt.Errorf("blobstore: bucket %s: %w", name, err)
		}
		s.buckets[name] = b
	}
	return b, key, nil
}

// fail wraps a bucket error with the URL and maps "not found" to
// fs.ErrNotExist.
func fail(p string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return fmt.Errorf("%s: %w", p, err)
}

func (s *Store) writerOptions(key string) *blob.WriterOptions {
	part := s.PartSize
	if part <= 0 {
		part = DefaultPartSize
	}
	return &blob.WriterOptions{ContentType: contentType(key), BufferSize: part, MaxConcurrency: 1}
}

// Create starts an upload of p, in parts as it is written; the object
// appears when Close returns nil. Cancelling ctx aborts the upload.
func (s *Store) Create(ctx context.Context, p string) (io.WriteCloser, error) {
	b, key, err := s.locate(ctx, p)
	if err != nil {
		return nil, err
	}
	w, err := b.NewWriter(ctx, key, s.writerOptions(key))
	if err != nil {
		return nil, fail(p, err)
	}
	return &writer{w: w, p: p}, nil
}

type writer struct {
	w *blob.Writer
	p string
}

func (w *writer) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	if err != nil {
		return n, fail(w.p, err)
	}
	return n, nil
}

func (w *writer) Close() error {
	if err := w.w.Close(); err != nil {
		return fail(w.p, err)
	}
	return nil
}

// WriteFile uploads data as p in one request (an S3 PUT replaces an object
// atomically).
func (s *Store) WriteFile(ctx context.Context, p string, data []byte) error {
	b, key, err := s.locate(ctx, p)
	if err != nil {
		return err
	}
	if err := b.WriteAll(ctx, key, data, s.writerOptions(key)); err != nil {
		return fail(p, err)
	}
	return nil
}

// Open streams the object p.
func (s *Store) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	b, key, err := s.locate(ctx, p)
	if err != nil {
		return nil, err
	}
	r, err := b.NewReader(ctx, key, nil)
	if err != nil {
		return nil, fail(p, err)
	}
	return r, nil
}

// Exists reports whether the object p exists.
func (s *Store) Exists(ctx context.Context, p string) (bool, error) {
	b, key, err := s.locate(ctx, p)
	if err != nil {
		return false, err
	}
	ok, err := b.Exists(ctx, key)
	if err != nil {
		return false, fail(p, err)
	}
	return ok, nil
}

// List returns the objects and "folders" (common prefixes) directly under
// dir.
func (s *Store) List(ctx context.Context, dir string) ([]string, error) {
	b, key, err := s.locate(ctx, dir)
	if err != nil {
		return nil, err
	}
	prefix := key + "/"
	if key == "" {
		prefix = ""
	}
	var names []string
	it := b.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return names, fail(dir, err)
		}
		names = append(names, strings.TrimPrefix(obj.Key, prefix))
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: %w", dir, fs.ErrNotExist)
	}
	return names, nil
}

// Claim checks that nothing is stored under dir yet. Object stores have no
// folders to create, and the check is not atomic: two runs started at the
// same moment with the same folder would both pass it.
func (s *Store) Claim(ctx context.Context, dir string) error {
	b, key, err := s.locate(ctx, dir)
	if err != nil {
		return err
	}
	objs, _, err := b.ListPage(ctx, blob.FirstPageToken, 1, &blob.ListOptions{Prefix: key + "/"})
	if err != nil {
		return fail(dir, err)
	}
	if len(objs) > 0 {
		return fmt.Errorf("%s: %w", dir, fs.ErrExist)
	}
	return nil
}

func contentType(key string) string {
	switch path.Ext(key) {
	case ".json":
		return "application/json"
	case ".jsonl":
		return "application/x-ndjson"
	case ".html":
		return "text/html; charset=utf-8"
	case ".png":
		return "image/png"
	case ".svg":
		return "image/svg+xml"
	default:
		return "application/octet-stream"
	}
}
