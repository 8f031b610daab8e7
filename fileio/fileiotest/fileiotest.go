// Package fileiotest is the conformance suite every fileio.FileIO passes.
package fileiotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/tarnlake/tarn/fileio"
)

// NewFS returns the FileIO under test and an empty directory in it (a path
// the FileIO accepts, e.g. "/tmp/x", "file:///tmp/x", "s3://bucket/prefix")
// for one subtest to use.
type NewFS func(t *testing.T) (fio fileio.FileIO, root string)

// Run runs the conformance suite.
func Run(t *testing.T, newFS NewFS) {
	tests := []struct {
		name string
		fn   func(t *testing.T, fio fileio.FileIO, root string)
	}{
		{"WriteRead", testWriteRead},
		{"Overwrite", testOverwrite},
		{"CreateVisibleOnClose", testCreateVisibleOnClose},
		{"CreateAbort", testCreateAbort},
		{"CreateCancelled", testCreateCancelled},
		{"EmptyFile", testEmptyFile},
		{"RangedReads", testRangedReads},
		{"SeekRead", testSeekRead},
		{"NotExist", testNotExist},
		{"StatDirectory", testStatDirectory},
		{"List", testList},
		{"Delete", testDelete},
		{"RemoveAll", testRemoveAll},
		{"CreateIfAbsent", testCreateIfAbsent},
		{"CreateIfAbsentRace", testCreateIfAbsentRace},
		{"LargeFile", testLargeFile},
		{"NestedPaths", testNestedPaths},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fio, root := newFS(t)
			tt.fn(t, fio, root)
		})
	}
}

// random returns n pseudo-random bytes from seed.
func random(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func mustWrite(t *testing.T, fio fileio.FileIO, path string, data []byte) {
	t.Helper()
	if err := fio.WriteFile(t.Context(), path, data); err != nil {
		t.Fatalf("WriteFile(%s): %v", path, err)
	}
}

func mustRead(t *testing.T, fio fileio.FileIO, path string) []byte {
	t.Helper()
	b, err := fio.ReadFile(t.Context(), path)
	if err != nil {
		t.Fatalf("ReadFile(%s): %v", path, err)
	}
	return b
}

func wantContent(t *testing.T, fio fileio.FileIO, path string, want []byte) {
	t.Helper()
	got := mustRead(t, fio, path)
	if !bytes.Equal(got, want) {
		t.Fatalf("ReadFile(%s) = %d bytes %q..., want %d bytes %q...", path, len(got), head(got), len(want), head(want))
	}
}

func head(b []byte) []byte { return b[:min(len(b), 16)] }

func wantNotExist(t *testing.T, fio fileio.FileIO, path string) {
	t.Helper()
	if _, err := fio.Stat(t.Context(), path); !errors.Is(err, fileio.ErrNotExist) {
		t.Fatalf("Stat(%s) = %v, want ErrNotExist", path, err)
	}
}

func testWriteRead(t *testing.T, fio fileio.FileIO, root string) {
	ctx := t.Context()
	p := fileio.Join(root, "a.bin")
	data := random(1, 1000)
	mustWrite(t, fio, p, data)
	wantContent(t, fio, p, data)

	fi, err := fio.Stat(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size != int64(len(data)) || fi.IsDir || fi.Path != p || fi.Name() != "a.bin" || fi.ModTime.IsZero() {
		t.Errorf("Stat = %+v", fi)
	}
	if ok, err := fileio.Exists(ctx, fio, p); !ok || err != nil {
		t.Errorf("Exists = %v, %v", ok, err)
	}

	f, err := fio.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Size() != int64(len(data)) {
		t.Errorf("Size = %d, want %d", f.Size(), len(data))
	}
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("io.ReadAll(Open) = %d bytes, %v", len(got), err)
	}
}

func testOverwrite(t *testing.T, fio fileio.FileIO, root string) {
	ctx := t.Context()
	p := fileio.Join(root, "f")
	mustWrite(t, fio, p, []byte("first version, long"))
	mustWrite(t, fio, p, []byte("second"))
	wantContent(t, fio, p, []byte("second"))

	w, err := fio.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "third")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantContent(t, fio, p, []byte("third"))
}

