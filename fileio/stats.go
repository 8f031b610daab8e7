package fileio

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// Stats counts the operations and bytes of a FileIO wrapped by Instrument.
// The counters may be read at any time.
type Stats struct {
	// Calls of each method.
	Open, ReadFile, Create, WriteFile, CreateIfAbsent atomic.Int64
	Delete, Stat, List                                atomic.Int64
	// Errors counts failed calls, except those reporting ErrNotExist or
	// ErrExist, which are answers rather than failures.
	Errors       atomic.Int64
	BytesRead    atomic.Int64 // through ReadFile and open Files
	BytesWritten atomic.Int64 // through WriteFile, CreateIfAbsent and Writers
}

func (s *Stats) String() string {
	return fmt.Sprintf("open=%d read-file=%d create=%d write-file=%d create-if-absent=%d delete=%d stat=%d list=%d errors=%d bytes-read=%d bytes-written=%d",
		s.Open.Load(), s.ReadFile.Load(), s.Create.Load(), s.WriteFile.Load(), s.CreateIfAbsent.Load(),
		s.Delete.Load(), s.Stat.Load(), s.List.Load(), s.Errors.Load(), s.BytesRead.Load(), s.BytesWritten.Load())
}

// Instrument returns fio counting its calls into s.
func Instrument(fio FileIO, s *Stats) FileIO { return &instrumented{fio: fio, s: s} }

type instrumented struct {
	fio FileIO
	s   *Stats
}

func (i *instrumented) count(c *atomic.Int64, err error) error {
	c.Add(1)
	if err != nil && !errors.Is(err, ErrNotExist) && !errors.Is(err, ErrExist) {
		i.s.Errors.Add(1)
	}
	return err
}

func (i *instrumented) Open(ctx context.Context, path string) (File, error) {
	f, err := i.fio.Open(ctx, path)
	if i.count(&i.s.Open, err) != nil {
		return nil, err
	}
	return &countingFile{File: f, s: i.s}, nil
}

func (i *instrumented) ReadFile(ctx context.Context, path string) ([]byte, error) {
	b, err := i.fio.ReadFile(ctx, path)
	i.s.BytesRead.Add(int64(len(b)))
	return b, i.count(&i.s.ReadFile, err)
}

func (i *instrumented) Create(ctx context.Context, path string) (Writer, error) {
	w, err := i.fio.Create(ctx, path)
	if i.count(&i.s.Create, err) != nil {
		return nil, err
	}
	return &countingWriter{Writer: w, i: i}, nil
}

func (i *instrumented) WriteFile(ctx context.Context, path string, data []byte) error {
	err := i.fio.WriteFile(ctx, path, data)
	if err == nil {
		i.s.BytesWritten.Add(int64(len(data)))
	}
	return i.count(&i.s.WriteFile, err)
}

func (i *instrumented) CreateIfAbsent(ctx context.Context, path string, data []byte) error {
	err := i.fio.CreateIfAbsent(ctx, path, data)
	if err == nil {
		i.s.BytesWritten.Add(int64(len(data)))
	}
	return i.count(&i.s.CreateIfAbsent, err)
}

func (i *instrumented) Delete(ctx context.Context, path string) error {
	return i.count(&i.s.Delete, i.fio.Delete(ctx, path))
}

func (i *instrumented) Stat(ctx context.Context, path string) (FileInfo, error) {
	fi, err := i.fio.Stat(ctx, path)
	return fi, i.count(&i.s.Stat, err)
}

func (i *instrumented) List(ctx context.Context, dir string) ([]FileInfo, error) {
	l, err := i.fio.List(ctx, dir)
	return l, i.count(&i.s.List, err)
}

type countingFile struct {
	File
	s *Stats
}

func (f *countingFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.s.BytesRead.Add(int64(n))
	return n, err
}

func (f *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.s.BytesRead.Add(int64(n))
	return n, err
}

type countingWriter struct {
	Writer
	i *instrumented
	n int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.Writer.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) Close() error {
	err := w.Writer.Close()
	if err == nil {
		w.i.s.BytesWritten.Add(w.n)
	} else if !errors.Is(err, ErrNotExist) {
		w.i.s.Errors.Add(1)
	}
	return err
}
