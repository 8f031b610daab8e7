package table

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tarnlake/tarn/format"
	"github.com/tarnlake/tarn/format/datafile"
	"github.com/tarnlake/tarn/format/types"
)

// StatsOptions are the options that choose the statistics a data file's metadata keeps
// (CoreOptions: metadata.stats-mode, metadata.stats-mode.per.level,
// changelog-file.stats-mode, fields.NAME.stats-mode, metadata.stats-keep-first-n-columns,
// metadata.stats-dense-store). Values that do not parse fall back to the defaults
// (ValidateStatsOptions reports them).
type StatsOptions struct {
	Mode       datafile.StatsMode         // metadata.stats-mode (default truncate(16))
	PerLevel   map[int]datafile.StatsMode // primary-key tables' files of some levels
	Changelog  *datafile.StatsMode        // changelog files (nil: the level's mode)
	Fields     map[string]datafile.StatsMode
	KeepFirstN int  // -1: every column
	Dense      bool // leave columns without statistics out of the value statistics
}

const statsModeSuffix = ".stats-mode"

// parseStatsOptions reads the statistics options; a value that does not parse keeps the
// default, and the first such value is the error.
func parseStatsOptions(o format.Options) (StatsOptions, error) {
	s := StatsOptions{KeepFirstN: -1, Dense: true}
	var first error
	fail := func(err error) {
		if first == nil {
			first = err
		}
	}
	mode := func(k string) (datafile.StatsMode, bool) {
		v, ok := o.Get(k)
		if !ok {
			return datafile.StatsMode{}, false
		}
		m, err := datafile.ParseStatsMode(v)
		if err != nil {
			fail(fmt.Errorf("option %s: %w", k, err))
		}
		return m, err == nil
	}
	if m, ok := mode("metadata.stats-mode"); ok {
		s.Mode = m
	}
	if m, ok := mode("changelog-file.stats-mode"); ok {
		s.Changelog = &m
	}
	for _, k := range o.Keys() {
		if name, ok := fieldStatsKey(k); ok {
			if m, ok := mode(k); ok {
				if s.Fields == nil {
					s.Fields = map[string]datafile.StatsMode{}
				}
				s.Fields[name] = m
			}
		}
	}
	if v, ok := o.Get("metadata.stats-mode.per.level"); ok {
		levels, err := ParseLevelMap(v)
		if err != nil {
			fail(fmt.Errorf("option metadata.stats-mode.per.level: %w", err))
		}
		for l, v := range levels {
			m, err := datafile.ParseStatsMode(v)
			if err != nil {
				fail(fmt.Errorf("option metadata.stats-mode.per.level, level %d: %w", l, err))
				continue
			}
			if s.PerLevel == nil {
				s.PerLevel = map[int]datafile.StatsMode{}
			}
			s.PerLevel[l] = m
		}
	}
	if v, ok := o.Get("metadata.stats-keep-first-n-columns"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			s.KeepFirstN = n
		} else {
			fail(fmt.Errorf("option metadata.stats-keep-first-n-columns = %q: want an integer (-1: every column)", v))
		}
	}
	if v, ok := o.Get("metadata.stats-dense-store"); ok {
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			s.Dense = b
		} else {
			fail(fmt.Errorf("option metadata.stats-dense-store = %q: want true or false", v))
		}
	}
	return s, first
}

// fieldStatsKey returns NAME of an option fields.NAME.stats-mode.
func fieldStatsKey(k string) (string, bool) {
	if !strings.HasPrefix(k, "fields.") || !strings.HasSuffix(k, statsModeSuffix) {
		return "", false
	}
	name := k[len("fields.") : len(k)-len(statsModeSuffix)]
	return name, name != ""
}

// ValidateStatsOptions checks the statistics options' values.
func ValidateStatsOptions(o format.Options) error {
	_, err := parseStatsOptions(o)
	return err
}

// fileModes returns the statistics mode of every column a data file is written with
// (fields: the file's columns, for primary-key tables the key-value layout, or without
// its key columns in thin mode, where thinKeys names the value columns of the key),
// following StatsCollectorFactories: a column's own fields.NAME.stats-mode first; then,
// except in Avro files, the key and system columns (and in thin mode the key's value
// columns) truncate(128); then none once metadata.stats-keep-first-n-columns columns were
// counted; then the mode of the file: the changelog's, the level's (primary-key tables
// only) or the table's.
func (s StatsOptions) fileModes(fields []types.DataField, pk bool, level int, changelog bool, fileFormat string, thinKeys []string) []datafile.StatsMode {
	mode := s.Mode
	if pk {
		if m, ok := s.PerLevel[level]; ok {
			mode = m
		}
		if changelog && s.Changelog != nil {
			mode = *s.Changelog
		}
	}
	avro := strings.EqualFold(fileFormat, datafile.FormatAvro)
	out := make([]datafile.StatsMode, len(fields))
	counted := 0
	for i, f := range fields {
		if m, ok := s.Fields[f.Name]; ok {
			out[i] = m
			counted++
			continue
		}
		if !avro && (isSystemField(f.Name) || slices.Contains(thinKeys, f.Name)) {
			out[i] = datafile.StatsMode{Kind: datafile.StatsTruncate, Length: 128}
			continue
		}
		if s.KeepFirstN >= 0 && counted >= s.KeepFirstN {
			out[i] = datafile.StatsMode{Kind: datafile.StatsNone}
		} else {
			out[i] = mode
		}
		counted++
	}
	return out
}

// isSystemField is SpecialFields.isSystemField by name: key columns and the names of
// Paimon's system fields (a value column may be called rowkind).
func isSystemField(name string) bool {
	switch name {
	case datafile.SequenceNumber, datafile.ValueKind, "_LEVEL", "rowkind", "_ROW_ID":
		return true
	}
	return strings.HasPrefix(name, datafile.KeyFieldPrefix)
}
