// Package orc reads and writes Apache ORC files (https://orc.apache.org/specification/ORCv1/):
// the file tail (postscript, footer, metadata), stripes and their streams, the integer
// run-length encodings (v1 and v2), byte RLE, booleans, varints and the compression
// chunks of NONE, ZLIB, SNAPPY, LZ4 and ZSTD. It knows nothing of Arrow or Paimon; the
// data file layer maps columns to them.
package orc

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Kind is a column type kind (orc_proto.Type.Kind).
type Kind uint32

// The type kinds.
const (
	Boolean Kind = iota
	Byte
	Short
	Int
	Long
	Float
	Double
	String
	Binary
	Timestamp
	List
	Map
	Struct
	Union
	Decimal
	Date
	Varchar
	Char
	TimestampInstant
)

var kindNames = [...]string{"boolean", "tinyint", "smallint", "int", "bigint", "float", "double", "string",
	"binary", "timestamp", "array", "map", "struct", "uniontype", "decimal", "date", "varchar", "char",
	"timestamp with local time zone"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint32(k))
}

// Compression is a file's compression kind.
type Compression uint32

// The compression kinds.
const (
	CompressionNone Compression = iota
	CompressionZlib
	CompressionSnappy
	CompressionLZO
	CompressionLZ4
	CompressionZstd
)

var compressionNames = [...]string{"NONE", "ZLIB", "SNAPPY", "LZO", "LZ4", "ZSTD"}

func (c Compression) String() string {
	if int(c) < len(compressionNames) {
		return compressionNames[c]
	}
	return fmt.Sprintf("compression(%d)", uint32(c))
}

// StreamKind is a stream's kind.
type StreamKind uint32

// The stream kinds.
const (
	StreamPresent StreamKind = iota
	StreamData
	StreamLength
	StreamDictionaryData
	StreamDictionaryCount
	StreamSecondary
	StreamRowIndex
	StreamBloomFilter
	StreamBloomFilterUTF8
)

// EncodingKind is a column's encoding in a stripe.
type EncodingKind uint32

// The column encodings.
const (
	EncodingDirect EncodingKind = iota
	EncodingDictionary
	EncodingDirectV2
	EncodingDictionaryV2
)

// KeyValue is a type attribute or a user metadata item.
type KeyValue struct {
	Key   string
	Value []byte
}

// Type is one node of a file's type tree; types are numbered in pre-order, the root
// (a struct) being column 0.
type Type struct {
	Kind       Kind
	Subtypes   []uint32
	FieldNames []string
	MaxLength  uint32
	Precision  uint32
	Scale      uint32
	Attributes []KeyValue
}

// Attribute returns a type attribute.
func (t *Type) Attribute(key string) (string, bool) {
	for _, a := range t.Attributes {
		if a.Key == key {
			return string(a.Value), true
		}
	}
	return "", false
}

// StripeInformation locates a stripe.
type StripeInformation struct {
	Offset, IndexLength, DataLength, FooterLength, NumberOfRows uint64
}

// ColumnStatistics holds the statistics Tarn reads and writes: value count and nulls,
// and for integer, double, string and date columns the bounds.
type ColumnStatistics struct {
	NumberOfValues uint64
	HasNull        bool
	IntMin, IntMax *int64    // integers and dates (day numbers)
	DoubleMin      *float64  // floats and doubles
	DoubleMax      *float64  //
	Kind           statsKind // which of the above
	BytesOnDisk    uint64
}

type statsKind uint8

const (
	statsNone statsKind = iota
	statsInt
	statsDouble
	statsDate
)

// Footer is the file footer.
type Footer struct {
	HeaderLength    uint64
	ContentLength   uint64
	Stripes         []StripeInformation
	Types           []Type
	Metadata        []KeyValue
	NumberOfRows    uint64
	Statistics      []ColumnStatistics
	RowIndexStride  uint32
	Writer          uint32
	SoftwareVersion string
}

// PostScript is the uncompressed end of the file.
type PostScript struct {
	FooterLength         uint64
	Compression          Compression
	CompressionBlockSize uint64
	Version              []uint32
	MetadataLength       uint64
	WriterVersion        uint32
	Magic                string
}

// Stream locates one stream of a stripe.
type Stream struct {
	Kind   StreamKind
	Column uint32
	Length uint64
}

// ColumnEncoding is a column's encoding in a stripe.
type ColumnEncoding struct {
	Kind           EncodingKind
	DictionarySize uint32
}

// StripeFooter lists a stripe's streams and encodings.
type StripeFooter struct {
	Streams        []Stream
	Columns        []ColumnEncoding
	WriterTimezone string
}

