package catalog

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/render"
	"github.com/tarnlake/tarn/table"
)

// ErrExists is wrapped when a database or table already exists.
var ErrExists = errors.New("already exists")

// knownPrefixes are option namespaces accepted as they are: per-field options, format and
// file-system settings, engine connector options, and Tarn's own.
var knownPrefixes = []string{
	"fields.", "tarn.", "parquet.", "orc.", "avro.", "file-index.", "s3.", "fs.", "hadoop.",
	"sink.", "scan.", "lookup.", "pk-", "ivf-flat.", "commit.callback.", "tag.callback.",
	"consumer.", "changelog.", "snapshot.", "partition.", "tag.", "log.", "kafka.",
	"metastore.", "data-file.", "format-table.", "global-index.", "deletion-vector.",
}

// TableSpec is what a table is created with.
type TableSpec struct {
	Fields        []types.DataField
	PrimaryKeys   []string
	PartitionKeys []string
	Options       map[string]string
	Comment       *string
}

// CreateDatabase creates "<warehouse>/<name>.db".
func (c *Catalog) CreateDatabase(ctx context.Context, name string, ignoreIfExists bool) error {
	if err := ValidateName(name); err != nil {
		return fmt.Errorf("database name: %w", err)
	}
	exists, err := c.DatabaseExists(ctx, name)
	if err != nil {
		return err
	}
	if exists {
		if ignoreIfExists {
			return nil
		}
		return fmt.Errorf("database %s: %w", name, ErrExists)
	}
	// Object stores have no directories; a marker keeps an empty database listed. Paimon's
	// filesystem catalog creates the directory, which List shows on local disk.
	return c.fio.WriteFile(ctx, fileio.Join(c.DatabasePath(name), ".tarn-database"), nil)
}

// DatabaseExists reports whether a database exists.
func (c *Catalog) DatabaseExists(ctx context.Context, name string) (bool, error) {
	dbs, err := c.ListDatabases(ctx)
	if err != nil {
		return false, err
	}
	for _, d := range dbs {
		if d == name {
			return true, nil
		}
	}
	return false, nil
}

// CreateTable writes schema-0 of a new table, creating the database on first use. Primary
// key columns become NOT NULL, as in Paimon; field ids are assigned when they are -1.
func (c *Catalog) CreateTable(ctx context.Context, id Identifier, spec TableSpec, ignoreIfExists bool) (*table.Table, error) {
	if err := ValidateName(id.Database); err != nil {
		return nil, fmt.Errorf("database name: %w", err)
	}
	if err := ValidateName(id.Table); err != nil {
		return nil, fmt.Errorf("table name: %w", err)
	}
	schema, err := NewSchema(spec)
	if err != nil {
		return nil, fmt.Errorf("create table %s: %w", id, err)
	}
	if err := c.CreateDatabase(ctx, id.Database, true); err != nil {
		return nil, err
	}
	p := c.TablePath(id)
	err = c.fio.CreateIfAbsent(ctx, fileio.Join(p, format.SchemaPath(0)), schema.Marshal())
	if errors.Is(err, fileio.ErrExist) {
		if ignoreIfExists {
			return table.Open(ctx, c.fio, p)
		}
		return nil, fmt.Errorf("table %s: %w", id, ErrExists)
	}
	if err != nil {
		return nil, err
	}
	return table.Open(ctx, c.fio, p)
}

// DropTable deletes a table and all its files.
func (c *Catalog) DropTable(ctx context.Context, id Identifier, ignoreIfMissing bool) error {
	if _, err := c.LoadTable(ctx, id); err != nil {
		if errors.Is(err, ErrNotFound) && ignoreIfMissing {
			return nil
		}
		return err
	}
	return fileio.RemoveAll(ctx, c.fio, c.TablePath(id))
}

// DropDatabase deletes a database; with cascade its tables too, otherwise it must be empty.
func (c *Catalog) DropDatabase(ctx context.Context, name string, cascade, ignoreIfMissing bool) error {
	exists, err := c.DatabaseExists(ctx, name)
	if err != nil {
		return err
	}
	if !exists {
		if ignoreIfMissing {
			return nil
		}
		return fmt.Errorf("database %s: %w", name, ErrNotFound)
	}
	tables, err := c.ListTables(ctx, name)
	if err != nil {
		return err
	}
	if len(tables) > 0 && !cascade {
		return fmt.Errorf("database %s is not empty (%d tables); drop them first or use cascade", name, len(tables))
	}
	return fileio.RemoveAll(ctx, c.fio, c.DatabasePath(name))
}

