package fileio

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// tmpMarker is part of the names of the temporary files Local writes next to
// their target; List hides them.
const tmpMarker = ".tarn-tmp-"

// Local is the FileIO of the local filesystem. Writes go to a temporary file
// in the target's directory, are fsynced, and are then renamed (Create,
// WriteFile) or hard-linked (CreateIfAbsent) into place, so a file is
// complete when it becomes visible. Directories are not fsynced.
type Local struct{}

// NewLocal returns the local-filesystem FileIO.
func NewLocal() *Local { return &Local{} }

var _ FileIO = (*Local)(nil)

// Open implements FileIO.
func (l *Local) Open(ctx context.Context, p string) (File, error) {
	name, err := l.resolve("open", p)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, localErr("open", p, err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = fmt.Errorf("%w: is a directory", ErrNotExist)
	}
	if err != nil {
		f.Close()
		return nil, localErr("open", p, err)
	}
	return &localFile{File: f, size: st.Size()}, nil
}

type localFile struct {
	*os.File
	size int64
}

func (f *localFile) Size() int64 { return f.size }

// ReadFile implements FileIO.
func (l *Local) ReadFile(ctx context.Context, p string) ([]byte, error) {
	name, err := l.resolve("read", p)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, pathError("read", p, err)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, localErr("read", p, err)
	}
	return b, nil
}

// Create implements FileIO.
func (l *Local) Create(ctx context.Context, p string) (Writer, error) {
	name, err := l.resolve("create", p)
	if err != nil {
		return nil, err
	}
	f, err := createTemp(name)
	if err != nil {
		return nil, localErr("create", p, err)
	}
	return &localWriter{ctx: ctx, path: p, name: name, f: f}, nil
}

type localWriter struct {
	ctx  context.Context
	path string // as the caller named it
	name string // OS path
	f    *os.File
	err  error // first write error
	done bool
}

func (w *localWriter) Write(b []byte) (int, error) {
	if w.done {
		return 0, pathError("write", w.path, os.ErrClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(b)
	if err != nil {
		w.err = localErr("write", w.path, err)
	}
	return n, w.err
}

func (w *localWriter) Close() error {
	if w.done {
		return pathError("close", w.path, os.ErrClosed)
	}
	w.done = true
	err := w.err
	if err == nil {
		err = w.ctx.Err()
	}
	if err == nil {
		err = syncClose(w.f)
	} else {
		w.f.Close()
	}
	if err == nil {
		err = os.Rename(w.f.Name(), w.name)
	}
	if err != nil {
		os.Remove(w.f.Name())
		return localErr("close", w.path, err)
	}
	return nil
}

func (w *localWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	if err := os.Remove(w.f.Name()); err != nil {
		return localErr("abort", w.path, err)
	}
	return nil
}

// WriteFile implements FileIO.
func (l *Local) WriteFile(ctx context.Context, p string, data []byte) error {
	w, err := l.Create(ctx, p)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// CreateIfAbsent implements FileIO: the content is written to a temporary
// file and fsynced, then hard-linked to path, which fails if path exists.
func (l *Local) CreateIfAbsent(ctx context.Context, p string, data []byte) error {
	name, err := l.resolve("create-if-absent", p)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return pathError("create-if-absent", p, err)
	}
	if _, err := os.Lstat(name); err == nil {
		return pathError("create-if-absent", p, ErrExist)
	}
	f, err := createTemp(name)
	if err != nil {
		return localErr("create-if-absent", p, err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = syncClose(f)
	} else {
		f.Close()
	}
	if err == nil {
		err = os.Link(f.Name(), name)
	}
	return localErr("create-if-absent", p, err)
}

// Delete implements FileIO.
func (l *Local) Delete(ctx context.Context, p string) error {
	name, err := l.resolve("delete", p)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return pathError("delete", p, err)
	}
	err = os.Remove(name)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return localErr("delete", p, err)
}

// Stat implements FileIO.
func (l *Local) Stat(ctx context.Context, p string) (FileInfo, error) {
	name, err := l.resolve("stat", p)
	if err != nil {
		return FileInfo{}, err
	}
	st, err := os.Stat(name)
	if err == nil && st.IsDir() {
		err = fmt.Errorf("%w: is a directory", ErrNotExist)
	}
	if err != nil {
		return FileInfo{}, localErr("stat", p, err)
	}
	return FileInfo{Path: p, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// List implements FileIO.
func (l *Local) List(ctx context.Context, dir string) ([]FileInfo, error) {
	name, err := l.resolve("list", dir)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, pathError("list", dir, err)
	}
	entries, err := os.ReadDir(name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, localErr("list", dir, err)
	}
	out := make([]FileInfo, 0, len(entries))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), tmpMarker) {
			continue
		}
		fi := FileInfo{Path: Join(dir, e.Name()), IsDir: e.IsDir()}
		if !fi.IsDir {
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted since ReadDir
			}
			if err != nil {
				return nil, localErr("list", fi.Path, err)
			}
			fi.Size, fi.ModTime = info.Size(), info.ModTime()
		}
		out = append(out, fi)
	}
	slices.SortFunc(out, func(a, b FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

func (l *Local) resolve(op, p string) (string, error) {
	name, err := localPath(p)
	if err != nil {
		return "", pathError(op, p, err)
	}
	return filepath.FromSlash(name), nil
}

// createTemp creates a temporary file next to name, creating the directory
// if needed.
func createTemp(name string) (*os.File, error) {
	dir, base := filepath.Split(name)
	tmp := filepath.Join(dir, "."+base+tmpMarker+randomSuffix())
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrNotExist) && dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	}
	return f, err
}

func syncClose(f *os.File) error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func randomSuffix() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// localErr rewraps an error of the os package so that it names the caller's
// path rather than the OS path or a temporary file.
func localErr(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return pathError(op, p, err)
}
