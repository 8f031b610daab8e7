package table

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/binaryrow"
	"github.com/tarnlake/tarn/manifest"
)

// Dynamic bucket mode (bucket = -1 on a primary-key table): keys are assigned to buckets
// by a hash index (Paimon's HashBucketAssigner / PartitionIndex): a key whose hash is
// indexed stays in its bucket; a new key goes to a bucket holding fewer than
// dynamic-bucket.target-row-num keys, or to a new bucket. Each bucket's index file
// (type HASH, under index/) lists the key hashes of the bucket as big-endian int32
// (IntFileUtils); a commit replaces the files of the buckets it changed. Like Paimon, a
// partition of a dynamic-bucket table takes one writer at a time.

// DefaultDynamicBucketTargetRows is Paimon's dynamic-bucket.target-row-num default.
const DefaultDynamicBucketTargetRows = 2_000_000

type partitionIndex struct {
	hash2bucket map[int32]int32
	counts      map[int32]int64 // keys per bucket
	order       []int32         // buckets in the order they were loaded or created
	files       map[int32]manifest.IndexFileMeta
	added       map[int32][]int32 // new hashes per bucket since the last commit
}

type bucketAssigner struct {
	t         *Table
	schema    *format.TableSchema
	opts      CoreOptions
	target    int64
	maxBucket int32
	parts     map[string]*partitionIndex
	live      []manifest.IndexManifestEntry // HASH entries of the base snapshot
	loaded    bool
	uuid      string
	n         int64
}

func newBucketAssigner(t *Table, schema *format.TableSchema, opts CoreOptions) *bucketAssigner {
	o := schema.Options
	target := int64(DefaultDynamicBucketTargetRows)
	if v, ok := o.Get("dynamic-bucket.target-row-num"); ok {
		fmt.Sscan(v, &target)
	}
	maxBuckets := int32(-1)
	if v, ok := o.Get("dynamic-bucket.max-buckets"); ok {
		fmt.Sscan(v, &maxBuckets)
	}
	return &bucketAssigner{t: t, schema: schema, opts: opts, target: target, maxBucket: maxBuckets, parts: map[string]*partitionIndex{}, uuid: newUUID()}
}

// load reads the HASH entries of the base snapshot's index manifest once.
func (a *bucketAssigner) load(ctx context.Context, base *format.Snapshot) error {
	if a.loaded {
		return nil
	}
	a.loaded = true
	if base == nil || base.IndexManifest == nil {
		return nil
	}
	entries, err := a.t.ReadIndexManifest(ctx, *base.IndexManifest)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Kind == manifest.FileKindAdd && e.IndexFile.IndexType == manifest.IndexTypeHash {
			a.live = append(a.live, e)
		}
	}
	return nil
}

func (a *bucketAssigner) partition(ctx context.Context, part []byte) (*partitionIndex, error) {
	if p := a.parts[string(part)]; p != nil {
		return p, nil
	}
	p := &partitionIndex{hash2bucket: map[int32]int32{}, counts: map[int32]int64{}, files: map[int32]manifest.IndexFileMeta{}, added: map[int32][]int32{}}
	for _, e := range a.live {
		if !bytes.Equal(e.Partition, part) {
			continue
		}
		file, err := a.indexPath(part, e.Bucket, &e.IndexFile)
		if err != nil {
			return nil, err
		}
		data, err := a.t.fio.ReadFile(ctx, file)
		if err != nil {
			return nil, fmt.Errorf("hash index of bucket %d: %w", e.Bucket, err)
		}
		if len(data)%4 != 0 {
			return nil, fmt.Errorf("hash index %s: %d bytes is not a whole number of ints", e.IndexFile.FileName, len(data))
		}
		if _, seen := p.counts[e.Bucket]; !seen {
			p.order = append(p.order, e.Bucket)
		}
		for i := 0; i+4 <= len(data); i += 4 {
			p.hash2bucket[int32(binary.BigEndian.Uint32(data[i:]))] = e.Bucket
			p.counts[e.Bucket]++
		}
		p.files[e.Bucket] = e.IndexFile
	}
	sort.Slice(p.order, func(i, j int) bool { return p.order[i] < p.order[j] })
	a.parts[string(part)] = p
	return p, nil
}