// NewSchema validates a table spec and builds its schema-0 as Paimon would.
func NewSchema(spec TableSpec) (*format.TableSchema, error) {
	if len(spec.Fields) == 0 {
		return nil, errors.New("a table needs at least one column")
	}
	fields := append([]types.DataField(nil), spec.Fields...)
	needIDs := false
	for _, f := range fields {
		if f.ID < 0 {
			needIDs = true
		}
	}
	if needIDs {
		next := 0
		types.AssignFieldIDs(fields, &next)
	}
	seen := map[string]bool{}
	for _, f := range fields {
		if err := checkColumnName(f.Name); err != nil {
			return nil, err
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("column %q is declared twice", f.Name)
		}
		seen[f.Name] = true
		// A default Tarn cannot read is kept: Paimon's writers apply it, Tarn's refuse to write.
		if f.DefaultValue != nil && render.DefaultSupported(f.Type) {
			if err := render.ValidateDefault(f.Type, *f.DefaultValue); err != nil {
				return nil, fmt.Errorf("column %s: %w", f.Name, err)
			}
		}
	}
	for _, k := range spec.PartitionKeys {
		i := types.FieldByName(fields, k)
		if i < 0 {
			return nil, fmt.Errorf("partition key %q is not a column", k)
		}
		if fields[i].Type.IsNested() {
			return nil, fmt.Errorf("partition key %q has type %s; partition keys must be atomic", k, fields[i].Type)
		}
	}
	for _, k := range spec.PrimaryKeys {
		i := types.FieldByName(fields, k)
		if i < 0 {
			return nil, fmt.Errorf("primary key %q is not a column", k)
		}
		if fields[i].Type.IsNested() || fields[i].Type.Root == types.Blob {
			return nil, fmt.Errorf("primary key %q has type %s; primary keys must be atomic", k, fields[i].Type)
		}
		fields[i].Type = fields[i].Type.NotNull()
	}
	if dup := firstDuplicate(spec.PrimaryKeys); dup != "" {
		return nil, fmt.Errorf("primary key %q is listed twice", dup)
	}
	if dup := firstDuplicate(spec.PartitionKeys); dup != "" {
		return nil, fmt.Errorf("partition key %q is listed twice", dup)
	}
	if len(spec.PrimaryKeys) > 0 && len(spec.PartitionKeys) > 0 {
		for _, p := range spec.PartitionKeys {
			if !contains(spec.PrimaryKeys, p) {
				return nil, fmt.Errorf("primary key (%s) must include every partition key (%s); add %q to the primary key",
					strings.Join(spec.PrimaryKeys, ", "), strings.Join(spec.PartitionKeys, ", "), p)
			}
		}
		if len(spec.PrimaryKeys) == len(spec.PartitionKeys) {
			return nil, fmt.Errorf("the primary key (%s) equals the partition keys: each partition would hold one row", strings.Join(spec.PrimaryKeys, ", "))
		}
	}
	opts := format.NewOptions(spec.Options)
	if err := ValidateOptions(opts, fields, spec.PrimaryKeys, spec.PartitionKeys); err != nil {
		return nil, err
	}
	return &format.TableSchema{
		Version:        format.CurrentSchemaVersion,
		ID:             0,
		Fields:         fields,
		HighestFieldID: types.HighestFieldID(fields),
		PartitionKeys:  append([]string{}, spec.PartitionKeys...),
		PrimaryKeys:    append([]string{}, spec.PrimaryKeys...),
		Options:        opts,
		Comment:        spec.Comment,
		TimeMillis:     time.Now().UnixMilli(),
	}, nil
}

func checkColumnName(n string) error {
	if n == "" {
		return errors.New("a column has an empty name")
	}
	if strings.HasPrefix(n, "_KEY_") || n == "_SEQUENCE_NUMBER" || n == "_VALUE_KIND" || n == "_ROW_ID" || n == table.RowKindColumn {
		return fmt.Errorf("column name %q is reserved by the Paimon format", n)
	}
	for _, r := range n {
		if r < 0x20 {
			return fmt.Errorf("column name %q holds a control character", n)
		}
	}
	return nil
}

