package server

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tarnlake/tarn/fileio"
)

// Defaults of Config.
const (
	DefaultWarehouse       = "./tarn-warehouse"
	DefaultHTTPAddr        = "127.0.0.1:8080"
	DefaultFlightAddr      = "127.0.0.1:8815"
	DefaultCatalogName     = "tarn"
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultKafka is the log system's cluster: an embedded broker.
	DefaultKafka = "embedded"
)

// Config is the whole configuration of `tarn serve`. It is loaded from defaults, then an
// optional YAML or JSON file, then TARN_* environment variables, then flags; each source
// overrides the ones before.
type Config struct {
	// Warehouse is the warehouse location: a directory (created if missing) or
	// s3://bucket/prefix.
	Warehouse string `yaml:"warehouse"`
	// CatalogName names the warehouse for REST-catalog clients (their "warehouse" option)
	// and prefixes the REST-catalog routes.
	CatalogName string `yaml:"catalog_name"`
	// Token, when set, is required as "Authorization: Bearer <token>" on every route but
	// /healthz and /readyz. Empty turns authentication off.
	Token string `yaml:"token"`
	// TLSCert and TLSKey (PEM files) serve HTTP and Flight over TLS unless a service sets
	// its own.
	TLSCert string       `yaml:"tls_cert"`
	TLSKey  string       `yaml:"tls_key"`
	HTTP    HTTPConfig   `yaml:"http"`
	Flight  FlightConfig `yaml:"flight"`
	S3      S3Config     `yaml:"s3"`
	Kafka   KafkaConfig  `yaml:"kafka"`
	// Compaction and Maintenance configure the background work (background.go).
	Compaction  CompactionConfig  `yaml:"compaction"`
	Maintenance MaintenanceConfig `yaml:"maintenance"`
	// ClientOptions are handed to REST-catalog clients as defaults (e.g. s3.endpoint).
	ClientOptions map[string]string `yaml:"client_options"`
	// ShutdownTimeout bounds how long a shutdown waits for requests and commits.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
}

// HTTPConfig configures the HTTP API.
type HTTPConfig struct {
	Addr    string `yaml:"addr"`
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// MaxRequestBytes limits JSON request bodies, MaxWriteBytes row uploads.
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	MaxWriteBytes   int64 `yaml:"max_write_bytes"`
}

// FlightConfig configures the Arrow Flight service.
type FlightConfig struct {
	// Addr is the listen address; "off" (or Disabled) turns the service off.
	Addr     string `yaml:"addr"`
	Disabled bool   `yaml:"disabled"`
	TLSCert  string `yaml:"tls_cert"`
	TLSKey   string `yaml:"tls_key"`
}

// S3Config configures S3 and S3-compatible storage (see fileio.Options; empty fields fall
// back to TARN_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION).
type S3Config struct {
	Endpoint           string `yaml:"endpoint"`
	AccessKey          string `yaml:"access_key"`
	SecretKey          string `yaml:"secret_key"`
	Region             string `yaml:"region"`
	CAFile             string `yaml:"ca_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	VirtualHostStyle   bool   `yaml:"virtual_host_style"`
}

// KafkaConfig configures the log system: Bootstrap is "embedded" (an in-process
// Kafka-protocol broker, the default), a comma-separated list of brokers, or "off".
type KafkaConfig struct {
	Bootstrap string `yaml:"bootstrap"`
	// EmbeddedAddr is where the embedded broker listens (default 127.0.0.1:9092, or a free
	// port when 9092 is taken); EmbeddedDataDir keeps its log across restarts (default:
	// in memory; tails then read older snapshots from the table's files).
	EmbeddedAddr    string `yaml:"embedded_addr"`
	EmbeddedDataDir string `yaml:"embedded_data_dir"`
	// SASL ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512") and TLS for an external cluster.
	SASLMechanism      string `yaml:"sasl_mechanism"`
	SASLUser           string `yaml:"sasl_user"`
	SASLPassword       string `yaml:"sasl_password"`
	TLS                bool   `yaml:"tls"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	// CDC lists the CDC topics the server ingests continuously.
	CDC []CDCConfig `yaml:"cdc"`
}

