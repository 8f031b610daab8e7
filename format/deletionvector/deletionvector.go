// Package deletionvector reads and writes Paimon's deletion vectors: per data file, the
// row positions deleted by merge-on-write (deletionvectors/BitmapDeletionVector.java,
// Bitmap64DeletionVector.java, DeletionVectorsIndexFile.java in apache/paimon).
//
// A deletion-vectors index file is one version byte (1) followed by vectors back to back;
// the index manifest records each data file's vector as (offset, length). A vector is
//
//	32-bit: int32 BE size | int32 BE magic 1581511376 | RoaringBitmap (portable) | int32 BE CRC32
//	        (size and the recorded length cover magic+bitmap; the CRC covers them too)
//	64-bit: int32 BE size | int32 LE magic 1681511377 | int64 LE count, then per key int32 LE
//	        key + RoaringBitmap | int32 BE CRC32 (the recorded length covers all of it)
package deletionvector

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/RoaringBitmap/roaring/v2"
)

// Magic numbers of the two vector kinds.
const (
	Magic32 = 1581511376
	Magic64 = 1681511377
	// IndexFileVersion is the first byte of a deletion-vectors index file.
	IndexFileVersion = 1
)

// ErrCorrupt is wrapped by decoding errors.
var ErrCorrupt = errors.New("corrupt deletion vector")

// Vector is a set of deleted row positions of one data file.
type Vector struct {
	// Bitmap64 records whether the vector was (or will be) stored in the 64-bit form.
	Bitmap64 bool
	bitmaps  []*roaring.Bitmap // by high 32 bits of the position
}

// New returns an empty vector.
func New(bitmap64 bool) *Vector { return &Vector{Bitmap64: bitmap64} }

// Delete marks a row position deleted.
func (v *Vector) Delete(pos int64) {
	hi := int(uint64(pos) >> 32)
	for len(v.bitmaps) <= hi {
		v.bitmaps = append(v.bitmaps, roaring.New())
	}
	v.bitmaps[hi].Add(uint32(pos))
}

// IsDeleted reports whether a row position is deleted.
func (v *Vector) IsDeleted(pos int64) bool {
	hi := int(uint64(pos) >> 32)
	return hi < len(v.bitmaps) && v.bitmaps[hi].Contains(uint32(pos))
}

// Cardinality is the number of deleted positions.
func (v *Vector) Cardinality() int64 {
	var n int64
	for _, b := range v.bitmaps {
		n += int64(b.GetCardinality())
	}
	return n
}

// Positions returns the deleted positions in ascending order.
func (v *Vector) Positions() []int64 {
	var out []int64
	for hi, b := range v.bitmaps {
		it := b.Iterator()
		for it.HasNext() {
			out = append(out, int64(hi)<<32|int64(it.Next()))
		}
	}
	return out
}

