package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tarnlake/tarn/catalog"
	"github.com/tarnlake/tarn/fileio"
	"github.com/tarnlake/tarn/table"
)

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, args string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tarn %s %s\n\nFlags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// storageFlags are the object-storage settings every command takes.
type storageFlags struct {
	endpoint, accessKey, secretKey, region, caFile string
	insecure, virtualHost                          bool
}

func addStorageFlags(fs *flag.FlagSet) *storageFlags {
	s := &storageFlags{}
	fs.StringVar(&s.endpoint, "s3-endpoint", "", "S3 endpoint, e.g. http://127.0.0.1:9000 (default $TARN_S3_ENDPOINT)")
	fs.StringVar(&s.accessKey, "s3-access-key", "", "S3 access key (default $AWS_ACCESS_KEY_ID)")
	fs.StringVar(&s.secretKey, "s3-secret-key", "", "S3 secret key (default $AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&s.region, "s3-region", "", "S3 region (default $AWS_REGION)")
	fs.StringVar(&s.caFile, "s3-ca-file", "", "PEM file of extra certificate authorities for S3 over TLS")
	fs.BoolVar(&s.insecure, "s3-insecure-skip-verify", false, "do not verify the S3 server's TLS certificate")
	fs.BoolVar(&s.virtualHost, "s3-virtual-host", false, "virtual-host-style bucket addressing (default: path style)")
	return s
}

func (s *storageFlags) open(ctx context.Context, uri string) (fileio.FileIO, error) {
	return fileio.New(ctx, uri, fileio.Options{
		Endpoint: s.endpoint, AccessKey: s.accessKey, SecretKey: s.secretKey, Region: s.region,
		CAFile: s.caFile, InsecureSkipVerify: s.insecure, VirtualHostStyle: s.virtualHost,
	})
}

// tableFlags locate one table: a positional location, or --warehouse and db.table.
type tableFlags struct {
	storage   *storageFlags
	warehouse string
}

func addTableFlags(fs *flag.FlagSet) *tableFlags {
	t := &tableFlags{storage: addStorageFlags(fs)}
	fs.StringVar(&t.warehouse, "warehouse", "", "warehouse location (then TABLE is db.table)")
	return t
}

// open opens the table named by the single positional argument.
func (t *tableFlags) open(ctx context.Context, pos []string) (*table.Table, error) {
	if len(pos) != 1 {
		return nil, usagef("expected one TABLE argument (a table location, or db.table with --warehouse), got %d", len(pos))
	}
	arg := pos[0]
	if t.warehouse != "" {
		id, err := catalog.ParseIdentifier(arg)
		if err != nil {
			return nil, usagef("%v", err)
		}
		fio, err := t.storage.open(ctx, t.warehouse)
		if err != nil {
			return nil, err
		}
		return catalog.New(fio, t.warehouse).LoadTable(ctx, id)
	}
	if !strings.Contains(arg, "/") && strings.Count(arg, ".") == 1 {
		return nil, usagef("%q looks like db.table: pass --warehouse too, or give the table's location", arg)
	}
	fio, err := t.storage.open(ctx, arg)
	if err != nil {
		return nil, err
	}
	return table.Open(ctx, fio, arg)
}
