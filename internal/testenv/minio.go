package testenv

import (
	"context"
	"strconv"
	"testing"
)

// The MinIO server built for tests.
const (
	MinIOPackage = "github.com/minio/minio"
	MinIOVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"
)

// InstallMinIO returns the MinIO binary: $TARN_MINIO_BIN if set, else the
// one built into the cache, building it first if needed (minutes).
func InstallMinIO(ctx context.Context) (string, error) {
	if bin, ok, err := binFromEnv("TARN_MINIO_BIN"); ok {
		return bin, err
	}
	return GoInstall(ctx, MinIOPackage, MinIOVersion)
}

var minioSpec = s3Spec{
	kind:    "minio",
	install: InstallMinIO,
	nPorts:  2, // S3 API, console
	command: func(bin, dir string, ports []int, access, secret string) Command {
		return Command{
			Name: "minio",
			Path: bin,
			Args: []string{"server", dir + "/data",
				"--address", "127.0.0.1:" + strconv.Itoa(ports[0]),
				"--console-address", "127.0.0.1:" + strconv.Itoa(ports[1]),
				"--certs-dir", dir + "/certs",
			},
			Env: []string{
				"MINIO_ROOT_USER=" + access,
				"MINIO_ROOT_PASSWORD=" + secret,
				"MINIO_BROWSER=off",
				"MINIO_UPDATE=off",
			},
			DropEnv: []string{"MINIO_"},
			Dir:     dir,
		}
	},
	// Live is not enough: until its object layer is up, MinIO answers S3 requests with
	// 503 "Server not initialized yet". Ready means a real S3 request succeeds.
	ready: func(s *S3Server) func(ctx context.Context) error {
		live := HTTPOK(s.httpClient(), s.URL+"/minio/health/live")
		return func(ctx context.Context) error {
			if err := live(ctx); err != nil {
				return err
			}
			c, err := s.client()
			if err != nil {
				return err
			}
			_, err = c.ListBuckets(ctx)
			return err
		}
	},
}

// StartMinIO starts a MinIO server with an empty bucket, for a TestMain to
// share across a package's tests. stop stops it and removes its data.
func StartMinIO(ctx context.Context) (s *MinIOServer, stop func(), err error) {
	return startS3(ctx, minioSpec)
}

// MinIO starts a MinIO server for the test, stopped when it ends. Under
// -short the test is skipped if MinIO is not installed yet.
func MinIO(t testing.TB) *MinIOServer {
	t.Helper()
	return startForTest(t, minioSpec, minioInstalled)
}

// MinIOTLS is MinIO serving HTTPS with a self-signed certificate (CAFile),
// which its Options trust.
func MinIOTLS(t testing.TB) *MinIOServer {
	t.Helper()
	spec := minioSpec
	spec.tls = true
	return startForTest(t, spec, minioInstalled)
}

func minioInstalled() bool {
	_, ok, _ := binFromEnv("TARN_MINIO_BIN")
	return ok || GoInstalled(MinIOPackage, MinIOVersion)
}
