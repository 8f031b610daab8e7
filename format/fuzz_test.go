package format

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tarnlake/tarn/internal/fixtures"
)

func addFixtureSeeds(f *testing.F, kind string) {
	files, _ := filepath.Glob(filepath.Join(fixtures.Dir(f), "*", "*", kind, kind+"-*"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
}

// Decoding arbitrary bytes never panics; what decodes re-encodes and decodes to the same.
func FuzzParseSchema(f *testing.F) {
	addFixtureSeeds(f, SchemaDir)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSchema(data)
		if err != nil {
			return
		}
		back, err := ParseSchema(s.Marshal())
		if err != nil {
			t.Fatalf("re-encoded schema does not parse: %v\n%s", err, s.Marshal())
		}
		if string(back.Marshal()) != string(s.Marshal()) {
			t.Fatalf("schema not stable:\n%s\n%s", s.Marshal(), back.Marshal())
		}
	})
}

func FuzzParseSnapshot(f *testing.F) {
	addFixtureSeeds(f, SnapshotDir)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSnapshot(data)
		if err != nil {
			return
		}
		if _, err := ParseSnapshot(s.Marshal()); err != nil {
			t.Fatalf("re-encoded snapshot does not parse: %v\n%s", err, s.Marshal())
		}
	})
}