// CDCConfig is one CDC topic ingested into a primary-key table (see `tarn ingest kafka`).
type CDCConfig struct {
	Topic string `yaml:"topic"`
	// Format is debezium-json, canal-json or maxwell-json.
	Format string `yaml:"format"`
	// Table is "db.table"; Create creates it from the first message (with Options).
	Table   string            `yaml:"table"`
	Create  bool              `yaml:"create"`
	Options map[string]string `yaml:"options"`
	// Bootstrap is the cluster of the topic (default: the log system's).
	Bootstrap string `yaml:"bootstrap"`
	// DeadLetterTopic receives messages that cannot be ingested (default: counted and
	// logged); StopOnError stops this topic's ingestion at the first one.
	DeadLetterTopic string   `yaml:"dead_letter_topic"`
	StopOnError     bool     `yaml:"stop_on_error"`
	CommitInterval  Duration `yaml:"commit_interval"`
	// AddColumns evolves the table's schema with the source's (default true): new columns
	// found in messages are added, nullable, and columns whose source type widened are widened.
	AddColumns *bool `yaml:"add_columns"`
}

// Enabled reports whether the log system is on.
func (k KafkaConfig) Enabled() bool { return k.Bootstrap != "" }

// Duration is a time.Duration written as "30s" in configuration files.
type Duration time.Duration

// UnmarshalYAML reads "30s" (or a number of seconds).
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want e.g. 30s or 2m", s)
	}
	return v, nil
}

// Default returns the configuration of a fresh machine.
func Default() Config {
	return Config{
		Warehouse:       DefaultWarehouse,
		CatalogName:     DefaultCatalogName,
		HTTP:            HTTPConfig{Addr: DefaultHTTPAddr},
		Flight:          FlightConfig{Addr: DefaultFlightAddr},
		ShutdownTimeout: Duration(DefaultShutdownTimeout),
		Compaction:      CompactionConfig{Memory: DefaultCompactionMemory},
		Maintenance:     MaintenanceConfig{Interval: Duration(DefaultMaintenanceInterval)},
		Kafka:           KafkaConfig{Bootstrap: DefaultKafka},
	}
}

// LoadFile reads a YAML or JSON configuration file over c. Unknown keys are errors.
func (c *Config) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// envVars lists the environment variables a Config reads, with where they go.
var envVars = []struct {
	name string
	set  func(c *Config, v string) error
}{
	{"TARN_WAREHOUSE", func(c *Config, v string) error { c.Warehouse = v; return nil }},
	{"TARN_CATALOG_NAME", func(c *Config, v string) error { c.CatalogName = v; return nil }},
	{"TARN_TOKEN", func(c *Config, v string) error { c.Token = v; return nil }},
	{"TARN_TLS_CERT", func(c *Config, v string) error { c.TLSCert = v; return nil }},
	{"TARN_TLS_KEY", func(c *Config, v string) error { c.TLSKey = v; return nil }},
	{"TARN_HTTP_ADDR", func(c *Config, v string) error { c.HTTP.Addr = v; return nil }},
	{"TARN_FLIGHT_ADDR", func(c *Config, v string) error { c.Flight.Addr = v; return nil }},
	{"TARN_S3_ENDPOINT", func(c *Config, v string) error { c.S3.Endpoint = v; return nil }},
	{"TARN_S3_ACCESS_KEY", func(c *Config, v string) error { c.S3.AccessKey = v; return nil }},
	{"TARN_S3_SECRET_KEY", func(c *Config, v string) error { c.S3.SecretKey = v; return nil }},
	{"TARN_S3_REGION", func(c *Config, v string) error { c.S3.Region = v; return nil }},
	{"TARN_S3_CA_FILE", func(c *Config, v string) error { c.S3.CAFile = v; return nil }},
	{"TARN_KAFKA_BOOTSTRAP", func(c *Config, v string) error { c.Kafka.Bootstrap = v; return nil }},
	{"TARN_KAFKA_SASL_MECHANISM", func(c *Config, v string) error { c.Kafka.SASLMechanism = v; return nil }},
	{"TARN_KAFKA_SASL_USER", func(c *Config, v string) error { c.Kafka.SASLUser = v; return nil }},
	{"TARN_KAFKA_SASL_PASSWORD", func(c *Config, v string) error { c.Kafka.SASLPassword = v; return nil }},
	{"TARN_COMPACTION_WORKERS", backgroundEnv("TARN_COMPACTION_WORKERS")},
	{"TARN_COMPACTION_MEMORY", backgroundEnv("TARN_COMPACTION_MEMORY")},
	{"TARN_NO_COMPACTION", backgroundEnv("TARN_NO_COMPACTION")},
	{"TARN_MAINTENANCE_INTERVAL", backgroundEnv("TARN_MAINTENANCE_INTERVAL")},
	{"TARN_SHUTDOWN_TIMEOUT", func(c *Config, v string) error {
		d, err := parseDuration(v)
		c.ShutdownTimeout = Duration(d)
		return err
	}},
}

