package table

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/manifest"
)

// PartitionDir is the relative directory ("k1=v1/k2=v2") of a partition, computed as
// Paimon's InternalRowPartitionComputer does. With legacy names (Paimon's default,
// partition.legacy-name) a value is Java's toString of Paimon's internal value: a DATE is
// its day number, a TIMESTAMP LocalDateTime.toString. Otherwise values are cast to string.
func PartitionDir(schema *format.TableSchema, values []any, defaultName string, legacy bool) string {
	fields := schema.PartitionType()
	if len(fields) == 0 {
		return ""
	}
	strs := make([]*string, len(fields))
	for i, f := range fields {
		if values[i] == nil {
			continue
		}
		s := PartitionValueString(values[i], f.Type, legacy)
		strs[i] = &s
	}
	return strings.TrimSuffix(format.PartitionPath(schema.PartitionKeys, strs, defaultName), "/")
}

// BucketPath is a bucket's directory relative to the table: the partition's directory and
// bucket-N, under data-file.path-directory when that is set (Paimon's
// FileStorePathFactory.relativeBucketPath).
func BucketPath(schema *format.TableSchema, opts CoreOptions, values []any, bucket int) string {
	return path.Join(opts.DataFileDir, PartitionDir(schema, values, opts.PartitionDefaultName, opts.PartitionLegacyName), format.BucketDir(bucket))
}

// bucketDirOf is the directory of a bucket of a serialized partition.
func (t *Table) bucketDirOf(schema *format.TableSchema, opts CoreOptions, partition []byte, bucket int) (string, error) {
	var values []any
	if fields := schema.PartitionType(); len(fields) > 0 {
		row, err := binaryrow.Deserialize(partition)
		if err != nil {
			return "", fmt.Errorf("partition: %w", err)
		}
		if values, err = row.Values(fields); err != nil {
			return "", fmt.Errorf("partition: %w", err)
		}
	}
	return t.Join(BucketPath(schema, opts, values, bucket)), nil
}

// indexFilePath is where an index file (deletion vectors, hash index) of the bucket in
// bucketDir lives, as Paimon's FileStorePathFactory.indexFileFactory places it: at its
// external path if it has one; else in the bucket's directory with
// index-file-in-data-file-dir, in the table's index directory otherwise.
func (t *Table) indexFilePath(opts CoreOptions, bucketDir string, f *manifest.IndexFileMeta) string {
	switch {
	case f.ExternalPath != nil && *f.ExternalPath != "":
		return *f.ExternalPath
	case opts.IndexInDataDir:
		return bucketDir + "/" + f.FileName
	}
	return t.Join(format.IndexPath(f.FileName))
}

// PartitionValueString renders one partition value as Paimon names it in paths.
func PartitionValueString(v any, t types.DataType, legacy bool) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int8, int16, int32, int64:
		return fmt.Sprint(x)
	case float32:
		return javaFloatString(float64(x), 32)
	case float64:
		return javaFloatString(x, 64)
	case binaryrow.Decimal:
		return x.String()
	case binaryrow.Date:
		if legacy {
			return strconv.Itoa(int(x))
		}
		return time.Unix(int64(x)*86400, 0).UTC().Format("2006-01-02")
	case binaryrow.Time:
		if legacy {
			return strconv.Itoa(int(x))
		}
		return time.UnixMilli(int64(x)).UTC().Format("15:04:05")
	case binaryrow.Timestamp:
		ts := time.UnixMilli(x.Millis).UTC().Add(time.Duration(x.NanoOfMilli))
		if legacy {
			return javaLocalDateTime(ts)
		}
		s := ts.Format("2006-01-02 15:04:05")
		if t.Precision > 0 {
			frac := fmt.Sprintf("%09d", ts.Nanosecond())[:t.Precision]
			s += "." + frac
		}
		return s
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// javaLocalDateTime is java.time.LocalDateTime.toString.
func javaLocalDateTime(t time.Time) string {
	s := t.Format("2006-01-02T15:04")
	ns := t.Nanosecond()
	if t.Second() > 0 || ns > 0 {
		s += fmt.Sprintf(":%02d", t.Second())
		switch {
		case ns == 0:
		case ns%1_000_000 == 0:
			s += fmt.Sprintf(".%03d", ns/1_000_000)
		case ns%1000 == 0:
			s += fmt.Sprintf(".%06d", ns/1000)
		default:
			s += fmt.Sprintf(".%09d", ns)
		}
	}
	return s
}

// javaFloatString approximates Java's Float/Double.toString.
func javaFloatString(v float64, bits int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	abs := math.Abs(v)
	if v == 0 || (abs >= 1e-3 && abs < 1e7) {
		s := strconv.FormatFloat(v, 'f', -1, bits)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(v, 'E', -1, bits)
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}
