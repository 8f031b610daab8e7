package fileio_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/fileio/fileiotest"
	"github.com/tarnlake/tarn/internal/testenv"
)

// s3Roots hands each subtest its own prefix in the server's bucket.
func s3Roots(s *testenv.S3Server, scheme string) fileiotest.NewFS {
	return func(t *testing.T) (fileio.FileIO, string) {
		fio, err := s.FileIO(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return fio, fmt.Sprintf("%s://%s/%s", scheme, s.Bucket, t.Name())
	}
}

func TestS3MinIO(t *testing.T) {
	s := testenv.MinIO(t)
	for _, scheme := range []string{"s3", "s3a"} {
		t.Run(scheme, func(t *testing.T) {
			fileiotest.Run(t, s3Roots(s, scheme))
		})
	}
}

func TestS3VersityGW(t *testing.T) {
	if !testenv.GoInstalled(testenv.VersityGWPackage, testenv.VersityGWVersion) {
		t.Skip("versitygw is not installed (go run ./internal/testenv/install versitygw)")
	}
	s := testenv.VersityGW(t)
	fileiotest.Run(t, s3Roots(s, "s3"))
}

// TestS3ServerDown checks that errors while the server is down are neither
// ErrNotExist nor ErrExist, and that the same FileIO works after a restart.
func TestS3ServerDown(t *testing.T) {
	s := testenv.MinIO(t)
	ctx := t.Context()
	fio, err := s.FileIO(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := s.URI("t", "snapshot", "snapshot-1")
	if err := fio.CreateIfAbsent(ctx, p, []byte("1")); err != nil {
		t.Fatal(err)
	}
	f, err := fio.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	s.Kill()
	ops := []struct {
		name string
		do   func() error
	}{
		{"Stat", func() error { _, err := fio.Stat(ctx, p); return err }},
		{"ReadFile", func() error { _, err := fio.ReadFile(ctx, p); return err }},
		{"ReadAt", func() error { _, err := f.ReadAt(make([]byte, 1), 0); return err }},
		{"CreateIfAbsent", func() error { return fio.CreateIfAbsent(ctx, s.URI("t", "snapshot", "snapshot-2"), []byte("2")) }},
		{"List", func() error { _, err := fio.List(ctx, s.URI("t")); return err }},
		{"Delete", func() error { return fio.Delete(ctx, p) }},
	}
	for _, op := range ops {
		err := op.do()
		if err == nil || errors.Is(err, fileio.ErrNotExist) || errors.Is(err, fileio.ErrExist) {
			t.Errorf("%s with the server down = %v, want a plain error", op.name, err)
		}
	}

	if err := s.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, err := fio.ReadFile(ctx, p); err != nil || string(got) != "1" {
		t.Fatalf("ReadFile after restart = %q, %v", got, err)
	}
	if err := fio.CreateIfAbsent(ctx, p, []byte("again")); !errors.Is(err, fileio.ErrExist) {
		t.Errorf("CreateIfAbsent after restart = %v, want ErrExist", err)
	}
	if n, err := f.ReadAt(make([]byte, 1), 0); n != 1 || err != nil {
		t.Errorf("ReadAt of a File opened before the restart = %d, %v", n, err)
	}
}

// TestS3WrongCredentials checks that an authentication failure is not
// mistaken for a missing file.
func TestS3WrongCredentials(t *testing.T) {
	s := testenv.MinIO(t)
	opts := s.Options
	opts.SecretKey = "wrong-secret-key"
	fio, err := fileio.NewS3(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fio.Stat(t.Context(), s.URI("missing"))
	if err == nil || errors.Is(err, fileio.ErrNotExist) {
		t.Errorf("Stat with a wrong key = %v, want a plain error", err)
	}
	_, err = fio.List(t.Context(), s.URI())
	if err == nil {
		t.Error("List with a wrong key succeeded")
	}
}

func TestS3MissingBucket(t *testing.T) {
	s := testenv.MinIO(t)
	fio, err := s.FileIO(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fio.List(t.Context(), "s3://no-such-bucket/x"); err == nil {
		t.Error("List in a missing bucket succeeded")
	}
	if _, err := fio.ReadFile(t.Context(), "s3://no-such-bucket/x"); err == nil || errors.Is(err, fileio.ErrNotExist) {
		t.Errorf("ReadFile in a missing bucket = %v, want a plain error", err)
	}
}
