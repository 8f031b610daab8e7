package compat_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The compatibility suite runs Apache Paimon's own Java library (compat/oracle) and
// pypaimon against Tarn. Paimon versions: the newest release on Maven Central with
// complete artifacts, and 1.0.1 (the release StarRocks' Paimon reader bundles).
var (
	seed         = flag.Int("compat.seed", 1, "seed of the generated reference tables")
	seed2        = flag.Int("compat.seed2", 7, "a second seed whose reference tables Tarn reads too (0: none)")
	paimonLatest = "1.4.2"
	paimonOld    = "1.0.1"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

func cacheDir(t testing.TB) string {
	d := os.Getenv("XDG_CACHE_HOME")
	if d == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		d = filepath.Join(home, ".cache")
	}
	d = filepath.Join(d, "tarn", "compat")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// oracle runs compat/oracle with a Paimon version and returns stdout; stderr is in the error.
func oracle(ctx context.Context, version string, args ...string) ([]byte, error) {
	return oracleEnv(ctx, nil, version, args...)
}

// oracleEnv runs compat/oracle with extra environment variables (KEY=VALUE), such as the
// S3 endpoint and credentials for s3:// locations.
func oracleEnv(ctx context.Context, env []string, version string, args ...string) ([]byte, error) {
	out, _, err := runOracle(ctx, oracleCall{version: version, args: args, env: env})
	return out, err
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

var (
	genOnce sync.Map // "version/seed" -> *genResult
)

type genResult struct {
	once sync.Once
	dir  string
	err  error
}

// compatSeeds are the seeds whose reference tables Tarn reads: -compat.seed (the README
// matrix records its results) and -compat.seed2.
func compatSeeds() []int {
	if *seed2 == 0 || *seed2 == *seed {
		return []int{*seed}
	}
	return []int{*seed, *seed2}
}

// generated returns a warehouse of reference tables written by Paimon version for the
// seed, generating it once and caching it by the oracle jar (its sources) and seed.
func generated(t *testing.T, version string) string {
	t.Helper()
	return generatedSeed(t, version, *seed)
}

// generatedSeed is generated for another seed.
func generatedSeed(t *testing.T, version string, seed int) string {
	t.Helper()
	v, _ := genOnce.LoadOrStore(fmt.Sprintf("%s/%d", version, seed), &genResult{})
	g := v.(*genResult)
	g.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		jar, err := oracle(ctx, version, "--jar-path")
		if err != nil {
			g.err = err
			return
		}
		key := strings.TrimSuffix(filepath.Base(strings.TrimSpace(string(jar))), ".jar")
		dir := filepath.Join(cacheDir(t), fmt.Sprintf("gen-%s-seed%d", key, seed))
		if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
			g.dir = dir
			return
		}
		tmp := dir + ".tmp"
		os.RemoveAll(tmp)
		if _, err := oracle(ctx, version, "generate", tmp, "--seed", fmt.Sprint(seed)); err != nil {
			g.err = err
			return
		}
		os.RemoveAll(dir)
		if err := os.Rename(tmp, dir); err != nil {
			g.err = err
			return
		}
		g.dir = dir
	})
	if g.err != nil {
		t.Fatal(g.err)
	}
	return g.dir
}

// refTable is one entry of a generated warehouse's manifest.json.
type refTable struct {
	Name              string            `json:"name"`
	Path              string            `json:"path"`
	Expected          string            `json:"expected"`
	Kind              string            `json:"kind"`
	PrimaryKeys       []string          `json:"primary_keys"`
	PartitionKeys     []string          `json:"partition_keys"`
	Bucket            int               `json:"bucket"`
	MergeEngine       string            `json:"merge_engine"`
	ChangelogProducer string            `json:"changelog_producer"`
	FileFormat        string            `json:"file_format"`
	Features          []string          `json:"features"`
	Description       string            `json:"description"`
	Snapshots         []int64           `json:"snapshots"`
	Tags              []string          `json:"tags"`
	Files             []string          `json:"files"`
	Options           map[string]string `json:"options"`
}

func loadManifest(t *testing.T, dir string) []refTable {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Tables []refTable `json:"tables"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m.Tables
}

// requireOracle starts every test of the suite: it runs in parallel with the others (each
// mostly waits on one single-threaded JVM at a time, so two at once use both cores), and
// needs java and mvn.
func requireOracle(t *testing.T) {
	t.Helper()
	t.Parallel()
	if testing.Short() {
		t.Skip("the compatibility suite runs Apache Paimon's Java library; skipped in -short mode")
	}
	for _, tool := range []string{"java", "mvn"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run Apache Paimon's library (the oracle): %v", tool, err)
		}
	}
}
