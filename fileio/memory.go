package fileio

import (
	"bytes"
	"context"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is an in-memory FileIO for tests of the code above storage. Like an
// object store it holds only files; directories exist as prefixes of file
// paths. Paths are used as given, cleaned of repeated and trailing slashes,
// whatever their scheme.
type Memory struct {
	mu    sync.RWMutex
	files map[string]memFile
}

type memFile struct {
	data    []byte // never modified once stored
	modTime time.Time
}

// NewMemory returns an empty in-memory FileIO.
func NewMemory() *Memory { return &Memory{files: map[string]memFile{}} }

var _ FileIO = (*Memory)(nil)

// memKey cleans p into the map key.
func memKey(p string) string {
	s := scheme(p)
	rest := p
	if s != "" {
		rest = strings.TrimLeft(p[len(s)+1:], "/")
		return s + "://" + strings.TrimPrefix(path.Clean("/"+rest), "/")
	}
	return path.Clean(p)
}

func (m *Memory) get(op, p string) (memFile, error) {
	m.mu.RLock()
	f, ok := m.files[memKey(p)]
	m.mu.RUnlock()
	if !ok {
		return memFile{}, pathError(op, p, ErrNotExist)
	}
	return f, nil
}

// Open implements FileIO.
func (m *Memory) Open(ctx context.Context, p string) (File, error) {
	if err := ctx.Err(); err != nil {
		return nil, pathError("open", p, err)
	}
	f, err := m.get("open", p)
	if err != nil {
		return nil, err
	}
	return memReader{bytes.NewReader(f.data)}, nil
}

type memReader struct{ *bytes.Reader }

func (memReader) Close() error { return nil }

// ReadFile implements FileIO.
func (m *Memory) ReadFile(ctx context.Context, p string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, pathError("read", p, err)
	}
	f, err := m.get("read", p)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(f.data), nil
}

// Create implements FileIO.
func (m *Memory) Create(ctx context.Context, p string) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, pathError("create", p, err)
	}
	return &memWriter{ctx: ctx, m: m, path: p}, nil
}

type memWriter struct {
	ctx  context.Context
	m    *Memory
	path string
	buf  bytes.Buffer
	done bool
}

func (w *memWriter) Write(b []byte) (int, error) {
	if w.done {
		return 0, pathError("write", w.path, os.ErrClosed)
	}
	return w.buf.Write(b)
}

func (w *memWriter) Close() error {
	if w.done {
		return pathError("close", w.path, os.ErrClosed)
	}
	w.done = true
	return w.m.WriteFile(w.ctx, w.path, w.buf.Bytes())
}

func (w *memWriter) Abort() error {
	w.done = true
	return nil
}

// WriteFile implements FileIO.
func (m *Memory) WriteFile(ctx context.Context, p string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return pathError("write", p, err)
	}
	f := memFile{data: bytes.Clone(data), modTime: time.Now()}
	m.mu.Lock()
	m.files[memKey(p)] = f
	m.mu.Unlock()
	return nil
}

// CreateIfAbsent implements FileIO.
func (m *Memory) CreateIfAbsent(ctx context.Context, p string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return pathError("create-if-absent", p, err)
	}
	f := memFile{data: bytes.Clone(data), modTime: time.Now()}
	k := memKey(p)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.files[k]; ok {
		return pathError("create-if-absent", p, ErrExist)
	}
	m.files[k] = f
	return nil
}

// Delete implements FileIO.
func (m *Memory) Delete(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return pathError("delete", p, err)
	}
	m.mu.Lock()
	delete(m.files, memKey(p))
	m.mu.Unlock()
	return nil
}

// Stat implements FileIO.
func (m *Memory) Stat(ctx context.Context, p string) (FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return FileInfo{}, pathError("stat", p, err)
	}
	f, err := m.get("stat", p)
	if err != nil {
		return FileInfo{}, err
	}
	return FileInfo{Path: p, Size: int64(len(f.data)), ModTime: f.modTime}, nil
}

// List implements FileIO.
func (m *Memory) List(ctx context.Context, dir string) ([]FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, pathError("list", dir, err)
	}
	prefix := memKey(dir)
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	type entry struct {
		name  string
		isDir bool
	}
	seen := map[entry]bool{}
	var out []FileInfo
	m.mu.RLock()
	for k, f := range m.files {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		name, _, isDir := strings.Cut(rest, "/")
		if seen[entry{name, isDir}] {
			continue
		}
		seen[entry{name, isDir}] = true
		fi := FileInfo{Path: Join(dir, name), IsDir: isDir}
		if !isDir {
			fi.Size, fi.ModTime = int64(len(f.data)), f.modTime
		}
		out = append(out, fi)
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}
