package binaryrow

import (
	"encoding/binary"
	"math/bits"
)

// Murmur3 32-bit over 4-byte words with Paimon's seed (MurmurHashUtils.hashBytesByWords).
const (
	c1   = 0xcc9e2d51
	c2   = 0x1b873593
	seed = 42
)

// HashBytesByWords is MurmurHashUtils.hashBytesByWords: len(b) must be a multiple of 4
// (BinaryRow sizes are multiples of 8).
func HashBytesByWords(b []byte) int32 {
	h := uint32(seed)
	for i := 0; i+4 <= len(b); i += 4 {
		h = mixH1(h, mixK1(binary.LittleEndian.Uint32(b[i:])))
	}
	return int32(fmix(h ^ uint32(len(b))))
}

// HashBytes is MurmurHashUtils.hashBytes: words, then the trailing bytes one at a time
// (each sign-extended, as Java's byte is).
func HashBytes(b []byte) int32 {
	aligned := len(b) - len(b)%4
	h := uint32(seed)
	for i := 0; i < aligned; i += 4 {
		h = mixH1(h, mixK1(binary.LittleEndian.Uint32(b[i:])))
	}
	for i := aligned; i < len(b); i++ {
		h = mixH1(h, mixK1(uint32(int32(int8(b[i])))))
	}
	return int32(fmix(h ^ uint32(len(b))))
}

func mixK1(k uint32) uint32 {
	k *= c1
	k = bits.RotateLeft32(k, 15)
	return k * c2
}

func mixH1(h, k uint32) uint32 {
	h ^= k
	h = bits.RotateLeft32(h, 13)
	return h*5 + 0xe6546b64
}

func fmix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// HashCode is BinaryRow.hashCode: the murmur hash of the row bytes.
func (r Row) HashCode() int32 { return HashBytesByWords(r.data) }

// Bucket is Paimon's default bucket function (DefaultBucketFunction): Math.abs(hash % n)
// of the bucket-key row, which must have row kind +I.
func Bucket(bucketKey Row, numBuckets int) int {
	return BucketOfHash(bucketKey.HashCode(), numBuckets)
}

// BucketOfHash is Math.abs(hash % numBuckets) with Java's int semantics.
func BucketOfHash(hash int32, numBuckets int) int {
	m := hash % int32(numBuckets)
	if m < 0 {
		m = -m
	}
	return int(m)
}
