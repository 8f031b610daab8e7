package manifest

import "fmt"

// EntryMerger folds manifest entries, given in commit order, into the set of
// entries that still matter, exactly as Paimon's FileEntry.mergeEntries does:
//
//   - an ADD records its file; adding a file whose identifier is already
//     recorded (added, or deleted by an entry not yet cancelled) is an error,
//     as Paimon fails the same state check;
//   - a DELETE of a recorded identifier cancels it: the ADD and the DELETE
//     both disappear, since a file is added once and deleted once;
//   - a DELETE of an identifier not recorded is kept: the ADD it cancels lives
//     in an earlier manifest not part of this merge. (As in Paimon, a second
//     DELETE of such an identifier then cancels the first.)
//
// Entries keep the order in which their identifiers were first recorded
// (Paimon's LinkedHashMap). Identity is Identifier: partition, bucket, level,
// file name, extra files, embedded index and external path.
type EntryMerger struct {
	index   map[Identifier]int // identifier → position in entries
	entries []ManifestEntry
	live    []bool
	n       int // live entries
}

// NewEntryMerger returns an empty merger.
func NewEntryMerger() *EntryMerger {
	return &EntryMerger{index: make(map[Identifier]int)}
}

// Add folds one entry into the merger.
func (m *EntryMerger) Add(e ManifestEntry) error {
	if m.index == nil {
		m.index = make(map[Identifier]int)
	}
	id := e.Identifier()
	i, seen := m.index[id]
	switch e.Kind {
	case FileKindAdd:
		if seen {
			return fmt.Errorf("manifest: merge: adding file %s (partition %x, bucket %d, level %d) which is already %s",
				e.File.FileName, e.Partition, e.Bucket, e.File.Level, m.entries[i].Kind)
		}
	case FileKindDelete:
		if seen {
			delete(m.index, id)
			m.live[i] = false
			m.entries[i] = ManifestEntry{}
			m.n--
			m.compact()
			return nil
		}
	default:
		return fmt.Errorf("manifest: merge: unknown file kind %d", e.Kind)
	}
	m.index[id] = len(m.entries)
	m.entries = append(m.entries, e)
	m.live = append(m.live, true)
	m.n++
	return nil
}

// compact drops cancelled entries once they outnumber the live ones.
func (m *EntryMerger) compact() {
	if len(m.entries) < 64 || len(m.entries) < 2*m.n {
		return
	}
	j := 0
	for i, e := range m.entries {
		if !m.live[i] {
			continue
		}
		m.entries[j] = e
		m.live[j] = true
		m.index[e.Identifier()] = j
		j++
	}
	clear(m.entries[j:])
	m.entries = m.entries[:j]
	m.live = m.live[:j]
}

// Len returns the number of entries the merger holds.
func (m *EntryMerger) Len() int { return m.n }

// Entries returns the merged entries in order.
func (m *EntryMerger) Entries() []ManifestEntry {
	out := make([]ManifestEntry, 0, m.n)
	for i, e := range m.entries {
		if m.live[i] {
			out = append(out, e)
		}
	}
	return out
}

// MergeEntries merges entries given in commit order; see EntryMerger for the
// rules. The result holds the ADDs of files still live and the DELETEs whose
// ADD was not among the entries.
func MergeEntries(entries []ManifestEntry) ([]ManifestEntry, error) {
	m := EntryMerger{index: make(map[Identifier]int, len(entries))}
	for _, e := range entries {
		if err := m.Add(e); err != nil {
			return nil, err
		}
	}
	return m.Entries(), nil
}
