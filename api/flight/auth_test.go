package flight_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	tarnflight "github.com/tarnlake/tarn/api/flight"
	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
)

// rpcs calls every Flight RPC once and returns each call's error.
func rpcs(ctx context.Context, c flight.Client) map[string]error {
	out := map[string]error{}
	recv := func(s interface{ RecvMsg(any) error }, m any) error { return s.RecvMsg(m) }
	if hs, err := c.Handshake(ctx); err != nil {
		out["Handshake"] = err
	} else {
		hs.Send(&flight.HandshakeRequest{Payload: []byte("x")})
		_, out["Handshake"] = hs.Recv()
	}
	if s, err := c.ListFlights(ctx, &flight.Criteria{}); err != nil {
		out["ListFlights"] = err
	} else {
		out["ListFlights"] = recv(s, &flight.FlightInfo{})
	}
	desc := &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(`{"table":"db.t"}`)}
	_, out["GetFlightInfo"] = c.GetFlightInfo(ctx, desc)
	_, out["PollFlightInfo"] = c.PollFlightInfo(ctx, desc)
	_, out["GetSchema"] = c.GetSchema(ctx, desc)
	if s, err := c.DoGet(ctx, &flight.Ticket{Ticket: []byte(`{"table":"db.t"}`)}); err != nil {
		out["DoGet"] = err
	} else {
		_, out["DoGet"] = s.Recv()
	}
	if s, err := c.DoPut(ctx); err != nil {
		out["DoPut"] = err
	} else {
		s.Send(&flight.FlightData{FlightDescriptor: &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"db", "t"}}})
		s.CloseSend()
		_, out["DoPut"] = s.Recv()
	}
	if s, err := c.DoExchange(ctx); err != nil {
		out["DoExchange"] = err
	} else {
		s.CloseSend()
		_, out["DoExchange"] = s.Recv()
	}
	if s, err := c.DoAction(ctx, &flight.Action{Type: "ClosePreparedStatement"}); err != nil {
		out["DoAction"] = err
	} else {
		_, out["DoAction"] = s.Recv()
	}
	if s, err := c.ListActions(ctx, &flight.Empty{}); err != nil {
		out["ListActions"] = err
	} else {
		_, out["ListActions"] = s.Recv()
	}
	return out
}

func TestBearerTokenOnEveryRPC(t *testing.T) {
	e := newEnv(t, tarnflight.Options{})
	e.createTable("db.t", "id BIGINT NOT NULL", []string{"id"}, nil, map[string]string{"bucket": "1"})
	bad := []struct {
		name string
		ctx  context.Context
	}{
		{"no token", context.Background()},
		{"wrong token", metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer nope")},
		{"basic auth", metadata.AppendToOutgoingContext(context.Background(), "authorization", "Basic "+testToken)},
		{"token without scheme", metadata.AppendToOutgoingContext(context.Background(), "authorization", testToken)},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			for rpc, err := range rpcs(tc.ctx, e.client) {
				if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "bearer token") {
					t.Errorf("%s: %v, want Unauthenticated", rpc, err)
				}
			}
		})
	}
	// With the token, no call is refused for authentication.
	for rpc, err := range rpcs(e.ctx, e.client) {
		if status.Code(err) == codes.Unauthenticated {
			t.Errorf("%s with the token: %v", rpc, err)
		}
	}
	// Flight SQL clients are refused too.
	drvErr := func() error {
		cn, err := e.adbcOpen("wrong")
		if err != nil {
			return err
		}
		defer cn.Close()
		_, _, err = query(t, cn, "SELECT * FROM db.t", false)
		return err
	}()
	if drvErr == nil || !strings.Contains(strings.ToLower(drvErr.Error()), "unauthenticated") {
		t.Fatalf("ADBC with a wrong token: %v", drvErr)
	}
}

