package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Options is an ordered string map: table options as a schema file lists them. Order is kept
// so that a schema read and written again keeps its bytes.
type Options struct {
	keys []string
	vals map[string]string
}

// NewOptions builds Options from a map, keys sorted.
func NewOptions(m map[string]string) Options {
	var o Options
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o.Set(k, m[k])
	}
	return o
}

// Get returns the value of key and whether it is set.
func (o Options) Get(key string) (string, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// fallbackKeys are the older names Paimon still reads for some options, in its lookup
// order (withFallbackKeys and withDeprecatedKeys in CoreOptions).
var fallbackKeys = map[string][]string{
	"ignore-delete":                    {"first-row.ignore-delete", "deduplicate.ignore-delete", "partial-update.ignore-delete"},
	"write-only":                       {"write.compaction-skip"},
	"scan.mode":                        {"log.scan"},
	"scan.timestamp-millis":            {"log.scan.timestamp-millis"},
	"lookup-wait":                      {"changelog-producer.lookup-wait"},
	"snapshot.clean-empty-directories": {"snapshot.expire.clean-empty-directories"},
	"file-operation.thread-num":        {"delete-file.thread-num"},
	"clustering.columns":               {"sink.clustering.by-columns"},
	"clustering.strategy":              {"sink.clustering.strategy"},
	"blob-descriptor-field":            {"blob.stored-descriptor-fields"},
}

// Lookup returns the value of key, or else of the first of its older names that is set,
// as Paimon reads options with fallback keys; found is the key that was set.
func (o Options) Lookup(key string) (found, value string, ok bool) {
	for _, k := range append([]string{key}, fallbackKeys[key]...) {
		if v, ok := o.vals[k]; ok {
			return k, v, true
		}
	}
	return "", "", false
}

// IsFallbackKey reports whether key is an older name Paimon still reads for an option.
func IsFallbackKey(key string) bool {
	for _, ks := range fallbackKeys {
		for _, k := range ks {
			if k == key {
				return true
			}
		}
	}
	return false
}

// Set sets key to value, keeping the position of an existing key.
func (o *Options) Set(key, value string) {
	if o.vals == nil {
		o.vals = map[string]string{}
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = value
}

// Delete removes key.
func (o *Options) Delete(key string) {
	if _, ok := o.vals[key]; !ok {
		return
	}
	delete(o.vals, key)
	for i, k := range o.keys {
		if k == key {
			o.keys = append(o.keys[:i:i], o.keys[i+1:]...)
			break
		}
	}
}

// Keys returns the keys in order.
func (o Options) Keys() []string { return append([]string(nil), o.keys...) }

// Len is the number of options.
func (o Options) Len() int { return len(o.keys) }

// Map returns a copy as a plain map.
func (o Options) Map() map[string]string {
	m := make(map[string]string, len(o.keys))
	for k, v := range o.vals {
		m[k] = v
	}
	return m
}

// Clone returns a deep copy.
func (o Options) Clone() Options {
	var c Options
	for _, k := range o.keys {
		c.Set(k, o.vals[k])
	}
	return c
}

// UnmarshalJSON reads a JSON object of strings, keeping key order. Non-string values are
// taken as their JSON text, as Jackson's asText does for numbers and booleans.
func (o *Options) UnmarshalJSON(data []byte) error {
	*o = Options{}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("options: expected an object")
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := kt.(string)
		if !ok {
			return fmt.Errorf("options: bad key %v", kt)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("options: value of %q: %w", key, err)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			s = string(bytes.TrimSpace(raw))
		}
		o.Set(key, s)
	}
	_, err = dec.Token()
	return err
}
