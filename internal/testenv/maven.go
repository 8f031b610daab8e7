package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FlightSQLJDBCDriver is Apache Arrow's Flight SQL JDBC driver (Maven Central), the
// driver JDBC users connect to Tarn's Flight SQL service with.
const FlightSQLJDBCDriver = "org.apache.arrow:flight-sql-jdbc-driver:18.3.0"

// InstallFlightSQLJDBC fetches the Flight SQL JDBC driver jar and returns its path.
func InstallFlightSQLJDBC(ctx context.Context) (string, error) {
	return MavenJar(ctx, FlightSQLJDBCDriver)
}

// MavenJar returns the path of an artifact ("group:artifact:version", a jar) in the local
// Maven repository, fetching it from Maven Central with `mvn dependency:get` on first use,
// once across processes.
func MavenJar(ctx context.Context, coords string) (string, error) {
	parts := strings.Split(coords, ":")
	if len(parts) != 3 {
		return "", fmt.Errorf("testenv: bad Maven coordinates %q (want group:artifact:version)", coords)
	}
	group, artifact, version := parts[0], parts[1], parts[2]
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	elems := append([]string{home, ".m2", "repository"}, strings.Split(group, ".")...)
	jar := filepath.Join(append(elems, artifact, version, artifact+"-"+version+".jar")...)
	if _, err := os.Stat(jar); err == nil {
		return jar, nil
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, filepath.Join(cache, ".maven-"+artifact+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(jar); err == nil {
		return jar, nil
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return "", fmt.Errorf("testenv: fetching %s needs Maven (mvn): %w", coords, err)
	}
	slog.Info("testenv: fetching from Maven Central", "artifact", coords)
	cmd := exec.CommandContext(ctx, mvn, "-q", "-B", "-ntp", "dependency:get", "-Dtransitive=false", "-Dartifact="+coords)
	cmd.SysProcAttr = sysProcAttr()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testenv: mvn dependency:get %s: %w\n%s", coords, err, tail(out, 4096))
	}
	if _, err := os.Stat(jar); err != nil {
		return "", fmt.Errorf("testenv: mvn fetched %s but %s is missing: %w", coords, jar, err)
	}
	return jar, nil
}

// Jar is MavenJar for a test: it fails the test when the artifact cannot be fetched.
func Jar(t testing.TB, coords string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	jar, err := MavenJar(ctx, coords)
	if err != nil {
		t.Fatal(err)
	}
	return jar
}
