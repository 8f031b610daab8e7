//go:build tools

// Package deps pins the module's direct dependencies before every package uses them.
package deps

import (
	_ "github.com/apache/arrow-go/v18/arrow/flight"
	_ "github.com/apache/arrow-go/v18/parquet/pqarrow"
	_ "github.com/go-chi/chi/v5"
	_ "github.com/hamba/avro/v2"
	_ "github.com/minio/minio-go/v7"
	_ "github.com/parquet-go/parquet-go"
	_ "github.com/twmb/franz-go/pkg/kgo"
)
