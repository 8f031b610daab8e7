package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/tarnlake/tarn/fileio"
)

// S3Server is a running S3-compatible server (MinIO, versitygw) with one
// bucket, on 127.0.0.1.
type S3Server struct {
	Kind      string // "minio", "versitygw"
	Endpoint  string // "127.0.0.1:PORT"
	URL       string // "http://127.0.0.1:PORT"
	AccessKey string
	SecretKey string
	Bucket    string
	Dir       string // the server's data and logs; removed by cleanup
	// CAFile is the PEM certificate a TLS server presents (self-signed for
	// 127.0.0.1); "" without TLS.
	CAFile string
	// Options reach the server through fileio.NewS3 (path style; with
	// TLS, trusting CAFile).
	Options fileio.Options

	spec  s3Spec
	ports []int
	proc  *Process
}

// MinIOServer is the S3Server of a MinIO process.
type MinIOServer = S3Server

// s3Spec is what differs between S3 servers.
type s3Spec struct {
	kind    string
	tls     bool // serve HTTPS with a certificate written to dir/certs
	install func(ctx context.Context) (bin string, err error)
	nPorts  int
	// command returns how to run the server on ports with dir and keys.
	command func(bin, dir string, ports []int, access, secret string) Command
	// ready checks that the server answers (before the bucket exists).
	ready func(s *S3Server) func(ctx context.Context) error
}

// startS3 installs and starts a server of spec with a fresh bucket. If the
// chosen ports are taken meanwhile it retries with new ones.
func startS3(ctx context.Context, spec s3Spec) (*S3Server, func(), error) {
	bin, err := spec.install(ctx)
	if err != nil {
		return nil, nil, err
	}
	dir, err := TempDir("tarn-" + spec.kind + "-")
	if err != nil {
		return nil, nil, err
	}
	if err := os.Mkdir(dir+"/data", 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("testenv: %w", err)
	}
	s := &S3Server{
		Kind:      spec.kind,
		AccessKey: "tarn" + randomHex(8),
		SecretKey: randomHex(16),
		Bucket:    "tarn-test",
		Dir:       dir,
		spec:      spec,
	}
	scheme := "http://"
	if spec.tls {
		scheme = "https://"
		s.CAFile = filepath.Join(dir, "certs", "public.crt")
		if err := writeSelfSignedCert(s.CAFile, filepath.Join(dir, "certs", "private.key")); err != nil {
			os.RemoveAll(dir)
			return nil, nil, err
		}
	}
	for attempt := 1; ; attempt++ {
		ports, err := FreePorts(spec.nPorts)
		if err != nil {
			os.RemoveAll(dir)
			return nil, nil, err
		}
		s.ports = ports
		s.Endpoint = "127.0.0.1:" + strconv.Itoa(s.ports[0])
		s.URL = scheme + s.Endpoint
		s.Options = fileio.Options{
			Endpoint:  s.URL,
			AccessKey: s.AccessKey,
			SecretKey: s.SecretKey,
			Region:    "us-east-1",
			CAFile:    s.CAFile,
		}
		err = s.start(ctx, bin)
		if err == nil {
			break
		}
		if attempt == 3 || ctx.Err() != nil {
			os.RemoveAll(dir)
			return nil, nil, err
		}
	}
	if err := s.makeBucket(ctx); err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, s.Close, nil
}

func (s *S3Server) start(ctx context.Context, bin string) error {
	c := s.spec.command(bin, s.Dir, s.ports, s.AccessKey, s.SecretKey)
	c.LogPath = s.Dir + "/server.log"
	p, err := Start(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := WaitFor(ctx, s.spec.ready(s), p); err != nil {
		p.Kill()
		return fmt.Errorf("testenv: %s did not get ready: %w", s.Kind, err)
	}
	s.proc = p
	return nil
}

func (s *S3Server) client() (*minio.Client, error) {
	return minio.New(s.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Secure:       s.CAFile != "",
		Transport:    s.httpClient().Transport,
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
	})
}

// httpClient returns a client that trusts the server's certificate.
func (s *S3Server) httpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.CAFile != "" {
		pool := x509.NewCertPool()
		if pem, err := os.ReadFile(s.CAFile); err == nil {
			pool.AppendCertsFromPEM(pem)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr}
}

// writeSelfSignedCert writes a self-signed certificate for 127.0.0.1 and
// localhost, and its key, as PEM files.
func writeSelfSignedCert(certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "tarn test server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o755); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	return nil
}

func (s *S3Server) makeBucket(ctx context.Context) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err = WaitFor(ctx, func(ctx context.Context) error {
		err := c.MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{Region: "us-east-1"})
		if r := minio.ToErrorResponse(err); r.Code == "BucketAlreadyOwnedByYou" || r.Code == "BucketAlreadyExists" {
			return nil
		}
		return err
	}, s.proc)
	if err != nil {
		return fmt.Errorf("testenv: %s: create bucket: %w", s.Kind, err)
	}
	return nil
}

// URI returns "s3://bucket/elem/...".
func (s *S3Server) URI(elem ...string) string {
	return fileio.Join("s3://"+s.Bucket, elem...)
}

// FileIO returns an S3 FileIO for the server.
func (s *S3Server) FileIO(ctx context.Context) (*fileio.S3, error) {
	return fileio.NewS3(ctx, s.Options)
}

// Kill kills the server with SIGKILL, as a crash would; Restart brings it
// back with its data.
func (s *S3Server) Kill() {
	if s.proc != nil {
		s.proc.Kill()
	}
}

// Restart stops the server (if running) and starts it again on the same
// port with the same data and keys.
func (s *S3Server) Restart(ctx context.Context) error {
	if s.proc != nil {
		s.proc.Stop(10 * time.Second)
	}
	bin, err := s.spec.install(ctx)
	if err != nil {
		return err
	}
	return s.start(ctx, bin)
}

// Close stops the server and removes its data.
func (s *S3Server) Close() {
	if s.proc != nil {
		s.proc.Stop(10 * time.Second)
	}
	os.RemoveAll(s.Dir)
}

// LogTail returns the end of the server's log, for failure messages.
func (s *S3Server) LogTail() string {
	if s.proc == nil {
		return ""
	}
	return s.proc.LogTail(8192)
}

// startForTest starts a server for one test, stopped by t.Cleanup. Under
// -short it skips the test instead of building a peer that is not installed.
func startForTest(t testing.TB, spec s3Spec, installed func() bool) *S3Server {
	t.Helper()
	if testing.Short() && !installed() {
		t.Skipf("-short: %s is not installed (go run ./internal/testenv/install)", spec.kind)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	s, stop, err := startS3(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(s.LogTail())
		}
		stop()
	})
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// binFromEnv returns the binary named by env, if set.
func binFromEnv(env string) (string, bool, error) {
	p := os.Getenv(env)
	if p == "" {
		return "", false, nil
	}
	if _, err := os.Stat(p); err != nil {
		return "", true, fmt.Errorf("testenv: %s: %w", env, err)
	}
	return p, true, nil
}
