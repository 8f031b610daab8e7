package flight

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tarnlake/tarn/table"
)

func TestParseSelect(t *testing.T) {
	tests := []struct {
		sql  string
		want selectStmt
	}{
		{"SELECT * FROM db.t", selectStmt{Database: "db", Table: "t"}},
		{"select a, \"B c\", `d` from t;", selectStmt{Columns: []string{"a", "B c", "d"}, Database: "default", Table: "t"}},
		{"SELECT a FROM tarn.db.t WHERE a > 10 AND b = 'x' LIMIT 5", selectStmt{Columns: []string{"a"}, Catalog: "tarn", Database: "db", Table: "t", Where: "a > 10 AND b = 'x'", Limit: 5}},
		{"SELECT * FROM db.t FOR VERSION AS OF 12", selectStmt{Database: "db", Table: "t", Snapshot: 12}},
		{"SELECT * FROM db.t VERSION AS OF 'tag-1' WHERE a IN (1, 2)", selectStmt{Database: "db", Table: "t", Tag: "tag-1", Where: "a IN (1, 2)"}},
		{"SELECT * FROM db.t FOR SYSTEM_VERSION AS OF 3", selectStmt{Database: "db", Table: "t", Snapshot: 3}},
		{"SELECT * FROM db.t FOR TIMESTAMP AS OF '2024-01-02 03:04:05.678'", selectStmt{Database: "db", Table: "t", Timestamp: 1704164645678}},
		{"SELECT * FROM db.t FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-02 00:00:00'", selectStmt{Database: "db", Table: "t", Timestamp: 1704153600000}},
		{"SELECT * FROM db.t TIMESTAMP AS OF 1700000000000", selectStmt{Database: "db", Table: "t", Timestamp: 1700000000000}},
		{"SELECT * FROM db.t WHERE (a = 1 OR b = 2) -- note\n", selectStmt{Database: "db", Table: "t", Where: "(a = 1 OR b = 2)"}},
		{"SELECT * FROM db.t WHERE s = 'LIMIT 3' LIMIT 0", selectStmt{Database: "db", Table: "t", Where: "s = 'LIMIT 3'", Limit: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.sql, func(t *testing.T) {
			got, err := parseSelect(tc.sql)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", *got, tc.want)
			}
		})
	}
	bad := []struct{ sql, msg string }{
		{"", "expected SELECT"},
		{"SELECT FROM db.t", "expected a column name"},
		{"SELECT a b FROM db.t", "expected FROM"},
		{"SELECT * FROM", "expected a table name"},
		{"SELECT * FROM a.b.c.d", "too many parts"},
		{"SELECT * FROM db.t WHERE", "WHERE without a condition"},
		{"SELECT * FROM db.t LIMIT x", "number after LIMIT"},
		{"SELECT * FROM db.t LIMIT 1.5", "non-negative integer"},
		{"SELECT * FROM db.t FOR VERSION AS OF 0", "snapshot ids"},
		{"SELECT * FROM db.t FOR VERSION AS OF 1 FOR TIMESTAMP AS OF 2", "one time-travel clause"},
		{"SELECT * FROM db.t FOR TIMESTAMP AS OF 'yesterday'", "YYYY-MM-DD"},
		{"SELECT * FROM db.t FOR SOMETHING", "VERSION or TIMESTAMP"},
		{"SELECT * FROM db.t GROUP BY a", `unexpected "GROUP"`},
		{"SELECT * FROM db.t WHERE a = 'x", "unterminated quote"},
		{"SELECT * FROM db.t; SELECT 1", "unexpected"},
	}
	for _, tc := range bad {
		t.Run("bad/"+tc.sql, func(t *testing.T) {
			_, err := parseSelect(tc.sql)
			if !errors.Is(err, errInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %q", err, tc.msg)
			}
		})
	}
}

func FuzzParseSelect(f *testing.F) {
	for _, s := range []string{"SELECT * FROM db.t", "SELECT a, b FROM db.t FOR VERSION AS OF 3 WHERE a > 1 LIMIT 4", "select `x` from \"d\".t where s = 'it''s'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := parseSelect(s)
		if err == nil && (st.Table == "" || st.Database == "") {
			t.Fatalf("%q parsed without a table: %+v", s, st)
		}
	})
}

