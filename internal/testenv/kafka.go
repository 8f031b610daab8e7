package testenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaVersion is the Apache Kafka broker (org.apache.kafka:kafka_2.13 on Maven Central)
// that tests run.
const KafkaVersion = "4.4.0"

// kafkaPOM resolves the broker's runtime classpath with Maven.
const kafkaPOM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.tarnlake.testenv</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>%s</version>
    </dependency>
  </dependencies>
</project>
`

// InstallKafka returns a directory of the jars that run the Apache Kafka broker:
// $TARN_KAFKA_LIBS if set, else CacheDir()/kafka-<version>/libs, resolved from Maven
// Central with `mvn dependency:copy-dependencies` the first time (a minute or two), once
// across processes.
func InstallKafka(ctx context.Context) (string, error) {
	if dir := os.Getenv("TARN_KAFKA_LIBS"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "kafka_2.13-"+KafkaVersion+".jar")); err != nil {
			return "", fmt.Errorf("testenv: TARN_KAFKA_LIBS: %w", err)
		}
		return dir, nil
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	home := filepath.Join(cache, "kafka-"+KafkaVersion)
	libs := filepath.Join(home, "libs")
	if _, err := os.Stat(filepath.Join(libs, "kafka_2.13-"+KafkaVersion+".jar")); err != nil {
		os.Remove(filepath.Join(home, ".kafka.version")) // stamp of deleted jars
	}
	err = Once(ctx, filepath.Join(home, ".kafka"), KafkaVersion, func(ctx context.Context) error {
		return mavenCopyDependencies(ctx, home, libs)
	})
	if err != nil {
		return "", err
	}
	return libs, nil
}

// KafkaInstalled reports whether InstallKafka would find the jars without Maven.
func KafkaInstalled() bool {
	if os.Getenv("TARN_KAFKA_LIBS") != "" {
		return true
	}
	cache, err := CacheDir()
	return err == nil && stampMatches(filepath.Join(cache, "kafka-"+KafkaVersion, ".kafka"), KafkaVersion)
}

func mavenCopyDependencies(ctx context.Context, home, libs string) error {
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return fmt.Errorf("testenv: the Kafka broker needs Maven (mvn) to fetch its jars: %w", err)
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	if err := os.WriteFile(filepath.Join(home, "pom.xml"), fmt.Appendf(nil, kafkaPOM, KafkaVersion), 0o644); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	tmp := libs + ".tmp"
	os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, mvn, "-q", "-B", "dependency:copy-dependencies",
		"-DincludeScope=runtime", "-DoutputDirectory="+tmp)
	cmd.Dir = home
	cmd.SysProcAttr = sysProcAttr()
	start := time.Now()
	slog.Info("testenv: fetching the Apache Kafka broker from Maven Central (the first time takes a minute or two)", "version", KafkaVersion, "dir", home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("testenv: mvn dependency:copy-dependencies for kafka_2.13 %s: %w\n%s", KafkaVersion, err, tail(out, 4096))
	}
	os.RemoveAll(libs)
	if err := os.Rename(tmp, libs); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	slog.Info("testenv: Kafka broker fetched", "took", time.Since(start).Round(time.Second))
	return nil
}

// KafkaServer is a running single-node Apache Kafka broker (KRaft: broker and controller in
// one JVM) on 127.0.0.1.
type KafkaServer struct {
	// Addr is the PLAINTEXT listener, "127.0.0.1:PORT".
	Addr string
	// SASLAddr is a SASL_PLAINTEXT listener with mechanism PLAIN accepting SASLUser and
	// SASLPassword.
	SASLAddr     string
	SASLUser     string
	SASLPassword string
	Dir          string // logs and data; removed by Close

	proc      *Process
	java      string
	jvm       []string // JVM options and classpath
	propsFile string
}

// StartKafka installs (first use) and starts a broker, for a TestMain to share across a
// package's tests. stop kills it and removes its data. Startup takes tens of seconds: the
// JVM starts slowly here.
func StartKafka(ctx context.Context) (s *KafkaServer, stop func(), err error) {
	libs, err := InstallKafka(ctx)
	if err != nil {
		return nil, nil, err
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, nil, fmt.Errorf("testenv: the Kafka broker needs java: %w", err)
	}
	dir, err := TempDir("tarn-kafka-")
	if err != nil {
		return nil, nil, err
	}
	s = &KafkaServer{Dir: dir, SASLUser: "tarn", SASLPassword: randomHex(12)}
	for attempt := 1; ; attempt++ {
		err = s.start(ctx, java, libs)
		if err == nil {
			return s, s.Close, nil
		}
		if attempt == 3 || ctx.Err() != nil {
			os.RemoveAll(dir)
			return nil, nil, err
		}
		slog.Warn("testenv: Kafka did not start, retrying on new ports", "err", err)
	}
}

func (s *KafkaServer) start(ctx context.Context, java, libs string) error {
	ports, err := FreePorts(3)
	if err != nil {
		return err
	}
	s.Addr = "127.0.0.1:" + strconv.Itoa(ports[0])
	s.SASLAddr = "127.0.0.1:" + strconv.Itoa(ports[2])
	data := filepath.Join(s.Dir, "data")
	os.RemoveAll(data)
	props := strings.Join([]string{
		"process.roles=broker,controller",
		"node.id=1",
		fmt.Sprintf("controller.quorum.voters=1@127.0.0.1:%d", ports[1]),
		fmt.Sprintf("listeners=PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d,SASL_PLAINTEXT://127.0.0.1:%d", ports[0], ports[1], ports[2]),
		fmt.Sprintf("advertised.listeners=PLAINTEXT://127.0.0.1:%d,SASL_PLAINTEXT://127.0.0.1:%d", ports[0], ports[2]),
		"controller.listener.names=CONTROLLER",
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
		"inter.broker.listener.name=PLAINTEXT",
		"sasl.enabled.mechanisms=PLAIN",
		fmt.Sprintf(`listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_%s="%s";`, s.SASLUser, s.SASLPassword),
		"log.dirs=" + data,
		"num.partitions=1",
		"auto.create.topics.enable=false",
		"offsets.topic.replication.factor=1",
		"offsets.topic.num.partitions=4",
		"transaction.state.log.replication.factor=1",
		"transaction.state.log.min.isr=1",
		"transaction.state.log.num.partitions=4",
		"transaction.abort.timed.out.transaction.cleanup.interval.ms=1000",
		"share.coordinator.state.topic.replication.factor=1",
		"share.coordinator.state.topic.min.isr=1",
		"share.coordinator.state.topic.num.partitions=1",
		"group.initial.rebalance.delay.ms=0",
		"num.network.threads=2",
		"num.io.threads=2",
		"background.threads=2",
		"log.retention.check.interval.ms=1000",
	}, "\n") + "\n"
	propsFile := filepath.Join(s.Dir, "server.properties")
	if err := os.WriteFile(propsFile, []byte(props), 0o644); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	s.java, s.propsFile = java, propsFile
	s.jvm = []string{"-Xms128m", "-Xmx768m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Djava.awt.headless=true", "-cp", filepath.Join(libs, "*")}
	format := exec.CommandContext(ctx, java, append(slices.Clip(s.jvm), "kafka.tools.StorageTool", "format",
		"-t", newClusterID(), "-c", propsFile)...)
	format.SysProcAttr = sysProcAttr()
	if out, err := format.CombinedOutput(); err != nil {
		return fmt.Errorf("testenv: kafka-storage format: %w\n%s", err, tail(out, 4096))
	}
	return s.launch(ctx)
}

// launch runs the broker on its formatted data directory and waits until it answers.
func (s *KafkaServer) launch(ctx context.Context) error {
	p, err := Start(Command{
		Name: "kafka", Path: s.java, Args: append(slices.Clip(s.jvm), "kafka.Kafka", s.propsFile),
		DropEnv: []string{"KAFKA_", "JAVA_TOOL_OPTIONS"}, Dir: s.Dir,
		LogPath: filepath.Join(s.Dir, "server.log"),
	})
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := WaitFor(wctx, kafkaReady(s.Addr), p); err != nil {
		p.Kill()
		return fmt.Errorf("testenv: kafka did not get ready: %w\n%s", err, p.LogTail(4096))
	}
	s.proc = p
	return nil
}

// kafkaReady checks that the broker answers metadata requests and lists itself.
func kafkaReady(addr string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RetryTimeout(2*time.Second))
		if err != nil {
			return err
		}
		defer cl.Close()
		if err := cl.Ping(ctx); err != nil {
			return err
		}
		return nil
	}
}

// newClusterID returns a random KRaft cluster id (16 bytes, URL-safe base64).
func newClusterID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Close kills the broker and removes its data.
func (s *KafkaServer) Close() {
	if s.proc != nil {
		s.proc.Stop(5 * time.Second)
	}
	os.RemoveAll(s.Dir)
}

// Kill kills the broker at once (to test what clients do when it is gone).
func (s *KafkaServer) Kill() {
	if s.proc != nil {
		s.proc.Kill()
	}
}

// Restart starts the broker again on the same ports and data (after Kill: a crashed broker
// recovering its logs, transactions and consumer offsets) and waits until it answers.
func (s *KafkaServer) Restart(ctx context.Context) error {
	if s.proc != nil {
		select {
		case <-s.proc.Exited():
		default:
			s.proc.Kill()
		}
	}
	return s.launch(ctx)
}

// Exited is closed when the broker process has exited.
func (s *KafkaServer) Exited() <-chan struct{} { return s.proc.Exited() }

// LogTail returns the end of the broker's log, for failure messages.
func (s *KafkaServer) LogTail(n int) string { return s.proc.LogTail(n) }

// Kafka starts a broker for the test, stopped when it ends. Under -short the test is
// skipped if the broker's jars are not fetched yet.
func Kafka(t testing.TB) *KafkaServer {
	t.Helper()
	if testing.Short() && !KafkaInstalled() {
		t.Skip("the Kafka broker is not installed (go run ./internal/testenv/install kafka); skipped under -short")
	}
	s, stop, err := StartKafka(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

// ErrKafkaSkipped is returned by StartKafkaForMain when the broker is not installed under
// -short.
var ErrKafkaSkipped = errors.New("testenv: Kafka broker not installed; skipped under -short")

// StartKafkaForMain is StartKafka for a TestMain: under -short (call it after flag.Parse)
// it returns ErrKafkaSkipped instead of fetching the broker.
func StartKafkaForMain(ctx context.Context) (*KafkaServer, func(), error) {
	if testing.Short() && !KafkaInstalled() {
		return nil, func() {}, ErrKafkaSkipped
	}
	return StartKafka(ctx)
}

// Kcat returns the path of kcat (Debian package kcat), a third-party Kafka client. It skips
// the test under -short when kcat is missing and fails it otherwise.
func Kcat(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		if testing.Short() {
			t.Skip("kcat is not installed (apt-get install kcat); skipped under -short")
		}
		t.Fatal("kcat is not installed: apt-get install -y kcat (scripts/test does)")
	}
	return p
}
