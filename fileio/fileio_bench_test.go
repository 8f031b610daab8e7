package fileio_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/internal/testenv"
)

type benchTarget struct {
	name string
	fio  fileio.FileIO
	root string
}

// benchTargets returns the FileIOs to measure, each with a fresh root:
// local, memory, MinIO, and versitygw if installed.
func benchTargets(b *testing.B) []benchTarget {
	s3Target := func(s *testenv.S3Server) benchTarget {
		fio, err := s.FileIO(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		return benchTarget{s.Kind, fio, s.URI("bench")}
	}
	targets := []benchTarget{
		{"local", fileio.NewLocal(), b.TempDir()},
		{"memory", fileio.NewMemory(), "/bench"},
		s3Target(testenv.MinIO(b)),
	}
	if testenv.GoInstalled(testenv.VersityGWPackage, testenv.VersityGWVersion) {
		targets = append(targets, s3Target(testenv.VersityGW(b)))
	}
	return targets
}

const benchSize = 8 << 20

func BenchmarkWrite8MiB(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), benchSize/16)
	for _, tt := range benchTargets(b) {
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(benchSize)
			for i := 0; b.Loop(); i++ {
				w, err := tt.fio.Create(b.Context(), fileio.Join(tt.root, fmt.Sprintf("w-%d", i%4)))
				if err != nil {
					b.Fatal(err)
				}
				for rest := data; len(rest) > 0; rest = rest[1<<20:] {
					w.Write(rest[:1<<20])
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRead8MiB(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), benchSize/16)
	for _, tt := range benchTargets(b) {
		p := fileio.Join(tt.root, "r")
		if err := tt.fio.WriteFile(b.Context(), p, data); err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		b.Run(tt.name+"/ReadFile", func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				if _, err := tt.fio.ReadFile(b.Context(), p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tt.name+"/Open+Read", func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				f, err := tt.fio.Open(b.Context(), p)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
		b.Run(tt.name+"/ReadAt-64KiB", func(b *testing.B) {
			f, err := tt.fio.Open(b.Context(), p)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			chunk := make([]byte, 64<<10)
			b.SetBytes(int64(len(chunk)))
			for i := 0; b.Loop(); i++ {
				off := int64(i*len(chunk)) % (benchSize - int64(len(chunk)))
				if _, err := f.ReadAt(chunk, off); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCreateIfAbsent(b *testing.B) {
	data := []byte(`{"version":3,"id":1,"schemaId":0,"baseManifestList":"manifest-list-1","commitKind":"APPEND"}`)
	for _, tt := range benchTargets(b) {
		b.Run(tt.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if err := tt.fio.CreateIfAbsent(b.Context(), fileio.Join(tt.root, "snapshot", fmt.Sprintf("snapshot-%d", i)), data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tt.name+"/exists", func(b *testing.B) {
			p := fileio.Join(tt.root, "snapshot", "snapshot-0")
			for b.Loop() {
				if err := tt.fio.CreateIfAbsent(b.Context(), p, data); err == nil {
					b.Fatal("created twice")
				}
			}
		})
	}
}