func testCreateVisibleOnClose(t *testing.T, fio fileio.FileIO, root string) {
	ctx := t.Context()
	p := fileio.Join(root, "dir", "streamed")
	w, err := fio.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for i := range 10 {
		chunk := random(uint64(i), 1000+i)
		want = append(want, chunk...)
		if n, err := w.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	wantNotExist(t, fio, p)
	if entries, _ := fio.List(ctx, fileio.Join(root, "dir")); len(entries) != 0 {
		t.Errorf("List before Close = %v, want nothing", entries)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantContent(t, fio, p, want)
	if err := w.Close(); err == nil {
		t.Error("second Close succeeded")
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Close = %v", err)
	}
	wantContent(t, fio, p, want)
}

func testCreateAbort(t *testing.T, fio fileio.FileIO, root string) {
	ctx := t.Context()
	fresh, old := fileio.Join(root, "fresh"), fileio.Join(root, "old")
	mustWrite(t, fio, old, []byte("kept"))
	for _, p := range []string{fresh, old} {
		w, err := fio.Create(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("discarded"))
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort: %v", err)
		}
		if err := w.Abort(); err != nil {
			t.Fatalf("second Abort: %v", err)
		}
	}
	wantNotExist(t, fio, fresh)
	wantContent(t, fio, old, []byte("kept"))
	entries, err := fio.List(ctx, root)
	if err != nil || len(entries) != 1 || entries[0].Name() != "old" {
		t.Errorf("List = %v, %v; want only old", entries, err)
	}
}

func testCreateCancelled(t *testing.T, fio fileio.FileIO, root string) {
	p := fileio.Join(root, "cancelled")
	ctx, cancel := context.WithCancel(t.Context())
	w, err := fio.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("never visible"))
	cancel()
	if err := w.Close(); err == nil {
		t.Error("Close after cancel succeeded")
	}
	wantNotExist(t, fio, p)
	if err := fio.WriteFile(ctx, p, []byte("x")); err == nil {
		t.Error("WriteFile with a cancelled context succeeded")
	}
	if err := fio.CreateIfAbsent(ctx, p, []byte("x")); err == nil || errors.Is(err, fileio.ErrExist) {
		t.Errorf("CreateIfAbsent with a cancelled context = %v", err)
	}
	wantNotExist(t, fio, p)
}

func testEmptyFile(t *testing.T, fio fileio.FileIO, root string) {
	ctx := t.Context()
	a, b, c := fileio.Join(root, "a"), fileio.Join(root, "b"), fileio.Join(root, "c")
	mustWrite(t, fio, a, nil)
	w, err := fio.Create(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fio.CreateIfAbsent(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{a, b, c} {
		fi, err := fio.Stat(ctx, p)
		if err != nil || fi.Size != 0 {
			t.Errorf("Stat(%s) = %+v, %v", p, fi, err)
		}
		wantContent(t, fio, p, []byte{})
		f, err := fio.Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := f.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Errorf("Read of empty file = %d, %v", n, err)
		}
		if n, err := f.ReadAt(make([]byte, 10), 0); n != 0 || err != io.EOF {
			t.Errorf("ReadAt of empty file = %d, %v", n, err)
		}
		f.Close()
	}
}

func testRangedReads(t *testing.T, fio fileio.FileIO, root string) {
	ctx := t.Context()
	p := fileio.Join(root, "ranged")
	data := random(7, 100_000)
	mustWrite(t, fio, p, data)
	f, err := fio.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size := int64(len(data))
	tests := []struct {
		off     int64
		n       int
		want    int
		wantEOF bool
	}{
		{0, 10, 10, false},
		{500, 1, 1, false},
		{size - 8, 8, 8, false}, // a Parquet footer
		{size - 5, 10, 5, true},
		{size, 4, 0, true},
		{size + 100, 4, 0, true},
		{12345, 50_000, 50_000, false},
		{0, int(size), int(size), false},
		{1, int(size), int(size) - 1, true},
	}
	for _, tt := range tests {
		buf := make([]byte, tt.n)
		n, err := f.ReadAt(buf, tt.off)
		if n != tt.want || (err == io.EOF) != tt.wantEOF || (err != nil && err != io.EOF) {
			t.Errorf("ReadAt(%d bytes, %d) = %d, %v; want %d, EOF %v", tt.n, tt.off, n, err, tt.want, tt.wantEOF)
			continue
		}
		if n > 0 && !bytes.Equal(buf[:n], data[tt.off:tt.off+int64(n)]) {
			t.Errorf("ReadAt(%d bytes, %d): wrong bytes", tt.n, tt.off)
		}
	}

	// ReadAt is safe for concurrent use.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			off := int64(i * 10_000)
			buf := make([]byte, 9_000)
			if n, err := f.ReadAt(buf, off); n != len(buf) || err != nil {
				t.Errorf("concurrent ReadAt = %d, %v", n, err)
			} else if !bytes.Equal(buf, data[off:off+9_000]) {
				t.Errorf("concurrent ReadAt(%d): wrong bytes", off)
			}
		})
	}
	wg.Wait()
}

