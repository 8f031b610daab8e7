package deletionvector

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"github.com/tarnlake/tarn/internal/fixtures"
)

// ../shared/fixtures/paimon-deletion-vectors (apache/paimon's compatibility resources
// dvindex-32 and dvindex-64, checked by DeletionVectorsIndexFileTest): two vectors each.
func TestFixtureIndexFiles(t *testing.T) {
	tests := []struct {
		file     string
		lengths  []int64
		bitmap64 bool
		want     [][]int64
	}{
		{"dvindex-32", []int64{24, 22}, false, [][]int64{{2, 3}, {1}}},
		{"dvindex-64", []int64{44, 42}, true, [][]int64{{2, 3}, {1}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(fixtures.Path(t, "paimon-deletion-vectors", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var rebuilt bytes.Buffer
			rebuilt.WriteByte(IndexFileVersion)
			offset := int64(1)
			for i, length := range tt.lengths {
				v, err := ReadFromIndexFile(data, offset, length)
				if err != nil {
					t.Fatalf("vector %d: %v", i, err)
				}
				if v.Bitmap64 != tt.bitmap64 || !slices.Equal(v.Positions(), tt.want[i]) || v.Cardinality() != int64(len(tt.want[i])) {
					t.Fatalf("vector %d: 64=%v positions %v", i, v.Bitmap64, v.Positions())
				}
				// Re-encoding a fresh vector of the same positions gives the same bytes.
				fresh := New(tt.bitmap64)
				for _, p := range tt.want[i] {
					fresh.Delete(p)
				}
				enc, recorded, err := fresh.Encode()
				if err != nil {
					t.Fatal(err)
				}
				if recorded != length {
					t.Errorf("recorded length %d, want %d", recorded, length)
				}
				rebuilt.Write(enc)
				if tt.bitmap64 {
					offset += length
				} else {
					offset += length + 8
				}
			}
			if !bytes.Equal(rebuilt.Bytes(), data) {
				t.Errorf("re-encoded index file differs:\n got %x\nwant %x", rebuilt.Bytes(), data)
			}
		})
	}
}

func TestCorruptVectors(t *testing.T) {
	data, err := os.ReadFile(fixtures.Path(t, "paimon-deletion-vectors", "dvindex-32"))
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(data)
	flipped[15] ^= 0xff
	for name, tc := range map[string]struct {
		b              []byte
		offset, length int64
	}{
		"bad version":    {append([]byte{9}, data[1:]...), 1, 24},
		"wrong length":   {data, 1, 25},
		"bad checksum":   {flipped, 1, 24},
		"truncated":      {data[:20], 1, 24},
		"offset outside": {data, 1000, 24},
	} {
		if _, err := ReadFromIndexFile(tc.b, tc.offset, tc.length); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestLargePositions(t *testing.T) {
	v := New(true)
	for _, p := range []int64{0, 5, 1 << 33, 1<<33 + 7} {
		v.Delete(p)
	}
	enc, length, err := v.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(enc, length)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Positions(), []int64{0, 5, 1 << 33, 1<<33 + 7}) || !back.IsDeleted(1<<33) || back.IsDeleted(6) {
		t.Fatalf("positions %v", back.Positions())
	}
	if _, _, err := v.Encode(); err != nil {
		t.Fatal(err)
	}
	small := New(false)
	small.Delete(1 << 33)
	if _, _, err := small.Encode(); err == nil {
		t.Error("32-bit vector accepted a position beyond 2^32")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 0, 0, 24, 0x5e, 0x43, 0xf2, 0xd0, 0x3a, 0x30, 0, 0}, int64(24))
	f.Fuzz(func(t *testing.T, b []byte, length int64) {
		_, _ = Decode(b, length)
	})
}
