//go:build !linux

package testenv

import "syscall"

// sysProcAttr has no parent-death signal outside Linux: a server outlives a
// test binary that dies without running its cleanups.
func sysProcAttr() *syscall.SysProcAttr { return nil }
