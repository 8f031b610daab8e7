package testenv

import (
	"context"
	"strconv"
	"testing"
)

// The versitygw S3 gateway built for tests: a second, independent S3 server.
const (
	VersityGWPackage = "github.com/versity/versitygw/cmd/versitygw"
	VersityGWVersion = "v1.8.0"
)

// InstallVersityGW returns the versitygw binary: $TARN_VERSITYGW_BIN if
// set, else the one built into the cache, building it first if needed.
func InstallVersityGW(ctx context.Context) (string, error) {
	if bin, ok, err := binFromEnv("TARN_VERSITYGW_BIN"); ok {
		return bin, err
	}
	return GoInstall(ctx, VersityGWPackage, VersityGWVersion)
}

var versityGWSpec = s3Spec{
	kind:    "versitygw",
	install: InstallVersityGW,
	nPorts:  1,
	command: func(bin, dir string, ports []int, access, secret string) Command {
		return Command{
			Name: "versitygw",
			Path: bin,
			Args: []string{"--port", "127.0.0.1:" + strconv.Itoa(ports[0]), "posix", dir + "/data"},
			Env: []string{
				"ROOT_ACCESS_KEY=" + access,
				"ROOT_SECRET_KEY=" + secret,
			},
			DropEnv: []string{"ROOT_ACCESS_KEY", "ROOT_SECRET_KEY", "VGW_"},
			Dir:     dir,
		}
	},
	ready: func(s *S3Server) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			c, err := s.client()
			if err != nil {
				return err
			}
			_, err = c.ListBuckets(ctx)
			return err
		}
	},
}

// StartVersityGW starts a versitygw server with an empty bucket; stop stops
// it and removes its data.
func StartVersityGW(ctx context.Context) (s *S3Server, stop func(), err error) {
	return startS3(ctx, versityGWSpec)
}

// VersityGW starts a versitygw server for the test, stopped when it ends.
// Under -short the test is skipped if versitygw is not installed yet.
func VersityGW(t testing.TB) *S3Server {
	t.Helper()
	return startForTest(t, versityGWSpec, func() bool {
		_, ok, _ := binFromEnv("TARN_VERSITYGW_BIN")
		return ok || GoInstalled(VersityGWPackage, VersityGWVersion)
	})
}