func testSeekRead(t *testing.T, fio fileio.FileIO, root string) {
	ctx := t.Context()
	p := fileio.Join(root, "seek")
	data := random(8, 300_000)
	mustWrite(t, fio, p, data)
	f, err := fio.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read := func(n int) []byte {
		t.Helper()
		buf := make([]byte, n)
		if _, err := io.ReadFull(f, buf); err != nil {
			t.Fatalf("ReadFull(%d): %v", n, err)
		}
		return buf
	}
	if got := read(1000); !bytes.Equal(got, data[:1000]) {
		t.Fatal("first Read: wrong bytes")
	}
	// ReadAt does not move the position.
	f.ReadAt(make([]byte, 10), 200_000)
	if got := read(10); !bytes.Equal(got, data[1000:1010]) {
		t.Fatal("Read after ReadAt: wrong bytes")
	}
	seeks := []struct {
		off    int64
		whence int
		want   int64
	}{
		{250_000, io.SeekStart, 250_000},
		{-10_000, io.SeekCurrent, 240_100},
		{-100, io.SeekEnd, 299_900},
		{5, io.SeekStart, 5},
	}
	for _, s := range seeks {
		pos, err := f.Seek(s.off, s.whence)
		if err != nil || pos != s.want {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d", s.off, s.whence, pos, err, s.want)
		}
		if got := read(100); !bytes.Equal(got, data[pos:pos+100]) {
			t.Fatalf("Read after Seek to %d: wrong bytes", pos)
		}
	}
	if _, err := f.Seek(-1, io.SeekStart); err == nil {
		t.Error("Seek to -1 succeeded")
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read at end = %d, %v; want 0, EOF", n, err)
	}
	f.Seek(0, io.SeekStart)
	if got, err := io.ReadAll(f); err != nil || !bytes.Equal(got, data) {
		t.Errorf("ReadAll after Seek(0) = %d bytes, %v", len(got), err)
	}
}

func testNotExist(t *testing.T, fio fileio.FileIO, root string) {
	ctx := t.Context()
	p := fileio.Join(root, "missing", "file")
	if _, err := fio.Open(ctx, p); !errors.Is(err, fileio.ErrNotExist) {
		t.Errorf("Open = %v, want ErrNotExist", err)
	}
	if _, err := fio.ReadFile(ctx, p); !errors.Is(err, fileio.ErrNotExist) {
		t.Errorf("ReadFile = %v, want ErrNotExist", err)
	}
	_, err := fio.Stat(ctx, p)
	if !errors.Is(err, fileio.ErrNotExist) {
		t.Errorf("Stat = %v, want ErrNotExist", err)
	}
	if err != nil && !bytes.Contains([]byte(err.Error()), []byte(p)) {
		t.Errorf("error %q does not name the path", err)
	}
	if ok, err := fileio.Exists(ctx, fio, p); ok || err != nil {
		t.Errorf("Exists = %v, %v", ok, err)
	}
	if err := fio.Delete(ctx, p); err != nil {
		t.Errorf("Delete of a missing file = %v", err)
	}
	if l, err := fio.List(ctx, fileio.Join(root, "missing")); len(l) != 0 || err != nil {
		t.Errorf("List of a missing dir = %v, %v", l, err)
	}
}

func testStatDirectory(t *testing.T, fio fileio.FileIO, root string) {
	mustWrite(t, fio, fileio.Join(root, "d", "f"), []byte("x"))
	wantNotExist(t, fio, fileio.Join(root, "d"))
	if _, err := fio.Open(t.Context(), fileio.Join(root, "d")); !errors.Is(err, fileio.ErrNotExist) {
		t.Errorf("Open(dir) = %v, want ErrNotExist", err)
	}
}