func TestMalformedRequests(t *testing.T) {
	e := newEnv(t, tarnflight.Options{})
	e.createTable("db.t", "id BIGINT NOT NULL, v STRING", []string{"id"}, nil, map[string]string{"bucket": "1"})
	tickets := []struct {
		name, ticket, msg string
	}{
		{"truncated JSON", `{"table":`, "not valid JSON"},
		{"wrong type", `{"table":1}`, "not valid JSON"},
		{"unknown field", `{"table":"db.t","snapshots":1}`, `unknown field "snapshots"`},
		{"trailing data", `{"table":"db.t"} {}`, "after its JSON object"},
		{"no table", `{"snapshot":1}`, `no "table"`},
		{"bad table name", `{"table":"db/../x"}`, "not allowed"},
		{"partition without bucket", `{"table":"db.t","partition":"AAAA"}`, `only one of "partition" and "bucket"`},
		{"partition not base64", `{"table":"db.t","partition":"@@","bucket":0}`, "not base64"},
		{"negative limit", `{"table":"db.t","limit":-1}`, "negative"},
		{"bad filter", `{"table":"db.t","filter":"id >"}`, "expected a value"},
		{"filter on a missing column", `{"table":"db.t","filter":"zz = 1"}`, `no column "zz"`},
		{"missing column", `{"table":"db.t","columns":["zz"]}`, `no column "zz"`},
		{"column twice", `{"table":"db.t","columns":["id","id"]}`, "listed twice"},
		{"reversed range", `{"table":"db.t","incremental":{"from":3,"to":1}}`, "reversed"},
		{"tail without table", `{"tail":{}}`, `tail has no "table"`},
		{"tail with a bad start", `{"tail":{"table":"db.t","start":"yesterday"}}`, `tail start "yesterday"`},
		{"tail with two starts", `{"tail":{"table":"db.t","start":{"snapshot":1,"timestamp":5}}}`, "exactly one"},
		{"tail with a bad token", `{"tail":{"table":"db.t","resume":"not-a-token"}}`, "resume token"},
		{"tail mixed with a scan", `{"table":"db.t","tail":{"table":"db.t"}}`, `inside "tail"`},
		{"tail with a bad consumer", `{"tail":{"table":"db.t","consumer":"a/b"}}`, "consumer id"},
		{"not JSON, not Flight SQL", "\x0a\x03abc", "unable to"},
	}
	for _, tc := range tickets {
		t.Run("DoGet/"+tc.name, func(t *testing.T) {
			_, err := e.doGet(&flight.Ticket{Ticket: []byte(tc.ticket)})
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want InvalidArgument with %q", err, tc.msg)
			}
		})
	}
	commands := []struct {
		name, cmd, msg string
	}{
		{"two snapshots", `{"table":"db.t","snapshot":1,"tag":"x"}`, "at most one"},
		{"unknown field", `{"table":"db.t","where":"id = 1"}`, `unknown field "where"`},
		{"not an object", `[1,2]`, "unable to parse command"},
		{"bad filter", `{"table":"db.t","filter":"(id = 1"}`, "expected ')'"},
	}
	for _, tc := range commands {
		t.Run("GetFlightInfo/"+tc.name, func(t *testing.T) {
			_, err := e.client.GetFlightInfo(e.ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(tc.cmd)})
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want InvalidArgument with %q", err, tc.msg)
			}
		})
	}
	// Missing things are NotFound, not InvalidArgument.
	_, err := e.doGet(&flight.Ticket{Ticket: []byte(`{"table":"db.nope"}`)})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("missing table: %v", err)
	}
	_, err = e.doGet(&flight.Ticket{Ticket: []byte(`{"table":"db.t","snapshot":7}`)})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("missing snapshot: %v", err)
	}
	// The service still answers.
	if _, _, err := e.scan(`{"table":"db.t"}`); err != nil {
		t.Fatal(err)
	}
}

func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	cat := catalog.New(fileio.NewLocal(), t.TempDir())
	svc := tarnflight.NewService(cat, tarnflight.Options{Token: testToken, TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go svc.Serve(l)
	defer svc.Stop()
	cl, err := flight.NewClientWithMiddleware(l.Addr().String(), nil, nil,
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+testToken)
	s, err := cl.ListFlights(ctx, &flight.Criteria{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("ListFlights over TLS: %v", err)
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tarn-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}