// LoadEnv applies the TARN_* environment variables that are set (non-empty).
func (c *Config) LoadEnv(getenv func(string) string) error {
	for _, e := range envVars {
		if v := getenv(e.name); v != "" {
			if err := e.set(c, v); err != nil {
				return fmt.Errorf("%s: %w", e.name, err)
			}
		}
	}
	return nil
}

// Flags are the command-line flags of the configuration. Only flags given on the command
// line override the file and the environment.
type Flags struct {
	fs         *flag.FlagSet
	configFile string
	c          Config
	timeout    string
	bg         backgroundFlags
}

// AddFlags defines the configuration's flags on fs.
func AddFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	fs.StringVar(&f.configFile, "config", "", "YAML or JSON configuration file (default $TARN_CONFIG)")
	fs.StringVar(&f.c.Warehouse, "warehouse", DefaultWarehouse, "warehouse location: a directory (created if missing) or s3://bucket/prefix ($TARN_WAREHOUSE)")
	fs.StringVar(&f.c.CatalogName, "catalog-name", DefaultCatalogName, "the warehouse's name for REST-catalog clients ($TARN_CATALOG_NAME)")
	fs.StringVar(&f.c.HTTP.Addr, "http", DefaultHTTPAddr, "HTTP listen address ($TARN_HTTP_ADDR)")
	fs.StringVar(&f.c.Flight.Addr, "flight", DefaultFlightAddr, "Arrow Flight listen address, or off ($TARN_FLIGHT_ADDR)")
	fs.StringVar(&f.c.Token, "token", "", "bearer token required from clients; none turns authentication off ($TARN_TOKEN)")
	fs.StringVar(&f.c.TLSCert, "tls-cert", "", "PEM certificate to serve HTTP and Flight over TLS ($TARN_TLS_CERT)")
	fs.StringVar(&f.c.TLSKey, "tls-key", "", "PEM private key of --tls-cert ($TARN_TLS_KEY)")
	fs.StringVar(&f.c.S3.Endpoint, "s3-endpoint", "", "S3 endpoint, e.g. http://127.0.0.1:9000 ($TARN_S3_ENDPOINT)")
	fs.StringVar(&f.c.S3.AccessKey, "s3-access-key", "", "S3 access key ($TARN_S3_ACCESS_KEY, $AWS_ACCESS_KEY_ID)")
	fs.StringVar(&f.c.S3.SecretKey, "s3-secret-key", "", "S3 secret key ($TARN_S3_SECRET_KEY, $AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&f.c.S3.Region, "s3-region", "", "S3 region ($TARN_S3_REGION, $AWS_REGION)")
	fs.StringVar(&f.c.S3.CAFile, "s3-ca-file", "", "PEM file of extra certificate authorities for S3 over TLS")
	fs.BoolVar(&f.c.S3.InsecureSkipVerify, "s3-insecure-skip-verify", false, "do not verify the S3 server's TLS certificate")
	fs.BoolVar(&f.c.S3.VirtualHostStyle, "s3-virtual-host", false, "virtual-host-style bucket addressing (default: path style)")
	fs.StringVar(&f.c.Kafka.Bootstrap, "kafka", DefaultKafka, "log system: Kafka bootstrap servers host:port,..., embedded (an in-process broker), or off ($TARN_KAFKA_BOOTSTRAP)")
	fs.StringVar(&f.c.Kafka.EmbeddedAddr, "kafka-embedded-addr", "", "listen address of the embedded Kafka broker (default 127.0.0.1:9092, or a free port when taken)")
	fs.StringVar(&f.c.Kafka.EmbeddedDataDir, "kafka-embedded-data-dir", "", "keep the embedded broker's log in this directory across restarts (default: in memory)")
	fs.StringVar(&f.timeout, "shutdown-timeout", DefaultShutdownTimeout.String(), "how long a shutdown waits for requests and commits ($TARN_SHUTDOWN_TIMEOUT)")
	f.addBackgroundFlags(fs)
	return f
}

