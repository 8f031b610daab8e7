package fileio

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Options configures the S3 FileIO. Empty fields take their value from the
// environment, then from defaults:
//
//	Endpoint   TARN_S3_ENDPOINT, AWS_ENDPOINT_URL; default AWS S3
//	AccessKey  AWS_ACCESS_KEY_ID (SecretKey AWS_SECRET_ACCESS_KEY,
//	           SessionToken AWS_SESSION_TOKEN); anonymous if none
//	Region     AWS_REGION, AWS_DEFAULT_REGION; default us-east-1
type Options struct {
	// Endpoint is "host:port" or a URL "http://host:port" /
	// "https://host:port"; a URL's scheme decides Secure.
	Endpoint     string
	AccessKey    string
	SecretKey    string
	SessionToken string
	Region       string
	// VirtualHostStyle addresses buckets as "bucket.host" rather than
	// "host/bucket" (path style, the default, which MinIO wants). For AWS
	// (no Endpoint) the client picks the style itself.
	VirtualHostStyle bool
	// Secure selects HTTPS for an Endpoint given without a scheme.
	Secure bool
	// InsecureSkipVerify disables TLS certificate verification.
	InsecureSkipVerify bool
	// CAFile is a PEM file of extra trusted certificate authorities.
	CAFile string
	// PartSize is the multipart-upload part size used by Create, and the
	// largest file Create sends in one PUT. Default 16 MiB; minimum 5 MiB.
	PartSize int64
	// MaxRetries is how many times a request is tried on transient errors
	// (network errors, 5xx, throttling), with exponential backoff. Never
	// applies to a failed precondition. Default 10; 1 disables retries.
	MaxRetries int
	// Logger receives the few events worth logging; default slog.Default().
	Logger *slog.Logger
}

const (
	defaultPartSize = 16 << 20
	minPartSize     = 5 << 20
)

// withEnv returns o completed from the environment and defaults.
func (o Options) withEnv() Options {
	env := func(v *string, names ...string) {
		for _, n := range names {
			if *v == "" {
				*v = os.Getenv(n)
			}
		}
	}
	env(&o.Endpoint, "TARN_S3_ENDPOINT", "AWS_ENDPOINT_URL")
	if o.AccessKey == "" && o.SecretKey == "" {
		env(&o.AccessKey, "AWS_ACCESS_KEY_ID")
		env(&o.SecretKey, "AWS_SECRET_ACCESS_KEY")
		env(&o.SessionToken, "AWS_SESSION_TOKEN")
	}
	env(&o.Region, "AWS_REGION", "AWS_DEFAULT_REGION")
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.PartSize == 0 {
		o.PartSize = defaultPartSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// S3 is the FileIO of S3-compatible object stores, on minio-go. One S3
// serves every bucket the credentials reach; paths are
// "s3://bucket/key" ("s3a://" and "s3n://" too).
//
// Create buffers up to PartSize in memory and sends a single PUT on Close;
// a longer file goes as a multipart upload, completed on Close and aborted
// on failure, so a file is visible only when complete. CreateIfAbsent is a
// PUT with "If-None-Match: *".
type S3 struct {
	client   *minio.Client
	core     minio.Core
	partSize int64
	log      *slog.Logger
}

var _ FileIO = (*S3)(nil)

// NewS3 returns an S3 FileIO. It makes no request.
func NewS3(ctx context.Context, opts Options) (*S3, error) {
	o := opts.withEnv()
	if o.PartSize < minPartSize {
		return nil, fmt.Errorf("fileio: s3 part size %d below %d", o.PartSize, minPartSize)
	}
	host, secure := o.Endpoint, o.Secure
	lookup := minio.BucketLookupPath
	if o.VirtualHostStyle {
		lookup = minio.BucketLookupDNS
	}
	if host == "" {
		host, secure, lookup = "s3.amazonaws.com", true, minio.BucketLookupAuto
	} else if strings.Contains(host, "://") {
		u, err := url.Parse(host)
		if err != nil {
			return nil, fmt.Errorf("fileio: s3 endpoint %q: %w", o.Endpoint, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("fileio: s3 endpoint %q: want host:port or http(s)://host:port", o.Endpoint)
		}
		host, secure = u.Host, u.Scheme == "https"
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, fmt.Errorf("fileio: s3 transport: %w", err)
	}
	if secure && (o.InsecureSkipVerify || o.CAFile != "") {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify}
		if tr.TLSClientConfig != nil {
			cfg = tr.TLSClientConfig.Clone()
			cfg.InsecureSkipVerify = o.InsecureSkipVerify
		}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("fileio: s3 CA file: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("fileio: s3 CA file %s: no PEM certificates", o.CAFile)
			}
			cfg.RootCAs = pool
		}
		tr.TLSClientConfig = cfg
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(o.AccessKey, o.SecretKey, o.SessionToken),
		Secure:       secure,
		Transport:    tr,
		Region:       o.Region,
		BucketLookup: lookup,
		MaxRetries:   o.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("fileio: s3 client for %s: %w", host, err)
	}
	o.Logger.Debug("fileio: s3 client", "endpoint", client.EndpointURL().String(), "region", o.Region)
	return &S3{client: client, core: minio.Core{Client: client}, partSize: o.PartSize, log: o.Logger}, nil
}

// splitS3 splits "s3://bucket/key" into bucket and a cleaned key ("" for
// the bucket's root).
func splitS3(p string) (bucket, key string, err error) {
	switch scheme(p) {
	case "s3", "s3a", "s3n":
	default:
		return "", "", errors.New("not an s3:// path")
	}
	rest, ok := strings.CutPrefix(p[strings.Index(p, ":")+1:], "//")
	if !ok {
		return "", "", errors.New("not an s3://bucket/key path")
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", errors.New("no bucket in s3 path")
	}
	key = strings.TrimPrefix(path.Clean("/"+key), "/")
	return bucket, key, nil
}

func (s *S3) object(op, p string) (bucket, key string, err error) {
	bucket, key, err = splitS3(p)
	if err == nil && key == "" {
		err = errors.New("no object key in s3 path")
	}
	if err != nil {
		return "", "", pathError(op, p, err)
	}
	return bucket, key, nil
}

// s3Err classifies a minio-go error.
func s3Err(op, p string, err error) error {
	if err == nil {
		return nil
	}
	if isNotFound(err) {
		return pathError(op, p, fmt.Errorf("%w: %w", ErrNotExist, err))
	}
	return pathError(op, p, err)
}

func isNotFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == minio.NoSuchKey || r.Code == "NotFound" ||
		r.StatusCode == http.StatusNotFound && r.Code != minio.NoSuchBucket
}