func testList(t *testing.T, fio fileio.FileIO, root string) {
	ctx := t.Context()
	files := map[string]int{
		"b":                   2,
		"a":                   1,
		"a-b":                 3,
		"dir/c":               4,
		"dir/sub/d":           5,
		"dir/sub/deeper/e":    6,
		"snapshot/snapshot-1": 7,
		"snapshot/snapshot-2": 8,
		"snapshot/LATEST":     9,
	}
	for name, size := range files {
		mustWrite(t, fio, fileio.Join(root, name), random(uint64(size), size))
	}
	type entry struct {
		name  string
		size  int64
		isDir bool
	}
	tests := []struct {
		dir  string
		want []entry
	}{
		{root, []entry{{"a", 1, false}, {"a-b", 3, false}, {"b", 2, false}, {"dir", 0, true}, {"snapshot", 0, true}}},
		{root + "/", []entry{{"a", 1, false}, {"a-b", 3, false}, {"b", 2, false}, {"dir", 0, true}, {"snapshot", 0, true}}},
		{fileio.Join(root, "dir"), []entry{{"c", 4, false}, {"sub", 0, true}}},
		{fileio.Join(root, "dir", "sub"), []entry{{"d", 5, false}, {"deeper", 0, true}}},
		{fileio.Join(root, "snapshot"), []entry{{"LATEST", 9, false}, {"snapshot-1", 7, false}, {"snapshot-2", 8, false}}},
		{fileio.Join(root, "a"), nil}, // a file has no children
		{fileio.Join(root, "nope"), nil},
	}
	for _, tt := range tests {
		got, err := fio.List(ctx, tt.dir)
		if err != nil {
			t.Errorf("List(%s): %v", tt.dir, err)
			continue
		}
		var names []entry
		for _, fi := range got {
			names = append(names, entry{fi.Name(), fi.Size, fi.IsDir})
			if want := fileio.Join(tt.dir, fi.Name()); fi.Path != want {
				t.Errorf("List(%s): Path %q, want %q", tt.dir, fi.Path, want)
			}
			if !fi.IsDir && fi.ModTime.IsZero() {
				t.Errorf("List(%s): %s has no ModTime", tt.dir, fi.Name())
			}
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("List(%s) = %v, want %v", tt.dir, names, tt.want)
		}
	}
}

func testDelete(t *testing.T, fio fileio.FileIO, root string) {
	ctx := t.Context()
	p, q := fileio.Join(root, "x", "del"), fileio.Join(root, "x", "keep")
	mustWrite(t, fio, p, []byte("1"))
	mustWrite(t, fio, q, []byte("2"))
	if err := fio.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	wantNotExist(t, fio, p)
	wantContent(t, fio, q, []byte("2"))
	if err := fio.Delete(ctx, p); err != nil {
		t.Errorf("second Delete = %v", err)
	}
	// A deleted path can be created again, also with CreateIfAbsent.
	if err := fio.CreateIfAbsent(ctx, p, []byte("3")); err != nil {
		t.Fatal(err)
	}
	wantContent(t, fio, p, []byte("3"))
}

func testRemoveAll(t *testing.T, fio fileio.FileIO, root string) {
	ctx := t.Context()
	for _, name := range []string{"t/a", "t/b/c", "t/b/d/e", "other"} {
		mustWrite(t, fio, fileio.Join(root, name), []byte(name))
	}
	if err := fileio.RemoveAll(ctx, fio, fileio.Join(root, "t")); err != nil {
		t.Fatal(err)
	}
	entries, err := fio.List(ctx, root)
	if err != nil || len(entries) != 1 || entries[0].Name() != "other" {
		t.Errorf("List after RemoveAll = %v, %v; want only other", entries, err)
	}
	if err := fileio.RemoveAll(ctx, fio, fileio.Join(root, "t")); err != nil {
		t.Errorf("RemoveAll of a missing dir = %v", err)
	}
}

func testCreateIfAbsent(t *testing.T, fio fileio.FileIO, root string) {
	ctx := t.Context()
	p := fileio.Join(root, "snapshot", "snapshot-1")
	if err := fio.CreateIfAbsent(ctx, p, []byte("first")); err != nil {
		t.Fatalf("first CreateIfAbsent: %v", err)
	}
	for _, data := range []string{"second", "first"} {
		err := fio.CreateIfAbsent(ctx, p, []byte(data))
		if !errors.Is(err, fileio.ErrExist) {
			t.Fatalf("CreateIfAbsent(%q) over an existing file = %v, want ErrExist", data, err)
		}
		if errors.Is(err, fileio.ErrNotExist) {
			t.Fatalf("error %v is also ErrNotExist", err)
		}
	}
	wantContent(t, fio, p, []byte("first"))
	// Over a file written with WriteFile, too.
	q := fileio.Join(root, "snapshot", "LATEST")
	mustWrite(t, fio, q, []byte("1"))
	if err := fio.CreateIfAbsent(ctx, q, []byte("2")); !errors.Is(err, fileio.ErrExist) {
		t.Fatalf("CreateIfAbsent over WriteFile = %v, want ErrExist", err)
	}
	if entries, _ := fio.List(ctx, fileio.Join(root, "snapshot")); len(entries) != 2 {
		t.Errorf("List = %v, want LATEST and snapshot-1 only", entries)
	}
}

