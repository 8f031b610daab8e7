// Package workload generates the seeded benchmark workloads: an update-heavy customer
// table (primary key, ~150-byte rows, a share of writes updating existing keys) and an
// insert-heavy transactions table (partitioned by day, about 20 columns of mixed types).
package workload

import (
	"fmt"
	"math/rand/v2"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/tarnlake/tarn/format/types"
)

// CustomerSchema is the customer table: primary key id.
const CustomerSchema = "id BIGINT NOT NULL, name STRING, email STRING, city STRING, segment STRING, " +
	"balance DECIMAL(18,2), credit_limit DECIMAL(18,2), score INT, active BOOLEAN, updated_at TIMESTAMP(3)"

// TransactionSchema is the transactions table: partitioned by dt, primary key (txn_id, dt).
const TransactionSchema = "txn_id BIGINT NOT NULL, dt STRING NOT NULL, account_id BIGINT, customer_id BIGINT, " +
	"amount DECIMAL(18,2), currency STRING, channel STRING, merchant STRING, mcc INT, status STRING, " +
	"direction STRING, fee DECIMAL(10,2), balance_after DECIMAL(18,2), branch_id INT, teller_id INT, " +
	"auth_code STRING, ts TIMESTAMP(3), is_reversal BOOLEAN, risk_score DOUBLE, memo STRING"

// Fields parses one of the schemas.
func Fields(schema string) []types.DataField {
	f, err := types.ParseColumns(schema)
	if err != nil {
		panic(err)
	}
	return f
}

var cities = []string{"Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Chengdu", "Wuhan", "Nanjing", "Xi'an"}
var segments = []string{"retail", "private", "corporate", "sme"}

// Customers yields batches of customer upserts: keys uniform over keySpace; with
// updateShare of the rows reusing a key written before (so they update it).
type Customers struct {
	rng         *rand.Rand
	keySpace    int64
	updateShare float64
	written     []int64
	fields      []types.DataField
	schema      *arrow.Schema
	mem         memory.Allocator
	t0          int64
}

// NewCustomers starts a seeded customer stream.
func NewCustomers(seed uint64, keySpace int64, updateShare float64) *Customers {
	f := Fields(CustomerSchema)
	s, _ := types.ArrowSchema(f)
	return &Customers{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), keySpace: keySpace, updateShare: updateShare, fields: f, schema: s, mem: memory.DefaultAllocator, t0: 1_700_000_000_000}
}

// FieldsOf returns the stream's table fields.
func (c *Customers) FieldsOf() []types.DataField { return c.fields }

// Next returns a batch of n rows.
func (c *Customers) Next(n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(c.mem, c.schema)
	defer b.Release()
	ids := b.Field(0).(*array.Int64Builder)
	name := b.Field(1).(*array.StringBuilder)
	email := b.Field(2).(*array.StringBuilder)
	city := b.Field(3).(*array.StringBuilder)
	seg := b.Field(4).(*array.StringBuilder)
	bal := b.Field(5).(*array.Decimal128Builder)
	lim := b.Field(6).(*array.Decimal128Builder)
	score := b.Field(7).(*array.Int32Builder)
	active := b.Field(8).(*array.BooleanBuilder)
	upd := b.Field(9).(*array.TimestampBuilder)
	for _, bb := range b.Fields() {
		bb.Reserve(n)
	}
	var buf []byte
	for i := 0; i < n; i++ {
		var id int64
		if len(c.written) > 0 && c.rng.Float64() < c.updateShare {
			id = c.written[c.rng.IntN(len(c.written))]
		} else {
			id = c.rng.Int64N(c.keySpace)
			if len(c.written) < 1<<20 {
				c.written = append(c.written, id)
			} else {
				c.written[c.rng.IntN(len(c.written))] = id
			}
		}
		ids.UnsafeAppend(id)
		buf = fmt.Appendf(buf[:0], "customer-%09d", id)
		name.Append(string(buf))
		buf = fmt.Appendf(buf[:0], "c%d@%s.example.com", id, segments[id%4])
		email.Append(string(buf))
		city.Append(cities[c.rng.IntN(len(cities))])
		seg.Append(segments[c.rng.IntN(len(segments))])
		bal.UnsafeAppend(decimal128.FromI64(c.rng.Int64N(100_000_000_00)))
		lim.UnsafeAppend(decimal128.FromI64(c.rng.Int64N(50_000_000)))
		score.UnsafeAppend(int32(300 + c.rng.IntN(550)))
		active.UnsafeAppend(c.rng.IntN(10) != 0)
		c.t0 += int64(c.rng.IntN(5))
		upd.UnsafeAppend(arrow.Timestamp(c.t0))
	}
	return b.NewRecordBatch()
}