// Decode reads one vector from b (starting at its size field), whose recorded length is
// length (as in the index manifest; -1 if unknown).
func Decode(b []byte, length int64) (*Vector, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(b))
	}
	size := int64(int32(binary.BigEndian.Uint32(b)))
	magicBE := binary.BigEndian.Uint32(b[4:])
	switch {
	case magicBE == Magic32:
		if length >= 0 && size != length {
			return nil, fmt.Errorf("%w: size %d, recorded length %d", ErrCorrupt, size, length)
		}
		if size < 4 || 4+size+4 > int64(len(b)) {
			return nil, fmt.Errorf("%w: size %d beyond %d bytes", ErrCorrupt, size, len(b))
		}
		data := b[4 : 4+size]
		if crc := binary.BigEndian.Uint32(b[4+size:]); crc != crc32.ChecksumIEEE(data) {
			return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
		}
		bm := roaring.New()
		if err := readBitmap(bm, data[4:]); err != nil {
			return nil, err
		}
		return &Vector{bitmaps: []*roaring.Bitmap{bm}}, nil
	case binary.LittleEndian.Uint32(b[4:]) == Magic64:
		if length >= 0 && size != length-8 {
			return nil, fmt.Errorf("%w: size %d, recorded length %d", ErrCorrupt, size, length)
		}
		if size < 12 || 4+size+4 > int64(len(b)) {
			return nil, fmt.Errorf("%w: size %d beyond %d bytes", ErrCorrupt, size, len(b))
		}
		data := b[4 : 4+size]
		if crc := binary.BigEndian.Uint32(b[4+size:]); crc != crc32.ChecksumIEEE(data) {
			return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
		}
		rest := data[4:]
		count := binary.LittleEndian.Uint64(rest)
		rest = rest[8:]
		if count > uint64(len(rest))/4 {
			return nil, fmt.Errorf("%w: %d bitmaps in %d bytes", ErrCorrupt, count, len(rest))
		}
		v := &Vector{Bitmap64: true}
		last := -1
		for i := uint64(0); i < count; i++ {
			if len(rest) < 4 {
				return nil, fmt.Errorf("%w: truncated 64-bit bitmap", ErrCorrupt)
			}
			key := int(binary.LittleEndian.Uint32(rest))
			if key <= last {
				return nil, fmt.Errorf("%w: bitmap keys out of order", ErrCorrupt)
			}
			rest = rest[4:]
			for len(v.bitmaps) < key {
				v.bitmaps = append(v.bitmaps, roaring.New())
			}
			bm := roaring.New()
			n, err := bm.ReadFrom(bytes.NewReader(rest))
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			rest = rest[n:]
			v.bitmaps = append(v.bitmaps, bm)
			last = key
		}
		return v, nil
	}
	return nil, fmt.Errorf("%w: unknown magic number %d", ErrCorrupt, magicBE)
}

func readBitmap(bm *roaring.Bitmap, data []byte) error {
	n, err := bm.ReadFrom(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if n != int64(len(data)) {
		return fmt.Errorf("%w: bitmap of %d bytes in %d", ErrCorrupt, n, len(data))
	}
	return nil
}

// Encode writes the vector as Paimon does and returns the bytes and the length to record
// in the index manifest.
func (v *Vector) Encode() ([]byte, int64, error) {
	var data bytes.Buffer
	if !v.Bitmap64 {
		if len(v.bitmaps) > 1 {
			return nil, 0, fmt.Errorf("deletion vector: positions beyond 2^31 need the 64-bit form")
		}
		binary.Write(&data, binary.BigEndian, uint32(Magic32))
		bm := roaring.New()
		if len(v.bitmaps) == 1 {
			bm = v.bitmaps[0]
		}
		if _, err := bm.WriteTo(&data); err != nil {
			return nil, 0, err
		}
		out := make([]byte, 0, 8+data.Len())
		out = binary.BigEndian.AppendUint32(out, uint32(data.Len()))
		out = append(out, data.Bytes()...)
		out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(data.Bytes()))
		return out, int64(data.Len()), nil
	}
	binary.Write(&data, binary.LittleEndian, uint32(Magic64))
	binary.Write(&data, binary.LittleEndian, uint64(len(v.bitmaps)))
	for key, bm := range v.bitmaps {
		bm.RunOptimize()
		binary.Write(&data, binary.LittleEndian, uint32(key))
		if _, err := bm.WriteTo(&data); err != nil {
			return nil, 0, err
		}
	}
	out := make([]byte, 0, 8+data.Len())
	out = binary.BigEndian.AppendUint32(out, uint32(data.Len()))
	out = append(out, data.Bytes()...)
	out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(data.Bytes()))
	return out, int64(len(out)), nil
}

// ReadFromIndexFile decodes the vector at (offset, length) of an index file's bytes.
func ReadFromIndexFile(file []byte, offset, length int64) (*Vector, error) {
	if len(file) < 1 || file[0] != IndexFileVersion {
		return nil, fmt.Errorf("%w: index file version %v", ErrCorrupt, first(file))
	}
	if offset < 1 || offset >= int64(len(file)) {
		return nil, fmt.Errorf("%w: offset %d outside %d bytes", ErrCorrupt, offset, len(file))
	}
	return Decode(file[offset:], length)
}

func first(b []byte) any {
	if len(b) == 0 {
		return "missing"
	}
	return b[0]
}