func testCreateIfAbsentRace(t *testing.T, fio fileio.FileIO, root string) {
	const writers, rounds = 16, 3
	ctx := t.Context()
	for round := range rounds {
		p := fileio.Join(root, "snapshot", fmt.Sprintf("snapshot-%d", round))
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []int
			start   = make(chan struct{})
		)
		for w := range writers {
			wg.Go(func() {
				data := []byte(fmt.Sprintf("writer %d of round %d", w, round))
				<-start
				err := fio.CreateIfAbsent(ctx, p, data)
				switch {
				case err == nil:
					mu.Lock()
					winners = append(winners, w)
					mu.Unlock()
				case !errors.Is(err, fileio.ErrExist):
					t.Errorf("writer %d: %v", w, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: winners %v, want exactly one", round, winners)
		}
		wantContent(t, fio, p, []byte(fmt.Sprintf("writer %d of round %d", winners[0], round)))
	}
}

func testLargeFile(t *testing.T, fio fileio.FileIO, root string) {
	ctx := t.Context()
	const size = 20<<20 + 12345 // over one 16 MiB S3 part
	data := random(42, size)
	p := fileio.Join(root, "large", "data-0.parquet")
	w, err := fio.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1<<20+7)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantContent(t, fio, p, data)

	f, err := fio.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Size() != size {
		t.Fatalf("Size = %d, want %d", f.Size(), size)
	}
	for _, off := range []int64{0, 16<<20 - 3, size - 100_000} {
		buf := make([]byte, 100_000)
		if _, err := f.ReadAt(buf, off); err != nil || !bytes.Equal(buf, data[off:off+100_000]) {
			t.Errorf("ReadAt(%d): %v or wrong bytes", off, err)
		}
	}
	var got bytes.Buffer
	if _, err := io.Copy(&got, f); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Errorf("sequential read = %d bytes, %v", got.Len(), err)
	}

	// A large CreateIfAbsent and WriteFile, too.
	q := fileio.Join(root, "large", "cia")
	if err := fio.CreateIfAbsent(ctx, q, data); err != nil {
		t.Fatal(err)
	}
	wantContent(t, fio, q, data)
	mustWrite(t, fio, q, data[:size/2])
	wantContent(t, fio, q, data[:size/2])
}

func testNestedPaths(t *testing.T, fio fileio.FileIO, root string) {
	ctx := t.Context()
	p := fileio.Join(root, "db.db", "t", "dt=2024-01-01", "bucket-0", "data-1.parquet")
	mustWrite(t, fio, p, []byte("nested"))
	wantContent(t, fio, p, []byte("nested"))
	if err := fio.CreateIfAbsent(ctx, fileio.Join(root, "new", "deep", "dir", "f"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	dir := fileio.Join(root, "db.db", "t", "dt=2024-01-01")
	entries, err := fio.List(ctx, dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "bucket-0" || !entries[0].IsDir {
		t.Errorf("List(%s) = %v, %v", dir, entries, err)
	}
	// Paimon escapes partition values into names with a literal '%'.
	q := fileio.Join(root, "db.db", "t", "dt=a%3Ab c", "bucket-0", "data-2.parquet")
	mustWrite(t, fio, q, []byte("escaped"))
	wantContent(t, fio, q, []byte("escaped"))
	entries, err = fio.List(ctx, fileio.Join(root, "db.db", "t"))
	if err != nil || len(entries) != 2 || entries[1].Name() != "dt=a%3Ab c" {
		t.Errorf("List = %v, %v; want dt=2024-01-01 and dt=a%%3Ab c", entries, err)
	}
	// A doubled slash names the same file.
	doubled := root + "//db.db/t//dt=2024-01-01/bucket-0/data-1.parquet"
	wantContent(t, fio, doubled, []byte("nested"))
}