func FuzzParseTicket(f *testing.F) {
	for _, s := range []string{`{"table":"db.t","snapshot":3,"partition":"AAAA","bucket":1}`, `{"tail":{"table":"db.t","start":{"snapshot":2}}}`, `{"tail":{"table":"db.t","resume":"eyJzbmFwc2hvdCI6MX0"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tk, err := parseTicket(b)
		if err != nil && !errors.Is(err, errInvalid) {
			t.Fatalf("error not marked invalid: %v", err)
		}
		if err == nil && tk.Tail == nil && tk.Table == "" {
			t.Fatalf("ticket without a table accepted: %s", b)
		}
	})
}

func TestLikeMatch(t *testing.T) {
	p := func(s string) *string { return &s }
	tests := []struct {
		pattern *string
		s       string
		want    bool
	}{
		{nil, "anything", true},
		{p("%"), "db", true},
		{p("d_"), "db", true},
		{p("d_"), "dbb", false},
		{p("sales%"), "sales_2024", true},
		{p(`a\_b`), "a_b", true},
		{p(`a\_b`), "axb", false},
		{p("a*b"), "a*b", true},
		{p("a*b"), "axb", false},
	}
	for _, tc := range tests {
		if got := likeMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("likeMatch(%v, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}

// TestRecover checks that a panicking handler becomes an Internal error, in both kinds of
// call, and the service goes on.
func TestRecover(t *testing.T) {
	s := &Service{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	_, err := s.unaryRecover(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/x/Unary"},
		func(context.Context, any) (any, error) { panic("boom") })
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("unary: %v", err)
	}
	err = s.streamRecover(nil, nil, &grpc.StreamServerInfo{FullMethod: "/x/Stream"},
		func(any, grpc.ServerStream) error { var m map[string]int; m["x"]++; return nil })
	if status.Code(err) != codes.Internal {
		t.Fatalf("stream: %v", err)
	}
}

func TestToStatus(t *testing.T) {
	tests := []struct {
		err  error
		code codes.Code
	}{
		{invalidf("bad"), codes.InvalidArgument},
		{table.ErrNotFound, codes.NotFound},
		{table.ErrSnapshotExpired, codes.OutOfRange},
		{table.ErrConflict, codes.Aborted},
		{context.Canceled, codes.Canceled},
		{status.Error(codes.PermissionDenied, "x"), codes.PermissionDenied},
		{errors.New("disk on fire"), codes.Internal},
	}
	for _, tc := range tests {
		if got := status.Code(toStatus(tc.err)); got != tc.code {
			t.Errorf("%v: %v, want %v", tc.err, got, tc.code)
		}
	}
	if msg := status.Convert(toStatus(invalidf("the reason"))).Message(); msg != "the reason" {
		t.Errorf("InvalidArgument message %q", msg)
	}
}

// TestPlanCache checks that concurrent requests plan once, failures are not kept, and
// entries expire.
func TestPlanCache(t *testing.T) {
	c := newPlanCache(50 * time.Millisecond)
	var calls atomic.Int32
	plan := &table.Plan{}
	fn := func(context.Context) (*table.Plan, error) {
		calls.Add(1)
		time.Sleep(20 * time.Millisecond)
		return plan, nil
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p, err := c.get(context.Background(), "k", fn); p != plan || err != nil {
				t.Errorf("got %v, %v", p, err)
			}
		}()
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("planned %d times", n)
	}
	time.Sleep(60 * time.Millisecond)
	c.get(context.Background(), "k", fn)
	if n := calls.Load(); n != 2 {
		t.Fatalf("expired entry not replanned: %d", n)
	}
	boom := errors.New("boom")
	if _, err := c.get(context.Background(), "e", func(context.Context) (*table.Plan, error) { return nil, boom }); err != boom {
		t.Fatal(err)
	}
	if p, err := c.get(context.Background(), "e", fn); p != plan || err != nil {
		t.Fatalf("a failed plan was kept: %v", err)
	}
}