var errProto = errors.New("malformed protobuf message")

// fields calls f for every field of a message.
func fields(b []byte, f func(num protowire.Number, typ protowire.Type, b []byte) (int, error)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errProto
		}
		b = b[n:]
		m, err := f(num, typ, b)
		if err != nil {
			return err
		}
		if m == 0 {
			m = protowire.ConsumeFieldValue(num, typ, b)
		}
		if m < 0 {
			return errProto
		}
		b = b[m:]
	}
	return nil
}

func varint(typ protowire.Type, b []byte, dst *uint64) (int, error) {
	if typ != protowire.VarintType {
		return 0, nil
	}
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return 0, errProto
	}
	*dst = v
	return n, nil
}

func varint32(typ protowire.Type, b []byte, dst *uint32) (int, error) {
	var v uint64
	n, err := varint(typ, b, &v)
	if n > 0 {
		*dst = uint32(v)
	}
	return n, err
}

func bytesField(typ protowire.Type, b []byte, dst *[]byte) (int, error) {
	if typ != protowire.BytesType {
		return 0, nil
	}
	v, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return 0, errProto
	}
	*dst = v
	return n, nil
}

// repeatedUint32 reads a packed or unpacked repeated uint32 element.
func repeatedUint32(typ protowire.Type, b []byte, dst *[]uint32) (int, error) {
	switch typ {
	case protowire.VarintType:
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return 0, errProto
		}
		*dst = append(*dst, uint32(v))
		return n, nil
	case protowire.BytesType:
		p, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return 0, errProto
		}
		for len(p) > 0 {
			v, m := protowire.ConsumeVarint(p)
			if m < 0 {
				return 0, errProto
			}
			*dst = append(*dst, uint32(v))
			p = p[m:]
		}
		return n, nil
	}
	return 0, nil
}

func parsePostScript(b []byte) (PostScript, error) {
	var ps PostScript
	err := fields(b, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		switch num {
		case 1:
			return varint(typ, b, &ps.FooterLength)
		case 2:
			var v uint64
			n, err := varint(typ, b, &v)
			ps.Compression = Compression(v)
			return n, err
		case 3:
			return varint(typ, b, &ps.CompressionBlockSize)
		case 4:
			return repeatedUint32(typ, b, &ps.Version)
		case 5:
			return varint(typ, b, &ps.MetadataLength)
		case 6:
			return varint32(typ, b, &ps.WriterVersion)
		case 8000:
			var v []byte
			n, err := bytesField(typ, b, &v)
			ps.Magic = string(v)
			return n, err
		}
		return 0, nil
	})
	return ps, err
}

func parseKeyValue(b []byte) (KeyValue, error) {
	var kv KeyValue
	err := fields(b, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var v []byte
		switch num {
		case 1:
			n, err := bytesField(typ, b, &v)
			kv.Key = string(v)
			return n, err
		case 2:
			n, err := bytesField(typ, b, &v)
			kv.Value = append([]byte(nil), v...)
			return n, err
		}
		return 0, nil
	})
	return kv, err
}

func parseType(b []byte) (Type, error) {
	var t Type
	err := fields(b, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		switch num {
		case 1:
			var v uint32
			n, err := varint32(typ, b, &v)
			t.Kind = Kind(v)
			return n, err
		case 2:
			return repeatedUint32(typ, b, &t.Subtypes)
		case 3:
			var v []byte
			n, err := bytesField(typ, b, &v)
			if n > 0 {
				t.FieldNames = append(t.FieldNames, string(v))
			}
			return n, err
		case 4:
			return varint32(typ, b, &t.MaxLength)
		case 5:
			return varint32(typ, b, &t.Precision)
		case 6:
			return varint32(typ, b, &t.Scale)
		case 7:
			var v []byte
			n, err := bytesField(typ, b, &v)
			if n > 0 {
				kv, err := parseKeyValue(v)
				if err != nil {
					return 0, err
				}
				t.Attributes = append(t.Attributes, kv)
			}
			return n, err
		}
		return 0, nil
	})
	return t, err
}

func parseStripeInformation(b []byte) (StripeInformation, error) {
	var s StripeInformation
	err := fields(b, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		switch num {
		case 1:
			return varint(typ, b, &s.Offset)
		case 2:
			return varint(typ, b, &s.IndexLength)
		case 3:
			return varint(typ, b, &s.DataLength)
		case 4:
			return varint(typ, b, &s.FooterLength)
		case 5:
			return varint(typ, b, &s.NumberOfRows)
		}
		return 0, nil
	})
	return s, err
}

