package fileio_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/fileio/fileiotest"
)

func TestLocal(t *testing.T) {
	tests := []struct {
		name string
		root func(dir string) string
	}{
		{"plain", func(dir string) string { return dir }},
		{"file-uri", func(dir string) string { return "file://" + dir }},
		{"paimon-file-uri", func(dir string) string { return "file:" + dir }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fileiotest.Run(t, func(t *testing.T) (fileio.FileIO, string) {
				return fileio.NewLocal(), tt.root(t.TempDir())
			})
		})
	}
}

func TestMemory(t *testing.T) {
	tests := []struct{ name, root string }{
		{"plain", "/warehouse"},
		{"uri", "mem://warehouse/db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fileiotest.Run(t, func(t *testing.T) (fileio.FileIO, string) {
				return fileio.NewMemory(), tt.root
			})
		})
	}
}

func TestInstrumented(t *testing.T) {
	var stats fileio.Stats
	fileiotest.Run(t, func(t *testing.T) (fileio.FileIO, string) {
		return fileio.Instrument(fileio.NewMemory(), &stats), "/w"
	})
	if stats.CreateIfAbsent.Load() == 0 || stats.BytesWritten.Load() < 20<<20 || stats.BytesRead.Load() < 20<<20 {
		t.Errorf("stats = %v", &stats)
	}
	t.Log(&stats)
}

// TestLocalLeavesNoTemporaryFiles checks that failed and aborted writes
// clean up after themselves.
func TestLocalLeavesNoTemporaryFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fio := fileio.NewLocal()
	p := filepath.Join(dir, "f")
	if err := fio.CreateIfAbsent(ctx, p, []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := fio.CreateIfAbsent(ctx, p, []byte("2")); !errors.Is(err, fileio.ErrExist) {
		t.Fatal(err)
	}
	w, _ := fio.Create(ctx, filepath.Join(dir, "g"))
	w.Write([]byte("x"))
	w.Abort()
	cctx, cancel := context.WithCancel(ctx)
	w, _ = fio.Create(cctx, filepath.Join(dir, "h"))
	cancel()
	w.Close()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "f" {
		t.Errorf("directory holds %v, want only f", entries)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		uri     string
		want    string
		wantErr bool
	}{
		{"/tmp/w", "*fileio.Local", false},
		{"file:///tmp/w", "*fileio.Local", false},
		{"file:/tmp/w", "*fileio.Local", false},
		{"relative/dir", "*fileio.Local", false},
		{"s3://bucket/w", "*fileio.S3", false},
		{"S3A://bucket/w", "*fileio.S3", false},
		{"mem://w", "*fileio.Memory", false},
		{"hdfs://nn/w", "", true},
	}
	for _, tt := range tests {
		fio, err := fileio.New(context.Background(), tt.uri, fileio.Options{Endpoint: "127.0.0.1:9"})
		if (err != nil) != tt.wantErr {
			t.Errorf("New(%q) error = %v", tt.uri, err)
			continue
		}
		if got := typeName(fio); err == nil && got != tt.want {
			t.Errorf("New(%q) = %s, want %s", tt.uri, got, tt.want)
		}
	}
}

func typeName(fio fileio.FileIO) string {
	switch fio.(type) {
	case *fileio.Local:
		return "*fileio.Local"
	case *fileio.S3:
		return "*fileio.S3"
	case *fileio.Memory:
		return "*fileio.Memory"
	}
	return "?"
}

func TestJoin(t *testing.T) {
	tests := []struct {
		dir   string
		names []string
		want  string
	}{
		{"/a", []string{"b", "c"}, "/a/b/c"},
		{"/a/", []string{"b/"}, "/a/b"},
		{"/", []string{"b"}, "/b"},
		{"/", nil, "/"},
		{"file:/w", []string{"db.db", "t"}, "file:/w/db.db/t"},
		{"s3://bucket", []string{"k"}, "s3://bucket/k"},
		{"s3://bucket/p/", []string{"", "/k"}, "s3://bucket/p/k"},
		{"", []string{"a", "b"}, "a/b"},
		{"rel", []string{"a"}, "rel/a"},
	}
	for _, tt := range tests {
		if got := fileio.Join(tt.dir, tt.names...); got != tt.want {
			t.Errorf("Join(%q, %q) = %q, want %q", tt.dir, tt.names, got, tt.want)
		}
	}
}
