package fileio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

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
	s := testenv.VersityGW(t) // built on first use; under -short, skipped until installed
	fileiotest.Run(t, s3Roots(s, "s3"))
}

// TestS3ServerDown checks that errors while the server is down are neither
// ErrNotExist nor ErrExist, and that the same FileIO works after a restart.
func TestS3ServerDown(t *testing.T) {
	s := testenv.MinIO(t)
	ctx := t.Context()
	opts := s.Options
	opts.MaxRetries = 1 // fail fast while the server is down
	fio, err := fileio.NewS3(ctx, opts)
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

// TestS3CreateIfAbsentLostReply puts a proxy between client and MinIO that
// delivers PUTs but loses their replies. The client's retry then meets a
// failed precondition; CreateIfAbsent must still succeed when the object
// holds the caller's own content, and report ErrExist when it holds another's.
func TestS3CreateIfAbsentLostReply(t *testing.T) {
	s := testenv.MinIO(t)
	ctx := t.Context()
	target, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host // the signed host
	}}
	var lose atomic.Int32 // PUT replies still to lose
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || lose.Add(-1) < 0 {
			proxy.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		proxy.ServeHTTP(rec, r) // the server handles the PUT...
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close() // ...and the reply is lost
	}))
	defer srv.Close()
	opts := s.Options
	opts.Endpoint = srv.URL
	fio, err := fileio.NewS3(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		existing string // content before the call; "" for none
		wantErr  error
	}{
		{"created by the lost attempt", "", nil},
		{"held another's content", "other writer", fileio.ErrExist},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := s.URI("lost", fmt.Sprintf("snapshot-%d", i))
			if tt.existing != "" {
				if err := fio.WriteFile(ctx, p, []byte(tt.existing)); err != nil {
					t.Fatal(err)
				}
			}
			lose.Store(1)
			err := fio.CreateIfAbsent(ctx, p, []byte("mine"))
			if lose.Load() >= 0 {
				t.Fatal("no reply was lost")
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("CreateIfAbsent = %v, want %v", err, tt.wantErr)
			}
			want := "mine"
			if tt.existing != "" {
				want = tt.existing
			}
			if got, err := fio.ReadFile(ctx, p); err != nil || string(got) != want {
				t.Fatalf("content = %q, %v; want %q", got, err, want)
			}
		})
	}
}

func TestS3TLS(t *testing.T) {
	s := testenv.MinIOTLS(t)
	ctx := t.Context()
	tests := []struct {
		name    string
		opts    func(o *fileio.Options)
		wantErr bool
	}{
		{"trusted CA file", func(o *fileio.Options) {}, false},
		{"skip verify", func(o *fileio.Options) { o.CAFile, o.InsecureSkipVerify = "", true }, false},
		{"host:port with Secure", func(o *fileio.Options) { o.Endpoint, o.Secure = s.Endpoint, true }, false},
		{"untrusted", func(o *fileio.Options) { o.CAFile, o.MaxRetries = "", 1 }, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := s.Options
			tt.opts(&opts)
			fio, err := fileio.NewS3(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			p := s.URI(fmt.Sprintf("tls-%d", i))
			err = fio.WriteFile(ctx, p, []byte("over TLS"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("WriteFile = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got, err := fio.ReadFile(ctx, p); err != nil || string(got) != "over TLS" {
				t.Fatalf("ReadFile = %q, %v", got, err)
			}
		})
	}
	if _, err := fileio.NewS3(ctx, fileio.Options{Endpoint: s.URL, CAFile: "/nonexistent.pem"}); err == nil {
		t.Error("NewS3 with a missing CA file succeeded")
	}
}

// TestS3AbortMultipart checks that aborting a file past one part leaves
// neither the object nor an incomplete multipart upload behind.
func TestS3AbortMultipart(t *testing.T) {
	s := testenv.MinIO(t)
	ctx := t.Context()
	opts := s.Options
	opts.PartSize = 5 << 20
	fio, err := fileio.NewS3(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	// MinIO lists the uploads of an exact object name only.
	incomplete := func(key string) int {
		n := 0
		for u := range admin.ListIncompleteUploads(ctx, s.Bucket, key, true) {
			if u.Err != nil {
				t.Fatal(u.Err)
			}
			n++
		}
		return n
	}

	chunk := make([]byte, 1<<20)
	for _, how := range []string{"Abort", "cancel"} {
		t.Run(how, func(t *testing.T) {
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			key := "abort/" + how
			p := s.URI(key)
			w, err := fio.Create(wctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for range 12 { // two parts uploaded, the rest buffered
				if _, err := w.Write(chunk); err != nil {
					t.Fatal(err)
				}
			}
			if n := incomplete(key); n != 1 {
				t.Fatalf("%d incomplete uploads while writing, want 1", n)
			}
			if how == "Abort" {
				err = w.Abort()
			} else {
				cancel()
				if err = w.Close(); err == nil {
					t.Fatal("Close after cancel succeeded")
				}
				err = nil
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := incomplete(key); n != 0 {
				t.Errorf("%d incomplete uploads after %s, want 0", n, how)
			}
			if ok, err := fileio.Exists(ctx, fio, p); ok || err != nil {
				t.Errorf("Exists = %v, %v; want false", ok, err)
			}
		})
	}
}
