package logsystem

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is an in-process Kafka-protocol broker (franz-go's kfake): the log system's
// default when no cluster is configured. It speaks the Kafka wire protocol, transactions
// included, so any Kafka client (kcat, librdkafka, the Java client) can read its topics.
type Embedded struct {
	cluster *kfake.Cluster
	addr    string
}

// EmbeddedOptions configure StartEmbeddedWith.
type EmbeddedOptions struct {
	// Addr is the listen address, "127.0.0.1:9092"; port 0 picks a free one. Default
	// 127.0.0.1:0.
	Addr string
	// DataDir, when set, persists the broker's topics there across restarts; without it
	// the log lives in memory only (readers then fall back to the table's files for
	// snapshots whose log is gone).
	DataDir string
}

// StartEmbedded starts an embedded broker listening on addr ("127.0.0.1:9092"; port 0
// picks a free port), keeping its log in memory.
func StartEmbedded(ctx context.Context, addr string) (*Embedded, error) {
	return StartEmbeddedWith(ctx, EmbeddedOptions{Addr: addr})
}

// StartEmbeddedWith starts an embedded broker.
func StartEmbeddedWith(ctx context.Context, o EmbeddedOptions) (*Embedded, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("logsystem: embedded broker address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("logsystem: embedded broker address %q: bad port", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1), kfake.Ports(port), kfake.ClusterID("tarn-embedded"),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		}),
	}
	if o.DataDir != "" {
		opts = append(opts, kfake.DataDir(o.DataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("logsystem: embedded broker: %w", err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) == 0 {
		c.Close()
		return nil, fmt.Errorf("logsystem: embedded broker listens nowhere")
	}
	return &Embedded{cluster: c, addr: addrs[0]}, nil
}

// Addr is the broker's address, "127.0.0.1:PORT".
func (e *Embedded) Addr() string { return e.addr }

// Config is the cluster configuration that reaches the broker.
func (e *Embedded) Config() Config { return Config{Brokers: []string{e.addr}} }

// Close stops the broker.
func (e *Embedded) Close() { e.cluster.Close() }