func parseColumnStatistics(b []byte) (ColumnStatistics, error) {
	var cs ColumnStatistics
	err := fields(b, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		switch num {
		case 1:
			return varint(typ, b, &cs.NumberOfValues)
		case 10:
			var v uint64
			n, err := varint(typ, b, &v)
			cs.HasNull = v != 0
			return n, err
		case 11:
			return varint(typ, b, &cs.BytesOnDisk)
		}
		return 0, nil
	})
	return cs, err
}

func parseFooter(b []byte) (Footer, error) {
	var f Footer
	err := fields(b, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var v []byte
		switch num {
		case 1:
			return varint(typ, b, &f.HeaderLength)
		case 2:
			return varint(typ, b, &f.ContentLength)
		case 3:
			n, err := bytesField(typ, b, &v)
			if n > 0 {
				s, err := parseStripeInformation(v)
				if err != nil {
					return 0, err
				}
				f.Stripes = append(f.Stripes, s)
			}
			return n, err
		case 4:
			n, err := bytesField(typ, b, &v)
			if n > 0 {
				t, err := parseType(v)
				if err != nil {
					return 0, err
				}
				f.Types = append(f.Types, t)
			}
			return n, err
		case 5:
			n, err := bytesField(typ, b, &v)
			if n > 0 {
				kv, err := parseKeyValue(v)
				if err != nil {
					return 0, err
				}
				f.Metadata = append(f.Metadata, kv)
			}
			return n, err
		case 6:
			return varint(typ, b, &f.NumberOfRows)
		case 7:
			n, err := bytesField(typ, b, &v)
			if n > 0 {
				cs, err := parseColumnStatistics(v)
				if err != nil {
					return 0, err
				}
				f.Statistics = append(f.Statistics, cs)
			}
			return n, err
		case 8:
			return varint32(typ, b, &f.RowIndexStride)
		case 9:
			return varint32(typ, b, &f.Writer)
		case 12:
			n, err := bytesField(typ, b, &v)
			f.SoftwareVersion = string(v)
			return n, err
		}
		return 0, nil
	})
	return f, err
}

func parseStripeFooter(b []byte) (StripeFooter, error) {
	var sf StripeFooter
	err := fields(b, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		var v []byte
		switch num {
		case 1:
			n, err := bytesField(typ, b, &v)
			if n > 0 {
				var s Stream
				err := fields(v, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
					switch num {
					case 1:
						var k uint32
						n, err := varint32(typ, b, &k)
						s.Kind = StreamKind(k)
						return n, err
					case 2:
						return varint32(typ, b, &s.Column)
					case 3:
						return varint(typ, b, &s.Length)
					}
					return 0, nil
				})
				if err != nil {
					return 0, err
				}
				sf.Streams = append(sf.Streams, s)
			}
			return n, err
		case 2:
			n, err := bytesField(typ, b, &v)
			if n > 0 {
				var e ColumnEncoding
				err := fields(v, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
					switch num {
					case 1:
						var k uint32
						n, err := varint32(typ, b, &k)
						e.Kind = EncodingKind(k)
						return n, err
					case 2:
						return varint32(typ, b, &e.DictionarySize)
					}
					return 0, nil
				})
				if err != nil {
					return 0, err
				}
				sf.Columns = append(sf.Columns, e)
			}
			return n, err
		case 3:
			n, err := bytesField(typ, b, &v)
			sf.WriterTimezone = string(v)
			return n, err
		}
		return 0, nil
	})
	return sf, err
}

// Encoding of messages for the writer.

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func (ps *PostScript) marshal() []byte {
	var b []byte
	b = appendVarintField(b, 1, ps.FooterLength)
	b = appendVarintField(b, 2, uint64(ps.Compression))
	if ps.Compression != CompressionNone {
		b = appendVarintField(b, 3, ps.CompressionBlockSize)
	}
	var packed []byte
	for _, v := range ps.Version {
		packed = protowire.AppendVarint(packed, uint64(v))
	}
	b = appendBytesField(b, 4, packed)
	b = appendVarintField(b, 5, ps.MetadataLength)
	b = appendVarintField(b, 6, uint64(ps.WriterVersion))
	return appendBytesField(b, 8000, []byte(ps.Magic))
}

