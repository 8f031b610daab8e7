package flight

import (
	"context"
	"errors"
	"path"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/types"
	"github.com/tarnlake/tarn/metrics"
	"github.com/tarnlake/tarn/table"
)

// sqlServer is the Flight SQL side of the service: SELECT statements (plain and
// prepared) planned like JSON scan commands, whose endpoints carry the same JSON tickets,
// and the metadata commands.
type sqlServer struct {
	flightsql.BaseServer
	s     *Service
	infos map[uint32]bool
}

// ServerVersion is reported as FLIGHT_SQL_SERVER_VERSION.
const ServerVersion = "0.1.0"

func registerSQLInfo(q *sqlServer, catalogName string) {
	q.infos = map[uint32]bool{}
	reg := func(id flightsql.SqlInfo, v any) {
		if err := q.RegisterSqlInfo(id, v); err != nil {
			panic(err) // only fixed, well-typed values are registered
		}
		q.infos[uint32(id)] = true
	}
	reg(flightsql.SqlInfoFlightSqlServerName, "Tarn")
	reg(flightsql.SqlInfoFlightSqlServerVersion, ServerVersion)
	reg(flightsql.SqlInfoFlightSqlServerArrowVersion, "18.8.0")
	reg(flightsql.SqlInfoFlightSqlServerReadOnly, true)
	reg(flightsql.SqlInfoFlightSqlServerSql, true)
	reg(flightsql.SqlInfoFlightSqlServerSubstrait, false)
	reg(flightsql.SqlInfoFlightSqlServerTransaction, int32(flightsql.SqlTransactionNone))
	reg(flightsql.SqlInfoFlightSqlServerCancel, false)
	reg(flightsql.SqlInfoFlightSqlServerBulkIngestion, false)
	reg(flightsql.SqlInfoTransactionsSupported, false)
	reg(flightsql.SqlInfoDDLCatalog, false)
	reg(flightsql.SqlInfoDDLSchema, false)
	reg(flightsql.SqlInfoDDLTable, false)
	reg(flightsql.SqlInfoIdentifierQuoteChar, `"`)
	reg(flightsql.SqlInfoAllTablesAreASelectable, true)
	reg(flightsql.SqlInfoSearchStringEscape, `\`)
	reg(flightsql.SqlInfoCatalogTerm, "catalog")
	reg(flightsql.SqlInfoSchemaTerm, "database")
	reg(flightsql.SqlInfoKeywords, []string{"VERSION", "SYSTEM_VERSION", "SYSTEM_TIME"})
	_ = catalogName
}

// query plans a SELECT into a FlightInfo.
func (q *sqlServer) query(ctx context.Context, sql string, desc *flight.FlightDescriptor) (*flight.FlightInfo, *arrow.Schema, error) {
	st, err := parseSelect(sql)
	if err != nil {
		return nil, nil, err
	}
	if st.Catalog != "" && st.Catalog != q.s.o.CatalogName {
		return nil, nil, status.Errorf(codes.NotFound, "SQL: no catalog %q (the catalog is %q)", st.Catalog, q.s.o.CatalogName)
	}
	name := st.Database + "." + st.Table
	tbl, _, err := q.s.loadTable(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	schema, err := tbl.LatestSchema(ctx)
	if err != nil {
		return nil, nil, err
	}
	cols, err := resolveColumns(schema, st.Columns)
	if err != nil {
		return nil, nil, err
	}
	limit := st.Limit
	if limit < 0 {
		limit = 0
	}
	sp, err := q.s.resolveScan(ctx, name, st.Snapshot, st.Tag, st.Timestamp, nil, cols, st.Where, limit)
	if err != nil {
		return nil, nil, err
	}
	if st.Limit < 0 { // LIMIT 0
		return &flight.FlightInfo{Schema: flight.SerializeSchema(sp.out, q.s.o.Mem), FlightDescriptor: desc, TotalRecords: 0, TotalBytes: -1}, sp.out, nil
	}
	if desc != nil {
		metrics.ScanPlanned(name, "flight-sql")
	}
	info, err := q.s.scanInfo(ctx, sp, desc)
	return info, sp.out, err
}

// resolveColumns matches selected columns to the schema: exactly, else ignoring case when
// that is unambiguous.
func resolveColumns(schema *format.TableSchema, cols []string) ([]string, error) {
	if cols == nil {
		return nil, nil
	}
	out := make([]string, len(cols))
	for i, c := range cols {
		if _, ok := schema.Field(c); ok {
			out[i] = c
			continue
		}
		var match []string
		for _, f := range schema.Fields {
			if strings.EqualFold(f.Name, c) {
				match = append(match, f.Name)
			}
		}
		if len(match) != 1 {
			names := make([]string, len(schema.Fields))
			for j, f := range schema.Fields {
				names[j] = f.Name
			}
			return nil, invalidf("SQL: no column %q (columns: %s)", c, strings.Join(names, ", "))
		}
		out[i] = match[0]
	}
	return out, nil
}

func (q *sqlServer) GetFlightInfoStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	info, _, err := q.query(ctx, cmd.GetQuery(), desc)
	return info, toStatus(err)
}

func (q *sqlServer) GetSchemaStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	_, sc, err := q.query(ctx, cmd.GetQuery(), desc)
	if err != nil {
		return nil, toStatus(err)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(sc, q.s.o.Mem)}, nil
}

// Prepared statements hold their SQL text as the handle: nothing is kept on the server.

func (q *sqlServer) CreatePreparedStatement(ctx context.Context, req flightsql.ActionCreatePreparedStatementRequest) (flightsql.ActionCreatePreparedStatementResult, error) {
	_, sc, err := q.query(ctx, req.GetQuery(), nil)
	if err != nil {
		return flightsql.ActionCreatePreparedStatementResult{}, toStatus(err)
	}
	return flightsql.ActionCreatePreparedStatementResult{Handle: []byte(req.GetQuery()), DatasetSchema: sc}, nil
}

func (q *sqlServer) ClosePreparedStatement(context.Context, flightsql.ActionClosePreparedStatementRequest) error {
	return nil
}

func (q *sqlServer) GetFlightInfoPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	info, _, err := q.query(ctx, string(cmd.GetPreparedStatementHandle()), desc)
	return info, toStatus(err)
}

func (q *sqlServer) GetSchemaPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	_, sc, err := q.query(ctx, string(cmd.GetPreparedStatementHandle()), desc)
	if err != nil {
		return nil, toStatus(err)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(sc, q.s.o.Mem)}, nil
}

func (q *sqlServer) DoPutPreparedStatementQuery(_ context.Context, cmd flightsql.PreparedStatementQuery, _ flight.MessageReader, _ flight.MetadataWriter) ([]byte, error) {
	return cmd.GetPreparedStatementHandle(), nil // no parameters to bind
}

// GetSqlInfo answers what is registered and leaves out what is not, instead of failing.

func (q *sqlServer) DoGetSqlInfo(ctx context.Context, cmd flightsql.GetSqlInfo) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	keys := cmd.GetInfo()
	if len(keys) == 0 {
		return q.BaseServer.DoGetSqlInfo(ctx, cmd)
	}
	known := slices.DeleteFunc(slices.Clone(keys), func(k uint32) bool { return !q.infos[k] })
	if len(known) == 0 {
		b := array.NewRecordBuilder(q.s.o.Mem, schema_ref.SqlInfo)
		defer b.Release()
		return oneBatch(schema_ref.SqlInfo, b.NewRecordBatch())
	}
	return q.BaseServer.DoGetSqlInfo(ctx, sqlInfoKeys(known))
}

type sqlInfoKeys []uint32

func (k sqlInfoKeys) GetInfo() []uint32 { return k }

func oneBatch(sc *arrow.Schema, rec arrow.RecordBatch) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	ch := make(chan flight.StreamChunk, 1)
	ch <- flight.StreamChunk{Data: rec}
	close(ch)
	return sc, ch, nil
}

func (q *sqlServer) metaInfo(desc *flight.FlightDescriptor, sc *arrow.Schema) *flight.FlightInfo {
	return &flight.FlightInfo{
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: desc.Cmd}}},
		FlightDescriptor: desc, Schema: flight.SerializeSchema(sc, q.s.o.Mem), TotalRecords: -1, TotalBytes: -1,
	}
}

func (q *sqlServer) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return q.metaInfo(desc, schema_ref.Catalogs), nil
}

func (q *sqlServer) DoGetCatalogs(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(q.s.o.Mem, schema_ref.Catalogs)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(q.s.o.CatalogName)
	return oneBatch(schema_ref.Catalogs, b.NewRecordBatch())
}

func (q *sqlServer) GetFlightInfoSchemas(_ context.Context, _ flightsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return q.metaInfo(desc, schema_ref.DBSchemas), nil
}

// catalogMatches reports whether a requested catalog (nil: any) is ours.
func (q *sqlServer) catalogMatches(c *string) bool {
	return c == nil || *c == "" || *c == q.s.o.CatalogName
}

func (q *sqlServer) DoGetDBSchemas(ctx context.Context, cmd flightsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(q.s.o.Mem, schema_ref.DBSchemas)
	defer b.Release()
	if q.catalogMatches(cmd.GetCatalog()) {
		dbs, err := q.s.cat.ListDatabases(ctx)
		if err != nil {
			return nil, nil, toStatus(err)
		}
		for _, db := range dbs {
			if !likeMatch(cmd.GetDBSchemaFilterPattern(), db) {
				continue
			}
			b.Field(0).(*array.StringBuilder).Append(q.s.o.CatalogName)
			b.Field(1).(*array.StringBuilder).Append(db)
		}
	}
	return oneBatch(schema_ref.DBSchemas, b.NewRecordBatch())
}

func (q *sqlServer) GetFlightInfoTables(_ context.Context, cmd flightsql.GetTables, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if cmd.GetIncludeSchema() {
		return q.metaInfo(desc, schema_ref.TablesWithIncludedSchema), nil
	}
	return q.metaInfo(desc, schema_ref.Tables), nil
}

func (q *sqlServer) DoGetTables(ctx context.Context, cmd flightsql.GetTables) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	sc := schema_ref.Tables
	if cmd.GetIncludeSchema() {
		sc = schema_ref.TablesWithIncludedSchema
	}
	b := array.NewRecordBuilder(q.s.o.Mem, sc)
	defer b.Release()
	types := cmd.GetTableTypes()
	if q.catalogMatches(cmd.GetCatalog()) && (len(types) == 0 || slices.ContainsFunc(types, func(t string) bool { return strings.EqualFold(t, "TABLE") })) {
		dbs, err := q.s.cat.ListDatabases(ctx)
		if err != nil {
			return nil, nil, toStatus(err)
		}
		for _, db := range dbs {
			if !likeMatch(cmd.GetDBSchemaFilterPattern(), db) {
				continue
			}
			names, err := q.s.cat.ListTables(ctx, db)
			if err != nil {
				return nil, nil, toStatus(err)
			}
			for _, name := range names {
				if !likeMatch(cmd.GetTableNameFilterPattern(), name) {
					continue
				}
				var schemaBytes []byte
				if cmd.GetIncludeSchema() {
					s, err := q.tableArrowSchema(ctx, db, name)
					if errors.Is(err, table.ErrNotFound) {
						continue
					}
					if err != nil {
						return nil, nil, toStatus(err)
					}
					schemaBytes = flight.SerializeSchema(s, q.s.o.Mem)
				}
				b.Field(0).(*array.StringBuilder).Append(q.s.o.CatalogName)
				b.Field(1).(*array.StringBuilder).Append(db)
				b.Field(2).(*array.StringBuilder).Append(name)
				b.Field(3).(*array.StringBuilder).Append("TABLE")
				if cmd.GetIncludeSchema() {
					b.Field(4).(*array.BinaryBuilder).Append(schemaBytes)
				}
			}
		}
	}
	return oneBatch(sc, b.NewRecordBatch())
}

func (q *sqlServer) tableArrowSchema(ctx context.Context, db, name string) (*arrow.Schema, error) {
	tbl, err := q.s.cat.LoadTable(ctx, catalog.Identifier{Database: db, Table: name})
	if err != nil {
		return nil, err
	}
	schema, err := tbl.LatestSchema(ctx)
	if err != nil {
		return nil, err
	}
	return types.ArrowSchema(schema.Fields)
}

func (q *sqlServer) GetFlightInfoTableTypes(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return q.metaInfo(desc, schema_ref.TableTypes), nil
}

func (q *sqlServer) DoGetTableTypes(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(q.s.o.Mem, schema_ref.TableTypes)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append("TABLE")
	return oneBatch(schema_ref.TableTypes, b.NewRecordBatch())
}

func (q *sqlServer) GetFlightInfoPrimaryKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return q.metaInfo(desc, schema_ref.PrimaryKeys), nil
}

func (q *sqlServer) DoGetPrimaryKeys(ctx context.Context, ref flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(q.s.o.Mem, schema_ref.PrimaryKeys)
	defer b.Release()
	db := "default"
	if ref.DBSchema != nil && *ref.DBSchema != "" {
		db = *ref.DBSchema
	}
	if q.catalogMatches(ref.Catalog) {
		tbl, err := q.s.cat.LoadTable(ctx, catalog.Identifier{Database: db, Table: ref.Table})
		if err != nil && !errors.Is(err, table.ErrNotFound) {
			return nil, nil, toStatus(err)
		}
		if tbl != nil {
			schema, err := tbl.LatestSchema(ctx)
			if err != nil {
				return nil, nil, toStatus(err)
			}
			for i, k := range schema.PrimaryKeys {
				b.Field(0).(*array.StringBuilder).Append(q.s.o.CatalogName)
				b.Field(1).(*array.StringBuilder).Append(db)
				b.Field(2).(*array.StringBuilder).Append(ref.Table)
				b.Field(3).(*array.StringBuilder).Append(k)
				b.Field(4).(*array.Int32Builder).Append(int32(i + 1))
				b.Field(5).(*array.StringBuilder).AppendNull()
			}
		}
	}
	return oneBatch(schema_ref.PrimaryKeys, b.NewRecordBatch())
}

// likeMatch applies a SQL LIKE pattern (% any run, _ one character, \ escapes); nil
// matches everything.
func likeMatch(pattern *string, s string) bool {
	if pattern == nil {
		return true
	}
	var b strings.Builder
	p := *pattern
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteByte('\\')
				b.WriteByte(p[i])
			}
		case '*', '?', '[', ']':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	ok, err := path.Match(b.String(), s)
	return err == nil && ok
}
