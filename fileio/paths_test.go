package fileio

import (
	"testing"
)

func TestLocalPath(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"/abs/p", "/abs/p", false},
		{"rel/p", "rel/p", false},
		{"file:///abs/p", "/abs/p", false},
		{"file:/abs/p", "/abs/p", false},
		{"file://localhost/abs/p", "/abs/p", false},
		{"file:///abs/dt=a%3Ab", "/abs/dt=a%3Ab", false}, // literal, as Paimon writes it
		{"file:/", "/", false},
		{"file:rel", "", true},
		{"file://host/abs/p", "", true},
		{"s3://b/k", "", true},
	}
	for _, tt := range tests {
		got, err := localPath(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("localPath(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSplitS3(t *testing.T) {
	tests := []struct {
		in, bucket, key string
		wantErr         bool
	}{
		{"s3://b/k", "b", "k", false},
		{"s3a://b/dir/k", "b", "dir/k", false},
		{"s3n://b//dir//k/", "b", "dir/k", false},
		{"S3://b", "b", "", false},
		{"s3://b/", "b", "", false},
		{"s3:/b/k", "", "", true},
		{"s3:///k", "", "", true},
		{"/b/k", "", "", true},
	}
	for _, tt := range tests {
		b, k, err := splitS3(tt.in)
		if (err != nil) != tt.wantErr || b != tt.bucket || k != tt.key {
			t.Errorf("splitS3(%q) = %q, %q, %v; want %q, %q, error %v", tt.in, b, k, err, tt.bucket, tt.key, tt.wantErr)
		}
	}
}

func TestOptionsWithEnv(t *testing.T) {
	t.Setenv("TARN_S3_ENDPOINT", "127.0.0.1:9000")
	t.Setenv("AWS_ENDPOINT_URL", "http://other:1")
	t.Setenv("AWS_ACCESS_KEY_ID", "ak")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "sk")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "eu-west-1")
	tests := []struct {
		name string
		in   Options
		want Options
	}{
		{"from env", Options{}, Options{Endpoint: "127.0.0.1:9000", AccessKey: "ak", SecretKey: "sk", Region: "eu-west-1"}},
		{"explicit wins", Options{Endpoint: "h:1", AccessKey: "a", SecretKey: "s", Region: "r"},
			Options{Endpoint: "h:1", AccessKey: "a", SecretKey: "s", Region: "r"}},
	}
	for _, tt := range tests {
		got := tt.in.withEnv()
		got.Logger, got.PartSize = nil, 0
		if got != tt.want {
			t.Errorf("%s: withEnv = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
