package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/tarnlake/tarn/api/flight"
	"github.com/tarnlake/tarn/server"
)

// serveOptions wire services into `tarn serve`. Other files of this command may add to it
// in init functions, so that a service is built in by adding its file.
var serveOptions = []server.Option{server.WithFlight(newFlightService)}

// newFlightService is the Arrow Flight (and Flight SQL) service of api/flight. The server
// hands it a listener already wrapped in TLS when TLS is configured.
func newFlightService(_ context.Context, d server.Deps) (server.FlightService, error) {
	o := flight.Options{
		Token:       d.Config.Token,
		CatalogName: d.Config.CatalogName,
		CommitGate:  d.Gate,
		Logger:      d.Logger,
	}
	if d.Log != nil {
		o.Follow, o.WriteLog = d.Log.Follow, d.Log.WriteLog
	}
	return flight.NewService(d.Catalog, o), nil
}

func init() {
	register("serve", "run the Tarn server (HTTP API, Paimon REST catalog, Arrow Flight)", cmdServe)
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "[flags]", stderr)
	flags := server.AddFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve takes no arguments (got %q); the warehouse is --warehouse", strings.Join(pos, " "))
	}
	cfg, err := server.Load(flags, os.Getenv)
	if err != nil {
		return usagef("%v", err)
	}
	srv, err := server.New(ctx, cfg, serveOptions...)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	printConnectInfo(stdout, srv)
	return srv.ServeUntil(ctx)
}

// printConnectInfo tells how to reach the server.
func printConnectInfo(w io.Writer, srv *server.Server) {
	cfg := srv.Config()
	url := connectURL(srv.HTTPURL())
	auth, authHeader := "off (no token: every client can read and write; set --token or TARN_TOKEN)", ""
	token := "<any>"
	if cfg.Token != "" {
		auth = "bearer token required"
		authHeader = ` -H "Authorization: Bearer $TARN_TOKEN"`
		token = "<token>"
	}
	fmt.Fprintf(w, "Tarn is serving warehouse %s\n\n", cfg.Warehouse)
	fmt.Fprintf(w, "  HTTP API        %s/api/v1\n", url)
	fmt.Fprintf(w, "  Paimon REST     %s  (warehouse %q)\n", url, cfg.CatalogName)
	if f := srv.FlightURL(); f != "" {
		fmt.Fprintf(w, "  Arrow Flight    %s\n", connectURL(f))
	} else {
		fmt.Fprintf(w, "  Arrow Flight    not running\n")
	}
	fmt.Fprintf(w, "  Metrics         %s/metrics\n", url)
	switch ls := srv.LogSystem(); {
	case ls == nil:
		fmt.Fprintf(w, "  Kafka log       off\n")
	default:
		if sl, ok := ls.(*serveLog); ok {
			if a := sl.EmbeddedAddr(); a != "" {
				fmt.Fprintf(w, "  Kafka log       embedded broker %s (tables with tarn.log.system=kafka)\n", a)
			} else {
				fmt.Fprintf(w, "  Kafka log       %s (tables with tarn.log.system=kafka)\n", strings.Join(sl.Conn().Brokers, ","))
			}
		}
	}
	if sched := srv.Scheduler(); sched != nil {
		o := sched.Options()
		fmt.Fprintf(w, "  Compaction      %d workers, %s of input at once (GET/POST %s/api/v1/databases/DB/tables/T/compaction)\n",
			o.Workers, server.ByteSize(o.Memory), url)
	} else {
		fmt.Fprintf(w, "  Compaction      off\n")
	}
	if cfg.Maintenance.Disabled {
		fmt.Fprintf(w, "  Maintenance     off\n")
	} else {
		fmt.Fprintf(w, "  Maintenance     after commits and every %s (snapshot expiry, automatic tags)\n", time.Duration(cfg.Maintenance.Interval))
	}
	fmt.Fprintf(w, "  Authentication  %s\n\n", auth)
	fmt.Fprintf(w, "Try:\n")
	fmt.Fprintf(w, "  curl -s%s %s/api/v1/databases\n", authHeader, url)
	fmt.Fprintf(w, "  curl -s%s -X POST %s/api/v1/databases/db/tables -d '{\"name\":\"t\",\"columns\":\"id BIGINT NOT NULL, name STRING\",\"primaryKeys\":[\"id\"],\"options\":{\"bucket\":\"1\"}}'\n", authHeader, url)
	fmt.Fprintf(w, "  printf '{\"id\":1,\"name\":\"a\"}\\n' | curl -s%s --data-binary @- %s/api/v1/databases/db/tables/t/rows\n\n", authHeader, url)
	fmt.Fprintf(w, "StarRocks (Paimon REST catalog):\n")
	fmt.Fprintf(w, "  CREATE EXTERNAL CATALOG tarn PROPERTIES (\n")
	fmt.Fprintf(w, "    \"type\" = \"paimon\",\n")
	fmt.Fprintf(w, "    \"paimon.catalog.type\" = \"rest\",\n")
	fmt.Fprintf(w, "    \"paimon.catalog.warehouse\" = %q,\n", cfg.CatalogName)
	fmt.Fprintf(w, "    \"paimon.option.uri\" = %q,\n", url)
	fmt.Fprintf(w, "    \"paimon.option.token.provider\" = \"bear\",\n")
	fmt.Fprintf(w, "    \"paimon.option.token\" = %q\n", token)
	fmt.Fprintf(w, "  );\n")
	if !cfg.IsLocal() {
		fmt.Fprintf(w, "  (add \"aws.s3.endpoint\", \"aws.s3.access_key\", \"aws.s3.secret_key\" and \"aws.s3.enable_path_style_access\" so StarRocks can read the data files)\n")
	}
	fmt.Fprintln(w)
}

// connectURL replaces an unspecified listen host (0.0.0.0, ::) with this machine's name.
func connectURL(u string) string {
	scheme, hostport, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return u
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		} else {
			host = "127.0.0.1"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
