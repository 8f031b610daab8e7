package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tarnlake/tarn/table"
)

func init() {
	register("expire", "expire old snapshots and delete the files only they referenced", cmdExpire)
	register("tag", "create, delete and list tags (and run automatic tagging)", cmdTag)
	register("rollback", "roll a table back to a snapshot or tag", cmdRollback)
	register("clean-orphans", "delete files nothing references, older than a safety age", cmdCleanOrphans)
	register("consumer", "list or delete the consumers that hold snapshots back", cmdConsumer)
}

// durationFlag parses Go ("24h", "90m") and Paimon ("1 d", "30 min") durations.
type durationFlag struct{ d time.Duration }

func (f *durationFlag) String() string {
	if f.d == 0 {
		return ""
	}
	return f.d.String()
}

func (f *durationFlag) Set(s string) error {
	d, err := table.ParseDuration(s)
	if err != nil {
		return err
	}
	if d <= 0 {
		return fmt.Errorf("duration %q must be positive", s)
	}
	f.d = d
	return nil
}

func printDeleted(w io.Writer, d table.Deleted, dryRun, verbose bool) {
	verb := "deleted"
	if dryRun {
		verb = "would delete"
	}
	fmt.Fprintf(w, "%s %d files, %s (%d bytes)\n", verb, d.Files(), humanBytes(d.Bytes), d.Bytes)
	if verbose {
		for _, p := range d.Paths {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
}

func idRange(ids []int64) string {
	switch len(ids) {
	case 0:
		return ""
	case 1:
		return strconv.FormatInt(ids[0], 10)
	}
	return fmt.Sprintf("%d..%d", ids[0], ids[len(ids)-1])
}

func cmdExpire(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("expire", "TABLE [flags]", stderr)
	tf := addTableFlags(fs)
	retainMin := fs.Int("retain-min", 0, "keep at least this many snapshots (default: snapshot.num-retained.min, else 10)")
	retainMax := fs.Int("retain-max", 0, "keep at most this many snapshots (default: snapshot.num-retained.max, else no limit)")
	var olderThan durationFlag
	fs.Var(&olderThan, "older-than", "expire snapshots older than this, e.g. 24h or '1 d' (default: snapshot.time-retained, else 1h)")
	limit := fs.Int("limit", 0, "expire at most this many snapshots (default: snapshot.expire.limit, else 50)")
	dryRun := fs.Bool("dry-run", false, "show what would be deleted, delete nothing")
	verbose := fs.Bool("verbose", false, "list the files")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *retainMin < 0 || *retainMax < 0 || *limit < 0 {
		return usagef("--retain-min, --retain-max and --limit must not be negative")
	}
	t, err := tf.open(ctx, pos)
	if err != nil {
		return err
	}
	// Partitions first (partition.expiration-time), as Paimon's writers expire them at a
	// commit; their OVERWRITE snapshot then ages like any other.
	pr, err := t.ExpirePartitions(ctx, time.Now(), *dryRun)
	if err != nil {
		return err
	}
	if names := pr.Names(); len(names) > 0 {
		if *dryRun {
			fmt.Fprintf(stdout, "would drop %d expired partitions: %s\n", len(names), strings.Join(names, ", "))
		} else {
			fmt.Fprintf(stdout, "dropped %d expired partitions (snapshot %d): %s\n", len(names), pr.SnapshotID, strings.Join(names, ", "))
		}
	}
	for _, p := range pr.Skipped {
		fmt.Fprintf(stderr, "partition %s is not dated by its values: left alone (drop it by hand, or set partition.expiration-strategy update-time)\n", p)
	}
	res, err := t.ExpireSnapshots(ctx, table.ExpireOptions{
		RetainMin: *retainMin, RetainMax: *retainMax, TimeRetained: olderThan.d, Limit: *limit, DryRun: *dryRun,
	})
	if res != nil {
		if len(res.ExpiredConsumers) > 0 {
			verb := "expired"
			if *dryRun {
				verb = "would expire"
			}
			fmt.Fprintf(stdout, "%s consumers: %s\n", verb, strings.Join(res.ExpiredConsumers, ", "))
		}
		switch {
		case len(res.Expired) == 0:
			fmt.Fprintf(stdout, "no snapshot to expire")
			if res.EarliestRetained > 0 {
				fmt.Fprintf(stdout, " (earliest snapshot: %d)", res.EarliestRetained)
			}
			fmt.Fprintln(stdout)
		case *dryRun:
			fmt.Fprintf(stdout, "would expire %d snapshots (%s); earliest kept: %d\n", len(res.Expired), idRange(res.Expired), res.EarliestRetained)
		default:
			fmt.Fprintf(stdout, "expired %d snapshots (%s); earliest kept: %d\n", len(res.Expired), idRange(res.Expired), res.EarliestRetained)
		}
		kept, expired := "kept", "expired"
		if *dryRun {
			kept, expired = "would keep", "would expire"
		}
		if len(res.Changelogs) > 0 {
			fmt.Fprintf(stdout, "%s %d expired snapshots as long-lived changelogs (%s): the changelog's retention is longer\n", kept, len(res.Changelogs), idRange(res.Changelogs))
		}
		if len(res.ExpiredChangelogs) > 0 {
			fmt.Fprintf(stdout, "%s %d long-lived changelogs (%s)\n", expired, len(res.ExpiredChangelogs), idRange(res.ExpiredChangelogs))
		}
		if len(res.Expired) > 0 || res.Deleted.Files() > 0 {
			printDeleted(stdout, res.Deleted, *dryRun, *verbose)
		}
	}
	return err
}

func cmdTag(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tag", "TABLE create NAME [--snapshot N] [--time-retained D] | delete NAME | list | auto", stderr)
	tf := addTableFlags(fs)
	snapshot := fs.Int64("snapshot", 0, "create: the snapshot to tag (default: latest)")
	var retained durationFlag
	fs.Var(&retained, "time-retained", "create: delete the tag automatically after this long (default: tag.default-time-retained)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("expected TABLE and one of: create NAME, delete NAME, list, auto")
	}
	sub, rest := pos[1], pos[2:]
	want := map[string]int{"create": 1, "delete": 1, "list": 0, "auto": 0}
	n, ok := want[sub]
	if !ok {
		return usagef("unknown tag command %q: use create, delete, list or auto", sub)
	}
	if len(rest) != n {
		return usagef("tag %s takes %d argument(s), got %d", sub, n, len(rest))
	}
	if sub != "create" && (*snapshot != 0 || retained.d != 0) {
		return usagef("--snapshot and --time-retained apply to tag create only")
	}
	t, err := tf.open(ctx, pos[:1])
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		ti, err := t.CreateTag(ctx, rest[0], *snapshot, retained.d)
		if err != nil {
			return explainMissing(ctx, t, err)
		}
		fmt.Fprintf(stdout, "created tag %s on snapshot %d", ti.Name, ti.SnapshotID)
		if ti.TimeRetained > 0 {
			fmt.Fprintf(stdout, " (retained for %s)", ti.TimeRetained)
		}
		fmt.Fprintln(stdout)
	case "delete":
		d, err := t.DeleteTag(ctx, rest[0])
		if err != nil {
			return explainMissing(ctx, t, err)
		}
		fmt.Fprintf(stdout, "deleted tag %s\n", rest[0])
		printDeleted(stdout, *d, false, false)
	case "list":
		tags, err := t.ListTags(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "tag\tsnapshot\tcommitted (UTC)\tcreated\tretained")
		for _, tag := range tags {
			created, ret := "", ""
			if !tag.CreateTime.IsZero() {
				created = tag.CreateTime.Format("2006-01-02 15:04:05")
			}
			if tag.TimeRetained > 0 {
				ret = tag.TimeRetained.String()
			}
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", tag.Name, tag.SnapshotID,
				time.UnixMilli(tag.Snapshot.TimeMillis).UTC().Format("2006-01-02 15:04:05.000"), created, ret)
		}
		return w.Flush()
	case "auto":
		res, err := t.AutoTag(ctx, time.Now())
		if res != nil {
			fmt.Fprintf(stdout, "created tags: %s\n", orNone(res.Created))
			fmt.Fprintf(stdout, "deleted tags: %s\n", orNone(res.DeletedTags))
			if res.Deleted.Files() > 0 {
				printDeleted(stdout, res.Deleted, false, false)
			}
		}
		return err
	}
	return nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func cmdRollback(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rollback", "TABLE --to-snapshot N | --to-tag T", stderr)
	tf := addTableFlags(fs)
	toSnapshot := fs.Int64("to-snapshot", 0, "make this snapshot the latest")
	toTag := fs.String("to-tag", "", "make this tag's snapshot the latest")
	verbose := fs.Bool("verbose", false, "list the deleted files")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if (*toSnapshot > 0) == (*toTag != "") {
		return usagef("give exactly one of --to-snapshot and --to-tag")
	}
	t, err := tf.open(ctx, pos)
	if err != nil {
		return err
	}
	var res *table.RollbackResult
	if *toTag != "" {
		res, err = t.RollbackToTag(ctx, *toTag)
	} else {
		res, err = t.RollbackTo(ctx, *toSnapshot)
	}
	if res == nil {
		return explainMissing(ctx, t, err)
	}
	fmt.Fprintf(stdout, "rolled back to snapshot %d", res.Target)
	if res.Recreated {
		fmt.Fprint(stdout, " (recreated from the tag)")
	}
	fmt.Fprintln(stdout)
	for _, l := range []struct {
		what string
		ids  []int64
	}{{"snapshots", res.DeletedSnapshots}, {"long-lived changelogs", res.DeletedChangelogs}} {
		if len(l.ids) > 0 {
			ids := make([]string, len(l.ids))
			for i, id := range l.ids {
				ids[i] = strconv.FormatInt(id, 10)
			}
			fmt.Fprintf(stdout, "deleted %s: %s\n", l.what, strings.Join(ids, ", "))
		}
	}
	if len(res.DeletedTags) > 0 {
		fmt.Fprintf(stdout, "deleted tags: %s\n", strings.Join(res.DeletedTags, ", "))
	}
	printDeleted(stdout, res.Deleted, false, *verbose)
	return err
}

func cmdCleanOrphans(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("clean-orphans", "TABLE [--older-than 24h] [--dry-run]", stderr)
	tf := addTableFlags(fs)
	olderThan := durationFlag{table.DefaultOrphanAge}
	fs.Var(&olderThan, "older-than", "delete only files last modified longer ago than this (files of commits in flight are younger)")
	dryRun := fs.Bool("dry-run", false, "show what would be deleted, delete nothing")
	verbose := fs.Bool("verbose", false, "list the files")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	t, err := tf.open(ctx, pos)
	if err != nil {
		return err
	}
	res, err := t.CleanOrphans(ctx, olderThan.d, *dryRun)
	if res != nil {
		printDeleted(stdout, res.Deleted, *dryRun, *verbose)
	}
	return err
}

func cmdConsumer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("consumer", "TABLE list | delete ID", stderr)
	tf := addTableFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 2 && pos[1] == "list":
	case len(pos) == 3 && pos[1] == "delete":
	default:
		return usagef("expected TABLE list, or TABLE delete ID")
	}
	t, err := tf.open(ctx, pos[:1])
	if err != nil {
		return err
	}
	if pos[1] == "delete" {
		if err := t.DeleteConsumer(ctx, pos[2]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted consumer %s\n", pos[2])
		return nil
	}
	cs, err := t.Consumers(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "consumer\tnext snapshot\tupdated (UTC)")
	for _, c := range cs {
		fmt.Fprintf(w, "%s\t%d\t%s\n", c.ID, c.NextSnapshot, c.ModTime.UTC().Format("2006-01-02 15:04:05"))
	}
	return w.Flush()
}
