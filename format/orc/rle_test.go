package orc

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The examples of the ORC specification's RLE v2 section.
func TestIntReaderV2SpecExamples(t *testing.T) {
	cases := []struct {
		name   string
		signed bool
		data   []byte
		want   []int64
	}{
		{"short repeat", false, []byte{0x0a, 0x27, 0x10}, []int64{10000, 10000, 10000, 10000, 10000}},
		{"direct", false, []byte{0x5e, 0x03, 0x5c, 0xa1, 0xab, 0x1e, 0xde, 0xad, 0xbe, 0xef}, []int64{23713, 43806, 57005, 48879}},
		{"patched base", false, []byte{0x8e, 0x13, 0x2b, 0x21, 0x07, 0xd0, 0x1e, 0x00, 0x14, 0x70, 0x28, 0x32, 0x3c, 0x46, 0x50,
			0x5a, 0x64, 0x6e, 0x78, 0x82, 0x8c, 0x96, 0xa0, 0xaa, 0xb4, 0xbe, 0xfc, 0xe8},
			[]int64{2030, 2000, 2020, 1000000, 2040, 2050, 2060, 2070, 2080, 2090, 2100, 2110, 2120, 2130, 2140, 2150, 2160, 2170, 2180, 2190}},
		{"delta", false, []byte{0xc6, 0x09, 0x02, 0x02, 0x22, 0x42, 0x42, 0x46}, []int64{2, 3, 5, 7, 11, 13, 17, 19, 23, 29}},
		{"fixed delta", true, []byte{0xc0, 0x04, 0x01, 0x03}, []int64{-1, -3, -5, -7, -9}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NewIntReader(c.data, c.signed, true)
			got := make([]int64, len(c.want))
			if err := r.Read(got); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
			if _, err := r.Next(); err != ErrShort {
				t.Errorf("after the run: %v, want ErrShort", err)
			}
		})
	}
}

// RLE v1 integers, byte RLE and booleans decode what the writer encodes.
func TestEncodersRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	gens := map[string]func(i int) int64{
		"random":   func(int) int64 { return int64(rnd.Uint64()) },
		"runs":     func(i int) int64 { return int64(i / 50) },
		"sequence": func(i int) int64 { return int64(i * 3) },
		"extremes": func(i int) int64 { return []int64{math.MinInt64, math.MaxInt64, 0, -1}[i%4] },
		"small":    func(int) int64 { return int64(rnd.IntN(3)) - 1 },
	}
	for name, gen := range gens {
		for _, signed := range []bool{true, false} {
			e := intEncoder{signed: signed}
			want := make([]int64, 5000)
			for i := range want {
				want[i] = gen(i)
				if !signed && want[i] < 0 {
					want[i] = -(want[i] + 1)
				}
				e.add(want[i])
			}
			e.flush()
			got := make([]int64, len(want))
			if err := NewIntReader(e.out, signed, false).Read(got); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s signed=%v: ints differ", name, signed)
			}
		}
		var be byteEncoder
		var bw boolEncoder
		bytes := make([]byte, 3000)
		bools := make([]bool, 3000)
		for i := range bytes {
			bytes[i] = byte(gen(i))
			bools[i] = gen(i)&1 == 1
			be.add(bytes[i])
			bw.add(bools[i])
		}
		be.flush()
		bw.flush()
		br, bb := NewByteReader(be.out), NewBoolReader(bw.enc.out)
		for i := range bytes {
			b, err := br.Next()
			if err != nil || b != bytes[i] {
				t.Fatalf("%s: byte %d = %d, %v; want %d", name, i, b, err, bytes[i])
			}
			v, err := bb.Next()
			if err != nil || v != bools[i] {
				t.Fatalf("%s: bool %d = %v, %v", name, i, v, err)
			}
		}
	}
}

func TestVarint128RoundTrip(t *testing.T) {
	cases := [][2]int64{{0, 0}, {0, 1}, {-1, -1}, {-1, -2}, {math.MaxInt64, -1}, {math.MinInt64, 0}, {12345, 678}}
	for _, c := range cases {
		b := AppendVarint128(nil, c[0], uint64(c[1]))
		off := 0
		hi, lo, err := ReadVarint128(b, &off)
		if err != nil || hi != c[0] || lo != uint64(c[1]) || off != len(b) {
			t.Errorf("%v: got %d %d %v", c, hi, lo, err)
		}
	}
}

// Corrupt streams fail; none panics.
func TestIntReaderCorrupt(t *testing.T) {
	for _, data := range [][]byte{{0x5e}, {0x8e, 0x13, 0x2b, 0xff, 0xff}, {0xc6, 0x09}, {0x0a}, {0xfe, 0x80}} {
		for _, v2 := range []bool{true, false} {
			r := NewIntReader(data, true, v2)
			for i := 0; i < 600; i++ {
				if _, err := r.Next(); err != nil {
					break
				}
			}
		}
	}
}