func (t *Type) marshal() []byte {
	var b []byte
	b = appendVarintField(b, 1, uint64(t.Kind))
	if len(t.Subtypes) > 0 {
		var packed []byte
		for _, v := range t.Subtypes {
			packed = protowire.AppendVarint(packed, uint64(v))
		}
		b = appendBytesField(b, 2, packed)
	}
	for _, n := range t.FieldNames {
		b = appendBytesField(b, 3, []byte(n))
	}
	if t.Kind == Varchar || t.Kind == Char {
		b = appendVarintField(b, 4, uint64(t.MaxLength))
	}
	if t.Kind == Decimal {
		b = appendVarintField(b, 5, uint64(t.Precision))
		b = appendVarintField(b, 6, uint64(t.Scale))
	}
	for _, a := range t.Attributes {
		var kv []byte
		kv = appendBytesField(kv, 1, []byte(a.Key))
		kv = appendBytesField(kv, 2, a.Value)
		b = appendBytesField(b, 7, kv)
	}
	return b
}

func (s *StripeInformation) marshal() []byte {
	var b []byte
	b = appendVarintField(b, 1, s.Offset)
	b = appendVarintField(b, 2, s.IndexLength)
	b = appendVarintField(b, 3, s.DataLength)
	b = appendVarintField(b, 4, s.FooterLength)
	return appendVarintField(b, 5, s.NumberOfRows)
}

func (cs *ColumnStatistics) marshal() []byte {
	var b []byte
	b = appendVarintField(b, 1, cs.NumberOfValues)
	switch cs.Kind {
	case statsInt, statsDate:
		var m []byte
		if cs.IntMin != nil {
			m = protowire.AppendTag(m, 1, protowire.VarintType)
			m = protowire.AppendVarint(m, protowire.EncodeZigZag(*cs.IntMin))
			m = protowire.AppendTag(m, 2, protowire.VarintType)
			m = protowire.AppendVarint(m, protowire.EncodeZigZag(*cs.IntMax))
		}
		num := protowire.Number(2)
		if cs.Kind == statsDate {
			num = 7
		}
		b = appendBytesField(b, num, m)
	case statsDouble:
		var m []byte
		if cs.DoubleMin != nil {
			m = protowire.AppendTag(m, 1, protowire.Fixed64Type)
			m = protowire.AppendFixed64(m, math.Float64bits(*cs.DoubleMin))
			m = protowire.AppendTag(m, 2, protowire.Fixed64Type)
			m = protowire.AppendFixed64(m, math.Float64bits(*cs.DoubleMax))
		}
		b = appendBytesField(b, 3, m)
	}
	if cs.HasNull {
		b = appendVarintField(b, 10, 1)
	} else {
		b = appendVarintField(b, 10, 0)
	}
	return b
}

func (f *Footer) marshal() []byte {
	var b []byte
	b = appendVarintField(b, 1, f.HeaderLength)
	b = appendVarintField(b, 2, f.ContentLength)
	for i := range f.Stripes {
		b = appendBytesField(b, 3, f.Stripes[i].marshal())
	}
	for i := range f.Types {
		b = appendBytesField(b, 4, f.Types[i].marshal())
	}
	for _, kv := range f.Metadata {
		var m []byte
		m = appendBytesField(m, 1, []byte(kv.Key))
		m = appendBytesField(m, 2, kv.Value)
		b = appendBytesField(b, 5, m)
	}
	b = appendVarintField(b, 6, f.NumberOfRows)
	for i := range f.Statistics {
		b = appendBytesField(b, 7, f.Statistics[i].marshal())
	}
	b = appendVarintField(b, 8, uint64(f.RowIndexStride))
	if f.Writer != 0 {
		b = appendVarintField(b, 9, uint64(f.Writer))
	}
	if f.SoftwareVersion != "" {
		b = appendBytesField(b, 12, []byte(f.SoftwareVersion))
	}
	return b
}

func (sf *StripeFooter) marshal() []byte {
	var b []byte
	for _, s := range sf.Streams {
		var m []byte
		m = appendVarintField(m, 1, uint64(s.Kind))
		m = appendVarintField(m, 2, uint64(s.Column))
		m = appendVarintField(m, 3, s.Length)
		b = appendBytesField(b, 1, m)
	}
	for _, e := range sf.Columns {
		var m []byte
		m = appendVarintField(m, 1, uint64(e.Kind))
		if e.Kind == EncodingDictionary || e.Kind == EncodingDictionaryV2 {
			m = appendVarintField(m, 2, uint64(e.DictionarySize))
		}
		b = appendBytesField(b, 2, m)
	}
	if sf.WriterTimezone != "" {
		b = appendBytesField(b, 3, []byte(sf.WriterTimezone))
	}
	return b
}

// marshalMetadata encodes the Metadata message (stripe statistics).
func marshalMetadata(stripes [][]ColumnStatistics) []byte {
	var b []byte
	for _, cols := range stripes {
		var m []byte
		for i := range cols {
			m = appendBytesField(m, 1, cols[i].marshal())
		}
		b = appendBytesField(b, 1, m)
	}
	return b
}
