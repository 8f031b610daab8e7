package server

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	yamlFile := write("tarn.yaml", `
warehouse: s3://bucket/wh
catalog_name: lake
token: from-file
http:
  addr: 0.0.0.0:9090
  max_write_bytes: 1024
flight:
  addr: off
s3:
  endpoint: http://127.0.0.1:9000
  access_key: k
kafka:
  bootstrap: embedded
client_options:
  s3.endpoint: http://minio:9000
shutdown_timeout: 1m
`)
	jsonFile := write("tarn.json", `{"warehouse": "/data/wh", "http": {"addr": "127.0.0.1:1"}, "shutdown_timeout": "5s"}`)
	emptyFile := write("empty.yaml", "")
	unknownKey := write("unknown.yaml", "warehous: /x\n")
	halfTLS := write("tls.yaml", "tls_cert: /c.pem\n")
	badDuration := write("dur.yaml", "shutdown_timeout: soon\n")

	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			if c.Warehouse != DefaultWarehouse || c.HTTP.Addr != DefaultHTTPAddr || c.Flight.Addr != DefaultFlightAddr ||
				c.Token != "" || c.CatalogName != "tarn" || time.Duration(c.ShutdownTimeout) != DefaultShutdownTimeout || c.Flight.Disabled {
				t.Errorf("%+v", c)
			}
		}},
		{name: "yaml file", args: []string{"--config", yamlFile}, check: func(t *testing.T, c Config) {
			if c.Warehouse != "s3://bucket/wh" || c.CatalogName != "lake" || c.Token != "from-file" || c.HTTP.Addr != "0.0.0.0:9090" ||
				c.HTTP.MaxWriteBytes != 1024 || !c.Flight.Disabled || c.S3.Endpoint != "http://127.0.0.1:9000" || c.S3.AccessKey != "k" ||
				c.Kafka.Bootstrap != "embedded" || c.ClientOptions["s3.endpoint"] != "http://minio:9000" ||
				time.Duration(c.ShutdownTimeout) != time.Minute || c.IsLocal() {
				t.Errorf("%+v", c)
			}
		}},
		{name: "json file from the environment", env: map[string]string{"TARN_CONFIG": jsonFile}, check: func(t *testing.T, c Config) {
			if c.Warehouse != "/data/wh" || c.HTTP.Addr != "127.0.0.1:1" || time.Duration(c.ShutdownTimeout) != 5*time.Second || !c.IsLocal() {
				t.Errorf("%+v", c)
			}
		}},
		{name: "empty file", args: []string{"--config", emptyFile}, check: func(t *testing.T, c Config) {
			if c.Warehouse != DefaultWarehouse {
				t.Errorf("%+v", c)
			}
		}},
		{name: "environment over file", args: []string{"--config", yamlFile},
			env: map[string]string{"TARN_TOKEN": "from-env", "TARN_HTTP_ADDR": "127.0.0.1:7", "TARN_SHUTDOWN_TIMEOUT": "3s", "TARN_FLIGHT_ADDR": "127.0.0.1:8"},
			check: func(t *testing.T, c Config) {
				if c.Token != "from-env" || c.HTTP.Addr != "127.0.0.1:7" || time.Duration(c.ShutdownTimeout) != 3*time.Second ||
					c.Warehouse != "s3://bucket/wh" || c.Flight.Disabled {
					t.Errorf("%+v", c)
				}
			}},
		{name: "flags over environment", args: []string{"--config", yamlFile, "--token", "from-flag", "--warehouse", "./wh", "--flight", "off", "--shutdown-timeout", "2s"},
			env: map[string]string{"TARN_TOKEN": "from-env", "TARN_WAREHOUSE": "/env"},
			check: func(t *testing.T, c Config) {
				if c.Token != "from-flag" || c.Warehouse != "./wh" || !c.Flight.Disabled || time.Duration(c.ShutdownTimeout) != 2*time.Second ||
					c.HTTP.Addr != "0.0.0.0:9090" {
					t.Errorf("%+v", c)
				}
			}},
		{name: "flags left at their defaults do not override", args: []string{"--config", jsonFile}, check: func(t *testing.T, c Config) {
			if c.HTTP.Addr != "127.0.0.1:1" {
				t.Errorf("%+v", c)
			}
		}},
		{name: "tls flags", args: []string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, check: func(t *testing.T, c Config) {
			if cert, key := c.httpTLS(); cert != "c.pem" || key != "k.pem" {
				t.Errorf("http TLS %s %s", cert, key)
			}
			if cert, _ := c.flightTLS(); cert != "c.pem" {
				t.Errorf("flight TLS %s", cert)
			}
		}},
		{name: "missing file", args: []string{"--config", filepath.Join(dir, "nope.yaml")}, wantErr: "no such file"},
		{name: "unknown key", args: []string{"--config", unknownKey}, wantErr: "warehous"},
		{name: "half TLS", args: []string{"--config", halfTLS}, wantErr: "both a certificate and a key"},
		{name: "bad duration", args: []string{"--config", badDuration}, wantErr: "duration"},
		{name: "bad duration in the environment", env: map[string]string{"TARN_SHUTDOWN_TIMEOUT": "x"}, wantErr: "TARN_SHUTDOWN_TIMEOUT"},
		{name: "empty warehouse", args: []string{"--warehouse", ""}, wantErr: "no warehouse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f := AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			c, err := Load(f, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}