func isPreconditionFailed(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.StatusCode == http.StatusPreconditionFailed || r.Code == "PreconditionFailed"
}

// Open implements FileIO. It sends a HEAD request; reads are ranged GETs,
// pinned to the ETag seen by Open.
func (s *S3) Open(ctx context.Context, p string) (File, error) {
	bucket, key, err := s.object("open", p)
	if err != nil {
		return nil, err
	}
	info, err := s.client.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return nil, s3Err("open", p, err)
	}
	return &s3File{s: s, ctx: ctx, path: p, bucket: bucket, key: key, size: info.Size, etag: info.ETag}, nil
}

// readAhead is the buffer of sequential reads of an s3File.
const readAhead = 256 << 10

type s3File struct {
	s                 *S3
	ctx               context.Context
	path, bucket, key string
	size              int64
	etag              string

	mu      sync.Mutex // guards the fields below
	pos     int64
	body    io.ReadCloser // GET of [bodyPos, size), for Read
	br      *bufio.Reader
	bodyPos int64
	closed  bool
}

func (f *s3File) Size() int64 { return f.size }

// get starts a GET of [off, end].
func (f *s3File) get(off, end int64) (io.ReadCloser, error) {
	var opts minio.GetObjectOptions
	if err := opts.SetRange(off, end); err != nil {
		return nil, err
	}
	if f.etag != "" {
		if err := opts.SetMatchETag(f.etag); err != nil {
			return nil, err
		}
	}
	body, _, _, err := f.s.core.GetObject(f.ctx, f.bucket, f.key, opts)
	return body, err
}

// ReadAt reads with one ranged GET; it is safe for concurrent use.
func (f *s3File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, pathError("read", f.path, errors.New("negative offset"))
	}
	if off >= f.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := min(int64(len(p)), f.size-off)
	body, err := f.get(off, off+n-1)
	if err != nil {
		return 0, s3Err("read", f.path, err)
	}
	defer body.Close()
	m, err := io.ReadFull(body, p[:n])
	if err != nil {
		return m, pathError("read", f.path, err)
	}
	// Read on to the end of the body (chunked replies have an empty last
	// chunk), so the connection is reused.
	io.Copy(io.Discard, io.LimitReader(body, 512))
	if n < int64(len(p)) {
		return m, io.EOF
	}
	return m, nil
}

