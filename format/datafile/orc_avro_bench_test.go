package datafile

import (
	"fmt"
	"testing"

	"github.com/tarnlake/tarn/format/types"
)

func benchFields() []types.DataField {
	return []types.DataField{
		field(0, "id", types.IntType().NotNull()),
		field(1, "k", types.BigIntType()),
		field(2, "name", types.StringType()),
		field(3, "price", types.DecimalType(10, 2)),
		field(4, "x", types.DoubleType()),
		field(5, "ts", types.TimestampType(3)),
		field(6, "tags", types.ArrayType(types.StringType())),
	}
}

// Rows per second written and read, ORC and Avro beside Parquet.
func BenchmarkDataFiles(b *testing.B) {
	const rows = 100_000
	fields := benchFields()
	batch := randomBatch(b, fields, rows, 1)
	defer batch.Release()
	for _, format := range []string{FormatParquet, FormatORC, FormatAvro} {
		b.Run(fmt.Sprintf("write/%s", format), func(b *testing.B) {
			var size int
			for i := 0; i < b.N; i++ {
				size = len(writeFile(b, format, fields, WriterOptions{}, batch))
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(size), "file-bytes")
		})
		data := writeFile(b, format, fields, WriterOptions{}, batch)
		b.Run(fmt.Sprintf("read/%s", format), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				for _, r := range readFile(b, format, data, fields, 0) {
					r.Release()
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