// Transactions yields insert-only transaction rows spread over days.
type Transactions struct {
	rng    *rand.Rand
	next   int64
	days   int
	fields []types.DataField
	schema *arrow.Schema
	mem    memory.Allocator
}

// NewTransactions starts a seeded transactions stream over the given number of days.
func NewTransactions(seed uint64, days int) *Transactions {
	f := Fields(TransactionSchema)
	s, _ := types.ArrowSchema(f)
	return &Transactions{rng: rand.New(rand.NewPCG(seed, seed+1)), days: days, fields: f, schema: s, mem: memory.DefaultAllocator}
}

// FieldsOf returns the stream's table fields.
func (t *Transactions) FieldsOf() []types.DataField { return t.fields }

var currencies = []string{"CNY", "USD", "EUR", "HKD"}
var channels = []string{"mobile", "web", "branch", "atm", "pos"}
var statuses = []string{"posted", "pending", "reversed"}

// Next returns a batch of n rows.
func (t *Transactions) Next(n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(t.mem, t.schema)
	defer b.Release()
	for _, bb := range b.Fields() {
		bb.Reserve(n)
	}
	var buf []byte
	for i := 0; i < n; i++ {
		t.next++
		day := t.rng.IntN(t.days)
		b.Field(0).(*array.Int64Builder).UnsafeAppend(t.next)
		buf = fmt.Appendf(buf[:0], "2024-01-%02d", 1+day%28)
		b.Field(1).(*array.StringBuilder).Append(string(buf))
		acct := t.rng.Int64N(5_000_000)
		b.Field(2).(*array.Int64Builder).UnsafeAppend(acct)
		b.Field(3).(*array.Int64Builder).UnsafeAppend(acct / 3)
		b.Field(4).(*array.Decimal128Builder).UnsafeAppend(decimal128.FromI64(t.rng.Int64N(1_000_000_00)))
		b.Field(5).(*array.StringBuilder).Append(currencies[t.rng.IntN(len(currencies))])
		b.Field(6).(*array.StringBuilder).Append(channels[t.rng.IntN(len(channels))])
		buf = fmt.Appendf(buf[:0], "merchant-%05d", t.rng.IntN(20000))
		b.Field(7).(*array.StringBuilder).Append(string(buf))
		b.Field(8).(*array.Int32Builder).UnsafeAppend(int32(5000 + t.rng.IntN(999)))
		b.Field(9).(*array.StringBuilder).Append(statuses[t.rng.IntN(len(statuses))])
		if t.rng.IntN(2) == 0 {
			b.Field(10).(*array.StringBuilder).Append("debit")
		} else {
			b.Field(10).(*array.StringBuilder).Append("credit")
		}
		b.Field(11).(*array.Decimal128Builder).UnsafeAppend(decimal128.FromI64(t.rng.Int64N(10_000)))
		b.Field(12).(*array.Decimal128Builder).UnsafeAppend(decimal128.FromI64(t.rng.Int64N(10_000_000_00)))
		b.Field(13).(*array.Int32Builder).UnsafeAppend(int32(t.rng.IntN(2000)))
		b.Field(14).(*array.Int32Builder).UnsafeAppend(int32(t.rng.IntN(50000)))
		buf = fmt.Appendf(buf[:0], "%06X", t.rng.IntN(1<<24))
		b.Field(15).(*array.StringBuilder).Append(string(buf))
		b.Field(16).(*array.TimestampBuilder).UnsafeAppend(arrow.Timestamp(1_704_067_200_000 + int64(day)*86_400_000 + t.rng.Int64N(86_400_000)))
		b.Field(17).(*array.BooleanBuilder).UnsafeAppend(t.rng.IntN(100) == 0)
		b.Field(18).(*array.Float64Builder).UnsafeAppend(t.rng.Float64())
		if t.rng.IntN(4) == 0 {
			b.Field(19).(*array.StringBuilder).AppendNull()
		} else {
			buf = fmt.Appendf(buf[:0], "transfer ref %d", t.rng.Int64())
			b.Field(19).(*array.StringBuilder).Append(string(buf))
		}
	}
	return b.NewRecordBatch()
}