// Read streams from the current position through a read-ahead buffer.
func (f *s3File) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, pathError("read", f.path, os.ErrClosed)
	}
	if f.pos >= f.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	for attempt := 0; ; attempt++ {
		if f.body == nil || f.bodyPos != f.pos {
			f.closeBody()
			body, err := f.get(f.pos, f.size-1)
			if err != nil {
				return 0, s3Err("read", f.path, err)
			}
			f.body, f.bodyPos = body, f.pos
			if f.br == nil {
				f.br = bufio.NewReaderSize(body, readAhead)
			} else {
				f.br.Reset(body)
			}
		}
		n, err := f.br.Read(p)
		f.pos += int64(n)
		f.bodyPos = f.pos
		if err == io.EOF && f.pos < f.size {
			err = io.ErrUnexpectedEOF
		}
		if err == nil || err == io.EOF {
			return n, err
		}
		// The stream broke: reopen at the current position once.
		f.closeBody()
		if n > 0 {
			return n, nil
		}
		if attempt > 0 || f.ctx.Err() != nil {
			return 0, pathError("read", f.path, err)
		}
	}
}

func (f *s3File) closeBody() {
	if f.body != nil {
		f.body.Close()
		f.body = nil
	}
}

func (f *s3File) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		offset += f.size
	default:
		return 0, pathError("seek", f.path, errors.New("invalid whence"))
	}
	if offset < 0 {
		return 0, pathError("seek", f.path, errors.New("negative position"))
	}
	f.pos = offset
	return offset, nil
}

func (f *s3File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closeBody()
	f.closed = true
	return nil
}

// ReadFile implements FileIO with one GET.
func (s *S3) ReadFile(ctx context.Context, p string) ([]byte, error) {
	bucket, key, err := s.object("read", p)
	if err != nil {
		return nil, err
	}
	body, info, _, err := s.core.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s3Err("read", p, err)
	}
	defer body.Close()
	buf := bytes.NewBuffer(make([]byte, 0, max(info.Size, 0)+bytes.MinRead))
	if _, err := buf.ReadFrom(body); err != nil {
		return nil, pathError("read", p, err)
	}
	return buf.Bytes(), nil
}

// Create implements FileIO.
func (s *S3) Create(ctx context.Context, p string) (Writer, error) {
	bucket, key, err := s.object("create", p)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, pathError("create", p, err)
	}
	return &s3Writer{s: s, ctx: ctx, path: p, bucket: bucket, key: key}, nil
}

type s3Writer struct {
	s                 *S3
	ctx               context.Context
	path, bucket, key string

	buf      []byte
	uploadID string
	parts    []minio.CompletePart
	err      error // first failure; the upload is aborted then
	done     bool
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, pathError("write", w.path, os.ErrClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		if int64(len(w.buf)) == w.s.partSize {
			// Flushed only once more data follows, so a file of at
			// most one part goes as a single PUT on Close.
			if err := w.flushPart(); err != nil {
				return n, err
			}
		}
		c := min(int64(len(p)), w.s.partSize-int64(len(w.buf)))
		w.buf = append(w.buf, p[:c]...)
		n += int(c)
		p = p[c:]
	}
	return n, nil
}

// flushPart uploads the buffer as the next part, starting the multipart
// upload if needed.
func (w *s3Writer) flushPart() error {
	if w.uploadID == "" {
		id, err := w.s.core.NewMultipartUpload(w.ctx, w.bucket, w.key, minio.PutObjectOptions{})
		if err != nil {
			return w.fail("write", err)
		}
		w.uploadID = id
	}
	num := len(w.parts) + 1
	part, err := w.s.core.PutObjectPart(w.ctx, w.bucket, w.key, w.uploadID, num,
		bytes.NewReader(w.buf), int64(len(w.buf)), minio.PutObjectPartOptions{})
	if err != nil {
		return w.fail("write", err)
	}
	w.parts = append(w.parts, minio.CompletePart{PartNumber: num, ETag: part.ETag})
	w.buf = w.buf[:0]
	return nil
}

// fail records err and aborts the multipart upload, if any.
func (w *s3Writer) fail(op string, err error) error {
	w.err = s3Err(op, w.path, err)
	w.abortUpload()
	return w.err
}

func (w *s3Writer) abortUpload() {
	if w.uploadID == "" {
		return
	}
	// The caller's ctx may be what failed; abort on a fresh one.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), time.Minute)
	defer cancel()
	if err := w.s.core.AbortMultipartUpload(ctx, w.bucket, w.key, w.uploadID); err != nil {
		w.s.log.Warn("fileio: abort multipart upload", "path", w.path, "err", err)
	}
	w.uploadID = ""
}

