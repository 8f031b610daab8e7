// Package fileio is Tarn's object-storage interface: one small FileIO with a
// local-filesystem, an S3 (MinIO, AWS, any S3-compatible server) and an
// in-memory implementation.
//
// FileIO models an object store. There are files (objects) addressed by full
// paths, and directories are only the prefixes of file paths:
//
//   - Open, Stat and Delete act on files. Stat of a directory reports
//     ErrNotExist on every implementation.
//   - List returns the direct children of a directory: files, and the
//     sub-directories that hold files (IsDir). Listing a directory that does
//     not exist returns no entries and no error.
//   - A file written with Create or WriteFile becomes visible, complete, only
//     when the write succeeds; readers never see a partial file.
//   - CreateIfAbsent is atomic: of any number of concurrent callers for one
//     path exactly one succeeds, and the others get ErrExist. Snapshot commits
//     rely on it.
//
// Paths are strings: "/abs/path", "file:///abs/path", "file:/abs/path" (the
// form Paimon writes), "s3://bucket/key" (and "s3a://", "s3n://"). Use New to
// pick the implementation for a warehouse URI.
//
// Errors are *fs.PathError values carrying the operation and the path. Use
// errors.Is(err, ErrNotExist) and errors.Is(err, ErrExist) to classify them.
package fileio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// Sentinel errors. They are the io/fs ones, so errors from the os package
// match them too.
var (
	// ErrNotExist reports that a file does not exist.
	ErrNotExist = fs.ErrNotExist
	// ErrExist reports that CreateIfAbsent found the file already there.
	ErrExist = fs.ErrExist
)

// FileIO is object storage. All methods are safe for concurrent use.
type FileIO interface {
	// Open opens a file for reading. The File uses ctx for all its reads.
	// It fails with ErrNotExist when the file is missing.
	Open(ctx context.Context, path string) (File, error)

	// ReadFile returns the whole content of a file.
	ReadFile(ctx context.Context, path string) ([]byte, error)

	// Create starts writing a file, replacing any existing one. The file
	// appears only when Close returns nil; Abort (or a failed Write or
	// Close, or a cancelled ctx) leaves the path as it was. Parent
	// directories are created as needed.
	Create(ctx context.Context, path string) (Writer, error)

	// WriteFile writes a whole file, replacing any existing one, with the
	// same visibility rules as Create.
	WriteFile(ctx context.Context, path string, data []byte) error

	// CreateIfAbsent atomically creates a file with the given content if
	// no file exists at path. If one exists it returns an error matching
	// ErrExist and leaves the file untouched.
	CreateIfAbsent(ctx context.Context, path string, data []byte) error

	// Delete removes a file. Deleting a missing file is not an error. On
	// the local filesystem Delete also removes an empty directory.
	Delete(ctx context.Context, path string) error

	// Stat describes a file. It fails with ErrNotExist when the file is
	// missing (and for directories, see the package documentation).
	Stat(ctx context.Context, path string) (FileInfo, error)

	// List returns the direct children of a directory, sorted by name.
	List(ctx context.Context, dir string) ([]FileInfo, error)
}

// File is an open file. Read and Seek share one position; ReadAt is
// independent of it and safe for concurrent use.
type File interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
	// Size is the file's size in bytes, as of Open.
	Size() int64
}

// Writer is a file being written by Create.
type Writer interface {
	io.Writer
	// Close finishes the file and makes it visible. The file is published
	// only if Close returns nil.
	Close() error
	// Abort discards the data written so far; the path is left as it was.
	// Abort after Close, or a second Abort, does nothing.
	Abort() error
}

// FileInfo describes a file or, from List, a directory.
type FileInfo struct {
	// Path is the full path, in the form the caller used: for List, the
	// listed directory joined with the entry's name.
	Path    string
	Size    int64
	ModTime time.Time // zero for directories of object stores
	IsDir   bool
}

// Name is the last element of Path.
func (fi FileInfo) Name() string { return path.Base(fi.Path) }

// Exists reports whether a file exists.
func Exists(ctx context.Context, fio FileIO, path string) (bool, error) {
	_, err := fio.Stat(ctx, path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotExist):
		return false, nil
	default:
		return false, err
	}
}

// RemoveAll deletes every file below dir, recursively, and on the local
// filesystem the directories too. A missing dir is not an error.
func RemoveAll(ctx context.Context, fio FileIO, dir string) error {
	entries, err := fio.List(ctx, dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir {
			err = RemoveAll(ctx, fio, e.Path)
		} else {
			err = fio.Delete(ctx, e.Path)
		}
		if err != nil {
			return err
		}
	}
	return fio.Delete(ctx, dir)
}

// Join joins a directory path and names with "/", keeping the directory's
// scheme and form ("file:/x", "s3://b/x").
func Join(dir string, names ...string) string {
	s := strings.TrimRight(dir, "/")
	for _, n := range names {
		n = strings.Trim(n, "/")
		switch {
		case n == "":
		case s == "" && !strings.HasPrefix(dir, "/"):
			s = n // dir "" names the current directory
		default:
			s += "/" + n
		}
	}
	if s == "" && strings.HasPrefix(dir, "/") {
		return "/"
	}
	return s
}

// New returns the FileIO for the scheme of uri: the local filesystem for
// plain paths and "file:", S3 for "s3:", "s3a:" and "s3n:", and a new empty
// in-memory store for "mem:". opts configures S3 and is completed from the
// environment (see Options).
func New(ctx context.Context, uri string, opts Options) (FileIO, error) {
	switch scheme(uri) {
	case "", "file":
		return NewLocal(), nil
	case "s3", "s3a", "s3n":
		return NewS3(ctx, opts)
	case "mem", "memory":
		return NewMemory(), nil
	default:
		return nil, fmt.Errorf("fileio: unsupported scheme in %q", uri)
	}
}

// scheme returns the lower-cased URI scheme of p, or "" for a plain path.
// A Windows-like "c:" drive letter is not a scheme.
func scheme(p string) string {
	i := strings.Index(p, ":")
	if i < 2 {
		return ""
	}
	s := p[:i]
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return ""
		}
	}
	return strings.ToLower(s)
}

// localPath converts "file:///p", "file://localhost/p", "file:/p" and plain
// paths to an OS path. Like Paimon's and Hadoop's paths, the string is not
// percent-decoded: Paimon escapes partition values into directory names
// ("dt=a%3Ab"), and those names are literal on disk.
func localPath(p string) (string, error) {
	if scheme(p) == "" {
		return p, nil
	}
	if scheme(p) != "file" {
		return "", errors.New("not a local path")
	}
	rest := p[len("file:"):]
	if after, ok := strings.CutPrefix(rest, "//"); ok {
		host, path, _ := strings.Cut(after, "/")
		if host != "" && host != "localhost" {
			return "", fmt.Errorf("file URI with host %q", host)
		}
		rest = "/" + path
	}
	if !strings.HasPrefix(rest, "/") {
		return "", errors.New("file URI without an absolute path")
	}
	return rest, nil
}

// pathError wraps err with the operation and path, unless it already is a
// *fs.PathError for the same path.
func pathError(op, path string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return err
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}
