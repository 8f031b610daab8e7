package compat_test

import (
	"flag"
	"os"
	"path/filepath"
)

func flagBool(name, usage string) *bool { return flag.Bool(name, false, usage) }

func flagParse() {
	if !flag.Parsed() {
		flag.Parse()
	}
}

func cacheDirNoT() string {
	d := os.Getenv("XDG_CACHE_HOME")
	if d == "" {
		home, _ := os.UserHomeDir()
		d = filepath.Join(home, ".cache")
	}
	d = filepath.Join(d, "tarn", "compat")
	_ = os.MkdirAll(d, 0o755)
	return d
}