// indexPath is where a hash index file of a bucket lives; the bucket's directory is
// derived only for index-file-in-data-file-dir, the one placement that needs it.
func (a *bucketAssigner) indexPath(part []byte, bucket int32, f *manifest.IndexFileMeta) (string, error) {
	dir := ""
	if a.opts.IndexInDataDir {
		var err error
		if dir, err = a.t.bucketDirOf(a.schema, a.opts, part, int(bucket)); err != nil {
			return "", err
		}
	}
	return a.t.indexFilePath(a.opts, dir, f), nil
}

// assign returns the bucket of a key given its trimmed primary key row.
func (a *bucketAssigner) assign(ctx context.Context, part []byte, key binaryrow.Row) (int, error) {
	p, err := a.partition(ctx, part)
	if err != nil {
		return 0, err
	}
	h := key.HashCode()
	if b, ok := p.hash2bucket[h]; ok {
		return int(b), nil
	}
	var bucket int32 = -1
	for _, b := range p.order {
		if p.counts[b] < a.target {
			bucket = b
			break
		}
	}
	if bucket < 0 {
		limit := int32(32767)
		if a.maxBucket > 0 {
			limit = a.maxBucket
		}
		for b := int32(0); b < limit; b++ {
			if _, used := p.counts[b]; !used {
				bucket = b
				p.order = append(p.order, b)
				break
			}
		}
		if bucket < 0 {
			if a.maxBucket <= 0 {
				return 0, fmt.Errorf("dynamic bucket: all %d buckets are full; raise dynamic-bucket.target-row-num", limit)
			}
			bucket = p.order[int(uint32(h))%len(p.order)] // at the bucket limit: spread over existing ones
		}
	}
	p.hash2bucket[h] = bucket
	p.counts[bucket]++
	p.added[bucket] = append(p.added[bucket], h)
	return int(bucket), nil
}

// indexChanges writes a new hash index file for every bucket that gained keys and
// returns, per (partition, bucket), the new file and the one it replaces.
func (a *bucketAssigner) indexChanges(ctx context.Context) (map[string][2]*manifest.IndexFileMeta, error) {
	out := map[string][2]*manifest.IndexFileMeta{}
	for part, p := range a.parts {
		for bucket, hashes := range p.added {
			if len(hashes) == 0 {
				continue
			}
			var all []int32
			for h, b := range p.hash2bucket {
				if b == bucket {
					all = append(all, h)
				}
			}
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			buf := make([]byte, 4*len(all))
			for i, h := range all {
				binary.BigEndian.PutUint32(buf[4*i:], uint32(h))
			}
			name := format.MetaFileName(format.IndexPrefix, a.uuid, a.n)
			a.n++
			nf := &manifest.IndexFileMeta{IndexType: manifest.IndexTypeHash, FileName: name, FileSize: int64(len(buf)), RowCount: int64(len(all))}
			file, err := a.indexPath([]byte(part), bucket, nf)
			if err != nil {
				return nil, err
			}
			if err := a.t.fio.WriteFile(ctx, file, buf); err != nil {
				return nil, err
			}
			var old *manifest.IndexFileMeta
			if f, ok := p.files[bucket]; ok {
				old = &f
			}
			out[groupKey([]byte(part), int(bucket))] = [2]*manifest.IndexFileMeta{nf, old}
			p.files[bucket] = *nf
			p.added[bucket] = nil
		}
	}
	return out, nil
}

// applyIndexChanges computes a snapshot's index manifest entries: the previous live
// entries with the files of changed (partition, bucket, type) replaced.
func applyIndexChanges(prev []manifest.IndexManifestEntry, msgs []CommitMessage) []manifest.IndexManifestEntry {
	type key struct {
		part   string
		bucket int32
		name   string
	}
	removed := map[key]bool{}
	var added []manifest.IndexManifestEntry
	for _, m := range msgs {
		for _, f := range m.DeletedIndexFiles {
			removed[key{string(m.Partition), int32(m.Bucket), f.FileName}] = true
		}
		for _, f := range m.NewIndexFiles {
			added = append(added, manifest.IndexManifestEntry{Kind: manifest.FileKindAdd, Partition: m.Partition, Bucket: int32(m.Bucket), IndexFile: f})
		}
	}
	var out []manifest.IndexManifestEntry
	for _, e := range prev {
		if e.Kind != manifest.FileKindAdd || removed[key{string(e.Partition), e.Bucket, e.IndexFile.FileName}] {
			continue
		}
		out = append(out, e)
	}
	return append(out, added...)
}