// apply copies the flags given on the command line into c.
func (f *Flags) apply(c *Config) error {
	var err error
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "warehouse":
			c.Warehouse = f.c.Warehouse
		case "catalog-name":
			c.CatalogName = f.c.CatalogName
		case "http":
			c.HTTP.Addr = f.c.HTTP.Addr
		case "flight":
			c.Flight.Addr = f.c.Flight.Addr
		case "token":
			c.Token = f.c.Token
		case "tls-cert":
			c.TLSCert = f.c.TLSCert
		case "tls-key":
			c.TLSKey = f.c.TLSKey
		case "s3-endpoint":
			c.S3.Endpoint = f.c.S3.Endpoint
		case "s3-access-key":
			c.S3.AccessKey = f.c.S3.AccessKey
		case "s3-secret-key":
			c.S3.SecretKey = f.c.S3.SecretKey
		case "s3-region":
			c.S3.Region = f.c.S3.Region
		case "s3-ca-file":
			c.S3.CAFile = f.c.S3.CAFile
		case "s3-insecure-skip-verify":
			c.S3.InsecureSkipVerify = f.c.S3.InsecureSkipVerify
		case "s3-virtual-host":
			c.S3.VirtualHostStyle = f.c.S3.VirtualHostStyle
		case "kafka":
			c.Kafka.Bootstrap = f.c.Kafka.Bootstrap
		case "kafka-embedded-addr":
			c.Kafka.EmbeddedAddr = f.c.Kafka.EmbeddedAddr
		case "kafka-embedded-data-dir":
			c.Kafka.EmbeddedDataDir = f.c.Kafka.EmbeddedDataDir
		case "shutdown-timeout":
			d, perr := parseDuration(f.timeout)
			if perr != nil {
				err = fmt.Errorf("--shutdown-timeout: %w", perr)
			}
			c.ShutdownTimeout = Duration(d)
		default:
			if berr := f.applyBackground(fl.Name, c); berr != nil {
				err = berr
			}
		}
	})
	return err
}

// Load builds the configuration: defaults, the file (--config or $TARN_CONFIG), the
// environment, then the flags given; and validates it.
func Load(f *Flags, getenv func(string) string) (Config, error) {
	c := Default()
	file := getenv("TARN_CONFIG")
	if f != nil && f.configFile != "" {
		file = f.configFile
	}
	if file != "" {
		if err := c.LoadFile(file); err != nil {
			return c, err
		}
	}
	if err := c.LoadEnv(getenv); err != nil {
		return c, err
	}
	if f != nil {
		if err := f.apply(&c); err != nil {
			return c, err
		}
	}
	return c, c.Validate()
}