func (w *s3Writer) Close() error {
	if w.done {
		return pathError("close", w.path, os.ErrClosed)
	}
	w.done = true
	if w.err != nil {
		return w.err
	}
	if w.uploadID == "" {
		_, err := w.s.client.PutObject(w.ctx, w.bucket, w.key, bytes.NewReader(w.buf), int64(len(w.buf)),
			minio.PutObjectOptions{DisableMultipart: true})
		w.buf = nil
		return s3Err("close", w.path, err)
	}
	if len(w.buf) > 0 {
		if err := w.flushPart(); err != nil {
			return err
		}
	}
	w.buf = nil
	_, err := w.s.core.CompleteMultipartUpload(w.ctx, w.bucket, w.key, w.uploadID, w.parts, minio.PutObjectOptions{})
	if err != nil {
		return w.fail("close", err)
	}
	return nil
}

func (w *s3Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.buf = nil
	w.abortUpload()
	return nil
}

// WriteFile implements FileIO with one PUT.
func (s *S3) WriteFile(ctx context.Context, p string, data []byte) error {
	bucket, key, err := s.object("write", p)
	if err != nil {
		return err
	}
	_, err = s.client.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{DisableMultipart: true})
	return s3Err("write", p, err)
}

// CreateIfAbsent implements FileIO with a PUT carrying "If-None-Match: *".
//
// A PUT that was sent more than once (a transient error, then a retry) and
// then reports a failed precondition is ambiguous: the first attempt may have
// created the object. In that case the object is read back, and if it holds
// exactly data the call succeeds.
func (s *S3) CreateIfAbsent(ctx context.Context, p string, data []byte) error {
	const op = "create-if-absent"
	bucket, key, err := s.object(op, p)
	if err != nil {
		return err
	}
	var sent atomic.Int32
	tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { sent.Add(1) },
	})
	for attempt := 0; ; attempt++ {
		opts := minio.PutObjectOptions{DisableMultipart: true}
		opts.SetMatchETagExcept("*")
		_, err := s.client.PutObject(tctx, bucket, key, bytes.NewReader(data), int64(len(data)), opts)
		switch {
		case err == nil:
			return nil
		case isPreconditionFailed(err):
			if sent.Load() > 1 && s.holds(ctx, bucket, key, data) {
				s.log.Warn("fileio: conditional create was retried and found its own content; counted as created", "path", p)
				return nil
			}
			return pathError(op, p, fmt.Errorf("%w: %w", ErrExist, err))
		case minio.ToErrorResponse(err).StatusCode == http.StatusConflict && attempt < 8:
			// A concurrent conditional write is in flight (S3's
			// ConditionalRequestConflict); try again to learn the outcome.
			select {
			case <-time.After(time.Duration(10<<attempt) * time.Millisecond):
			case <-ctx.Done():
				return pathError(op, p, ctx.Err())
			}
		default:
			return s3Err(op, p, err)
		}
	}
}

// holds reports whether the object exists with exactly data.
func (s *S3) holds(ctx context.Context, bucket, key string, data []byte) bool {
	body, info, _, err := s.core.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return false
	}
	defer body.Close()
	if info.Size != int64(len(data)) {
		return false
	}
	got, err := io.ReadAll(body)
	return err == nil && bytes.Equal(got, data)
}

// Delete implements FileIO.
func (s *S3) Delete(ctx context.Context, p string) error {
	bucket, key, err := s.object("delete", p)
	if err != nil {
		return err
	}
	err = s.client.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{})
	if err != nil && !isNotFound(err) {
		return s3Err("delete", p, err)
	}
	return nil
}

// Stat implements FileIO with a HEAD request.
func (s *S3) Stat(ctx context.Context, p string) (FileInfo, error) {
	bucket, key, err := s.object("stat", p)
	if err != nil {
		return FileInfo{}, err
	}
	info, err := s.client.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return FileInfo{}, s3Err("stat", p, err)
	}
	return FileInfo{Path: p, Size: info.Size, ModTime: info.LastModified}, nil
}

// List implements FileIO with a delimited listing of "dir/".
func (s *S3) List(ctx context.Context, dir string) ([]FileInfo, error) {
	bucket, key, err := splitS3(dir)
	if err != nil {
		return nil, pathError("list", dir, err)
	}
	prefix := key
	if prefix != "" {
		prefix += "/"
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing if we return early
	var out []FileInfo
	for obj := range s.client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix}) {
		if obj.Err != nil {
			return nil, s3Err("list", dir, obj.Err)
		}
		name, isDir := strings.CutSuffix(strings.TrimPrefix(obj.Key, prefix), "/")
		if name == "" {
			continue // a "directory marker" object for dir itself
		}
		fi := FileInfo{Path: Join(dir, name), IsDir: isDir}
		if !isDir {
			fi.Size, fi.ModTime = obj.Size, obj.LastModified
		}
		out = append(out, fi)
	}
	slices.SortFunc(out, func(a, b FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}
