package manifest

import (
	"testing"
	"time"
)

// Paimon writes a file's creation time as the writer's local wall-clock time read as UTC
// (DataFileMeta: Timestamp.fromLocalDateTime(LocalDateTime.now())) and reads it back in
// the reader's time zone (creationTimeEpochMillis).
func TestCreationTimeIsLocalWallClock(t *testing.T) {
	saved := time.Local
	defer func() { time.Local = saved }()
	time.Local = time.FixedZone("UTC+8", 8*3600)
	now := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.Local)
	ms := LocalMillis(now)
	if want := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC).UnixMilli(); ms != want {
		t.Fatalf("LocalMillis = %d, want the wall clock read as UTC, %d", ms, want)
	}
	m := DataFileMeta{CreationTime: &ms}
	got, ok := m.CreatedAt()
	if !ok || !got.Equal(now) {
		t.Fatalf("CreatedAt = %v, %v; want %v", got, ok, now)
	}
	if _, ok := (&DataFileMeta{}).CreatedAt(); ok {
		t.Fatal("CreatedAt of a file without a creation time")
	}
}