// Validate checks the configuration and fills in derived values.
func (c *Config) Validate() error {
	if strings.TrimSpace(c.Warehouse) == "" {
		return errors.New("no warehouse: set --warehouse, $TARN_WAREHOUSE or warehouse in the config file")
	}
	if c.CatalogName == "" {
		c.CatalogName = DefaultCatalogName
	}
	if c.HTTP.Addr == "" {
		return errors.New("no HTTP address: set --http")
	}
	if strings.EqualFold(c.Flight.Addr, "off") || c.Flight.Addr == "" {
		c.Flight.Disabled = true
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("TLS needs both a certificate and a key (--tls-cert and --tls-key)")
	}
	for _, p := range [][2]string{{c.HTTP.TLSCert, c.HTTP.TLSKey}, {c.Flight.TLSCert, c.Flight.TLSKey}} {
		if (p[0] == "") != (p[1] == "") {
			return errors.New("TLS needs both a certificate and a key (tls_cert and tls_key)")
		}
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = Duration(DefaultShutdownTimeout)
	}
	if err := c.validateKafka(); err != nil {
		return err
	}
	return c.validateBackground()
}

// IsLocal reports whether the warehouse is on the local file system.
func (c *Config) IsLocal() bool {
	w := c.Warehouse
	i := strings.Index(w, ":")
	return i < 2 || strings.HasPrefix(strings.ToLower(w), "file:")
}

// absWarehouse makes a local warehouse path absolute and creates it.
func (c *Config) absWarehouse() (string, error) {
	if !c.IsLocal() {
		return strings.TrimRight(c.Warehouse, "/"), nil
	}
	p := c.Warehouse
	if strings.HasPrefix(strings.ToLower(p), "file:") {
		p = strings.TrimPrefix(p[len("file:"):], "//")
		if !strings.HasPrefix(p, "/") {
			return "", fmt.Errorf("warehouse %q: a file: URI needs an absolute path", c.Warehouse)
		}
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("warehouse %q: %w", c.Warehouse, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("warehouse: %w", err)
	}
	return abs, nil
}

// fileIOOptions are the storage options of the configuration.
func (c *Config) fileIOOptions() fileio.Options {
	return fileio.Options{
		Endpoint: c.S3.Endpoint, AccessKey: c.S3.AccessKey, SecretKey: c.S3.SecretKey, Region: c.S3.Region,
		CAFile: c.S3.CAFile, InsecureSkipVerify: c.S3.InsecureSkipVerify, VirtualHostStyle: c.S3.VirtualHostStyle,
	}
}

// httpTLS and flightTLS are each service's certificate and key ("" when plain).
func (c *Config) httpTLS() (string, string) {
	if c.HTTP.TLSCert != "" {
		return c.HTTP.TLSCert, c.HTTP.TLSKey
	}
	return c.TLSCert, c.TLSKey
}

func (c *Config) flightTLS() (string, string) {
	if c.Flight.TLSCert != "" {
		return c.Flight.TLSCert, c.Flight.TLSKey
	}
	return c.TLSCert, c.TLSKey
}

// validateKafka normalizes the log system's settings: "off" and "none" turn it off.
func (c *Config) validateKafka() error {
	k := &c.Kafka
	k.Bootstrap = strings.TrimSpace(k.Bootstrap)
	switch strings.ToLower(k.Bootstrap) {
	case "off", "none", "false":
		k.Bootstrap = ""
	case "embedded":
		k.Bootstrap = "embedded"
	}
	if len(k.CDC) > 0 && k.Bootstrap == "" {
		for _, p := range k.CDC {
			if p.Bootstrap == "" {
				return fmt.Errorf("kafka.cdc topic %q: no cluster: set its bootstrap, or turn the log system on (--kafka)", p.Topic)
			}
		}
	}
	for i, p := range k.CDC {
		if p.Topic == "" || p.Table == "" {
			return fmt.Errorf("kafka.cdc[%d]: topic and table are required", i)
		}
		db, t, ok := strings.Cut(p.Table, ".")
		if !ok || db == "" || t == "" {
			return fmt.Errorf("kafka.cdc topic %q: table %q: want db.table", p.Topic, p.Table)
		}
		switch p.Format {
		case "debezium-json", "canal-json", "maxwell-json":
		default:
			return fmt.Errorf("kafka.cdc topic %q: format %q: want debezium-json, canal-json or maxwell-json", p.Topic, p.Format)
		}
	}
	return nil
}
