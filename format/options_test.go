package format

import "testing"

// Lookup reads an option, else its older names in Paimon's order (CoreOptions fallback
// keys), and says which key it found.
func TestOptionsLookup(t *testing.T) {
	for _, c := range []struct {
		set        map[string]string
		key, found string
	}{
		{map[string]string{"ignore-delete": "true", "first-row.ignore-delete": "false"}, "ignore-delete", "ignore-delete"},
		{map[string]string{"partial-update.ignore-delete": "true", "deduplicate.ignore-delete": "false"}, "ignore-delete", "deduplicate.ignore-delete"},
		{map[string]string{"log.scan": "latest"}, "scan.mode", "log.scan"},
		{map[string]string{"write.compaction-skip": "true"}, "write-only", "write.compaction-skip"},
		{map[string]string{"bucket": "2"}, "write-only", ""},
	} {
		found, v, ok := NewOptions(c.set).Lookup(c.key)
		if found != c.found || ok != (c.found != "") || (ok && v != c.set[found]) {
			t.Errorf("%v: Lookup(%s) = %q, %q, %v; want %q", c.set, c.key, found, v, ok, c.found)
		}
	}
	if !IsFallbackKey("first-row.ignore-delete") || IsFallbackKey("ignore-delete") {
		t.Error("IsFallbackKey: want the older names only")
	}
}