func firstDuplicate(ss []string) string {
	seen := map[string]bool{}
	for _, s := range ss {
		if seen[s] {
			return s
		}
		seen[s] = true
	}
	return ""
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// ValidateOptions checks option keys and the values the engine acts on.
func ValidateOptions(o format.Options, fields []types.DataField, pk, partition []string) error {
	var unknown []string
	for _, k := range o.Keys() {
		if knownOptions[k] || format.IsFallbackKey(k) { // an older name Paimon still reads
			continue
		}
		ok := false
		for _, p := range knownPrefixes {
			if strings.HasPrefix(k, p) {
				ok = true
				break
			}
		}
		if !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unknown table option %s (see Paimon's CoreOptions for the valid keys)", strings.Join(quoteAll(unknown), ", "))
	}
	intOpt := func(k string, lo int) (int, bool, error) {
		v, ok := o.Get(k)
		if !ok {
			return 0, false, nil
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo {
			return 0, true, fmt.Errorf("option %s = %q: want an integer >= %d", k, v, lo)
		}
		return n, true, nil
	}
	bucket, hasBucket, err := intOpt("bucket", -2)
	if err != nil {
		return err
	}
	if hasBucket && bucket == 0 {
		return errors.New("option bucket = 0: use a positive bucket count, -1 (dynamic) or -2 (postpone)")
	}
	for _, k := range []string{"num-sorted-run.compaction-trigger", "num-sorted-run.stop-trigger", "num-levels", "snapshot.num-retained.min", "snapshot.num-retained.max", "compaction.min.file-num", "manifest.merge-min-count", "postpone.default-bucket-num"} {
		if _, _, err := intOpt(k, 1); err != nil {
			return err
		}
	}
	for _, k := range []string{"compaction.offpeak.start.hour", "compaction.offpeak.end.hour"} {
		if h, _, err := intOpt(k, -1); err != nil || h > 23 {
			return fmt.Errorf("option %s: want an hour from 0 to 23, or -1 (no off-peak hours)", k)
		}
	}
	if _, _, err := intOpt("compaction.offpeak-ratio", 0); err != nil {
		return err
	}
	if v, ok := o.Get("lookup-compact"); ok && !strings.EqualFold(v, "radical") && !strings.EqualFold(v, "gentle") {
		return fmt.Errorf("option lookup-compact = %q: want radical or gentle", v)
	}
	if _, _, err := intOpt("lookup-compact.max-interval", 1); err != nil {
		return err
	}
	if _, _, err := intOpt("commit.max-retries", 0); err != nil {
		return err
	}
	for _, k := range []string{"compaction.optimization-interval", "commit.min-retry-wait", "commit.max-retry-wait", "commit.timeout"} {
		if v, ok := o.Get(k); ok {
			if _, err := table.ParseDuration(v); err != nil {
				return fmt.Errorf("option %s = %q: want a duration such as 1 h, 30 min or 100 ms", k, v)
			}
		}
	}
	for _, k := range []string{"write-buffer-size", "target-file-size", "page-size", "manifest.target-file-size", "manifest.full-compaction-threshold-size", "compaction.total-size-threshold", "compaction.incremental-size-threshold"} {
		if v, ok := o.Get(k); ok {
			if _, err := table.ParseMemorySize(v); err != nil {
				return fmt.Errorf("option %s = %q: want a size such as 128mb", k, v)
			}
		}
	}
	for _, k := range []string{"manifest.target-file-size", "manifest.full-compaction-threshold-size"} {
		if v, ok := o.Get(k); ok {
			if n, _ := table.ParseMemorySize(v); n <= 0 {
				return fmt.Errorf("option %s = %q: want a size above zero", k, v)
			}
		}
	}
	if v, ok := o.Get("bucket-key"); ok {
		for _, k := range strings.Split(v, ",") {
			k = strings.TrimSpace(k)
			if types.FieldByName(fields, k) < 0 {
				return fmt.Errorf("option bucket-key: %q is not a column", k)
			}
			if len(pk) > 0 && !contains(pk, k) {
				return fmt.Errorf("option bucket-key: %q must be part of the primary key (%s)", k, strings.Join(pk, ", "))
			}
			if contains(partition, k) {
				return fmt.Errorf("option bucket-key: %q is a partition key", k)
			}
		}
	}
	if hasBucket && bucket > 0 && len(pk) == 0 {
		if _, ok := o.Get("bucket-key"); !ok {
			return fmt.Errorf("an append-only table with bucket = %d needs option bucket-key (the columns to hash)", bucket)
		}
	}
	if kind, ok := o.Get("bucket-function.type"); ok {
		if _, err := binaryrow.ParseBucketFunction(kind); err != nil {
			return fmt.Errorf("option %w", err)
		}
		if bucket > 0 {
			// The bucket key: bucket-key, else the primary key without the partition keys.
			var names []string
			if v, ok := o.Get("bucket-key"); ok {
				for _, k := range strings.Split(v, ",") {
					names = append(names, strings.TrimSpace(k))
				}
			} else {
				for _, k := range pk {
					if !contains(partition, k) {
						names = append(names, k)
					}
				}
			}
			var keyFields []types.DataField
			for _, n := range names {
				if i := types.FieldByName(fields, n); i >= 0 {
					keyFields = append(keyFields, fields[i])
				}
			}
			if _, err := binaryrow.BucketFunc(kind, keyFields); err != nil {
				return fmt.Errorf("option %w", err)
			}
		}
	}
	engine, _ := o.Get("merge-engine")
	switch engine {
	case "", "deduplicate", "partial-update", "aggregation", "first-row":
	default:
		return fmt.Errorf("option merge-engine = %q: want deduplicate, partial-update, aggregation or first-row", engine)
	}
	if engine != "" && engine != "deduplicate" && len(pk) == 0 {
		return fmt.Errorf("option merge-engine = %s needs a primary key", engine)
	}
	cp, _ := o.Get("changelog-producer")
	switch cp {
	case "", "none", "input", "lookup", "full-compaction":
	default:
		return fmt.Errorf("option changelog-producer = %q: want none, input, lookup or full-compaction", cp)
	}
	if cp != "" && cp != "none" && len(pk) == 0 {
		return fmt.Errorf("option changelog-producer = %s needs a primary key", cp)
	}
	if v, ok := o.Get("sequence.field"); ok {
		for _, k := range strings.Split(v, ",") {
			if types.FieldByName(fields, strings.TrimSpace(k)) < 0 {
				return fmt.Errorf("option sequence.field: %q is not a column", strings.TrimSpace(k))
			}
		}
	}
	if err := table.ValidateManifestFormat(o); err != nil {
		return err
	}
	if _, err := table.RowKindField(o, fields); err != nil {
		return err
	}
	if err := table.ValidateFileFormats(o, fields); err != nil {
		return err
	}
	if _, err := table.ParsePartitionExpiry(o); err != nil {
		return err
	}
	if err := table.ValidateRecordExpiry(o, fields); err != nil {
		return err
	}
	if err := table.ValidateStatsOptions(o); err != nil {
		return err
	}
	if err := table.ValidateScanOptions(o); err != nil {
		return fmt.Errorf("scan options: %w", err)
	}
	if v, ok := o.Get("parquet.page.size"); ok {
		if _, err := table.ParseParquetPageSize(v); err != nil {
			return fmt.Errorf("option parquet.page.size = %q: want a positive number of bytes, such as 65536", v)
		}
	}
	if v, ok := o.Get("compaction.delete-ratio-threshold"); ok {
		if r, err := table.ParseDeleteRatioThreshold(v); err != nil || r < 0 {
			return fmt.Errorf("option compaction.delete-ratio-threshold = %q: want a share of a file's rows, such as 0.2", v)
		}
	}
	for _, k := range []string{"deletion-vectors.enabled", "ignore-delete", "partition.legacy-name", "compaction.force-up-level-0", "parquet.enable.dictionary", "row-tracking.enabled", "data-evolution.enabled", "streaming-read-overwrite"} {
		if v, ok := o.Get(k); ok {
			if _, err := strconv.ParseBool(v); err != nil {
				return fmt.Errorf("option %s = %q: want true or false", k, v)
			}
		}
	}
	return validateCombinations(table.ParseCoreOptions(o), pk, hasBucket, bucket)
}

// validateCombinations applies Paimon's rules for options that depend on each other or on
// the primary key (SchemaValidation). streaming-read-overwrite is for primary-key tables,
// and not with the lookup or full-compaction changelog producers, whose changelog already
// holds an overwrite's changes. Row ids exist only in append-only tables without fixed
// buckets, and data evolution needs them and excludes deletion vectors
// (validateRowTracking).
func validateCombinations(co table.CoreOptions, pk []string, hasBucket bool, bucket int) error {
	if co.StreamingReadOverwrite {
		if len(pk) == 0 {
			return fmt.Errorf("option streaming-read-overwrite needs a primary key; append-only tables use streaming-read-append-overwrite")
		}
		if cp := co.ChangelogProducer; cp == "lookup" || cp == "full-compaction" {
			return fmt.Errorf("option streaming-read-overwrite cannot be true with changelog-producer = %s: streaming reads would read the overwrite's changes twice", cp)
		}
	}
	if co.RowTracking {
		if hasBucket && bucket != -1 {
			return fmt.Errorf("option row-tracking.enabled: a row tracking table must have bucket = -1, not %d", bucket)
		}
		if len(pk) > 0 {
			return fmt.Errorf("option row-tracking.enabled: a row tracking table cannot have a primary key (%s)", strings.Join(pk, ", "))
		}
	}
	if co.DataEvolution {
		if !co.RowTracking {
			return fmt.Errorf("option data-evolution.enabled needs row-tracking.enabled = true")
		}
		if co.DeletionVectors {
			return fmt.Errorf("option data-evolution.enabled cannot be combined with deletion-vectors.enabled")
		}
	}
	return nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}
