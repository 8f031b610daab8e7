package org.tarnlake.oracle;

import org.apache.paimon.data.BinaryRow;
import org.apache.paimon.data.GenericRow;
import org.apache.paimon.data.InternalRow;
import org.apache.paimon.index.BucketAssigner;
import org.apache.paimon.reader.RecordReader;
import org.apache.paimon.table.BucketMode;
import org.apache.paimon.table.FileStoreTable;
import org.apache.paimon.table.sink.BatchTableCommit;
import org.apache.paimon.table.sink.BatchTableWrite;
import org.apache.paimon.table.sink.BatchWriteBuilder;
import org.apache.paimon.table.sink.CommitMessage;
import org.apache.paimon.table.sink.DynamicBucketRowKeyExtractor;
import org.apache.paimon.table.source.DataSplit;
import org.apache.paimon.table.source.ReadBuilder;
import org.apache.paimon.table.source.Split;
import org.apache.paimon.table.source.StreamTableScan;
import org.apache.paimon.table.source.TableRead;
import org.apache.paimon.table.source.TableScan;
import org.apache.paimon.types.DataField;
import org.apache.paimon.types.DataTypes;
import org.apache.paimon.types.RowType;
import org.apache.paimon.utils.JsonSerdeUtil;
import org.apache.paimon.utils.SnapshotManager;

import java.io.BufferedReader;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/** read, changes, write, compact, schema. */
public final class Ops {
    private Ops() {}

    // ---------------------------------------------------------------- read

    public static FileStoreTable timeTravel(FileStoreTable t, Long snapshot, String tag) {
        Map<String, String> o = new HashMap<>();
        if (snapshot != null) {
            SnapshotManager sm = t.snapshotManager();
            if (!sm.snapshotExists(snapshot)) {
                throw new Env.OracleException("snapshot " + snapshot + " does not exist (earliest "
                        + sm.earliestSnapshotId() + ", latest " + sm.latestSnapshotId() + ")");
            }
            o.put("scan.snapshot-id", String.valueOf(snapshot));
        }
        if (tag != null) {
            if (!t.tagManager().tagExists(tag)) {
                throw new Env.OracleException("tag " + tag + " does not exist");
            }
            o.put("scan.tag-name", tag);
        }
        return o.isEmpty() ? t : t.copy(o);
    }

    /** Batch-reads the table (already time-travelled) into sorted canonical lines. */
    public static List<Canon.Line> read(FileStoreTable t) throws Exception {
        return read(t, false);
    }

    /**
     * Batch-reads the table into sorted canonical lines; with rowIds (row tracking tables)
     * each row ends with Paimon's _ROW_ID and _SEQUENCE_NUMBER system columns
     * (SpecialFields.ROW_ID and SEQUENCE_NUMBER, by their field ids).
     */
    public static List<Canon.Line> read(FileStoreTable t, boolean rowIds) throws Exception {
        RowType type = t.rowType();
        int[] sortCols = Canon.sortColumns(type, t.primaryKeys());
        List<Canon.Line> lines = new ArrayList<>();
        ReadBuilder rb = t.newReadBuilder();
        if (rowIds) {
            List<DataField> fields = new ArrayList<>(type.getFields());
            fields.add(new DataField(Integer.MAX_VALUE - 5, "_ROW_ID", DataTypes.BIGINT()));
            fields.add(new DataField(Integer.MAX_VALUE - 1, "_SEQUENCE_NUMBER", DataTypes.BIGINT()));
            type = new RowType(fields);
            rb = rb.withReadType(type);
        }
        List<Split> splits = rb.newScan().plan().splits();
        RowType lineType = type;
        try (RecordReader<InternalRow> r = rb.newRead().createReader(splits)) {
            r.forEachRemaining(row -> lines.add(Canon.line(row, lineType, sortCols, null)));
        }
        lines.sort(Canon.FULL_ORDER);
        return lines;
    }

    // ---------------------------------------------------------------- changes

    /** One snapshot's change rows, in output order. */
    public static final class SnapshotChanges {
        public final long snapshotId;
        public final List<Canon.Line> lines;

        SnapshotChanges(long snapshotId, List<Canon.Line> lines) {
            this.snapshotId = snapshotId;
            this.lines = lines;
        }
    }

    /** The changes a streaming read gives for snapshots from+1..to, grouped by snapshot. */
    public static List<SnapshotChanges> changes(FileStoreTable t, long from, long to) throws Exception {
        SnapshotManager sm = t.snapshotManager();
        Long earliest = sm.earliestSnapshotId();
        Long latest = sm.latestSnapshotId();
        if (latest == null) {
            throw new Env.OracleException("table has no snapshot");
        }
        if (to > latest) {
            throw new Env.OracleException("--to " + to + " is after the latest snapshot " + latest);
        }
        if (from + 1 < earliest
                && !t.fileIO().exists(new org.apache.paimon.fs.Path(t.location(), "changelog/changelog-" + (from + 1)))) {
            // (A long-lived changelog of an expired snapshot is read on, as streaming reads do.)
            throw new Env.OracleException("snapshot " + (from + 1) + " has expired (earliest " + earliest + ")");
        }
        List<SnapshotChanges> out = new ArrayList<>();
        if (to <= from) {
            return out;
        }
        Map<String, String> o = new HashMap<>();
        o.put("scan.mode", "from-snapshot");
        o.put("scan.snapshot-id", String.valueOf(from + 1));
        FileStoreTable st = t.copy(o);
        RowType type = st.rowType();
        int[] sortCols = Canon.sortColumns(type, st.primaryKeys());
        ReadBuilder rb = st.newReadBuilder();
        StreamTableScan scan = rb.newStreamScan();
        TableRead read = rb.newRead();
        TableScan.Plan first = scan.plan();
        if (!first.splits().isEmpty()) {
            throw new Env.OracleException("streaming scan returned an initial snapshot; expected changes only");
        }
        while (true) {
            Long before = scan.checkpoint();
            if (before == null || before > to) {
                break;
            }
            TableScan.Plan p = scan.plan();
            Long after = scan.checkpoint();
            List<Split> splits = p.splits();
            if (splits.isEmpty()) {
                if (java.util.Objects.equals(before, after)) {
                    throw new Env.OracleException("streaming scan made no progress at snapshot " + before);
                }
                continue;
            }
            long sid = ((DataSplit) splits.get(0)).snapshotId();
            for (Split s : splits) {
                if (((DataSplit) s).snapshotId() != sid) {
                    throw new IllegalStateException("one plan spans snapshots " + sid + " and "
                            + ((DataSplit) s).snapshotId());
                }
            }
            if (sid > to) {
                break;
            }
            List<Canon.Line> lines = new ArrayList<>();
            try (RecordReader<InternalRow> r = read.createReader(splits)) {
                r.forEachRemaining(row -> lines.add(
                        Canon.line(row, type, sortCols, row.getRowKind().shortString())));
            }
            lines.sort(Canon.KEY_ORDER); // stable: keeps Paimon's order for equal keys
            out.add(new SnapshotChanges(sid, lines));
        }
        return out;
    }

    // ---------------------------------------------------------------- write

    /** A line of its own that ends one section of an input holding several (write, buckets). */
    static final String SECTION_END = "---";

    /** Whether the reader is at the end of its input. */
    static boolean atEnd(BufferedReader in) throws java.io.IOException {
        in.mark(1);
        if (in.read() < 0) {
            return true;
        }
        in.reset();
        return false;
    }

    /**
     * Writes JSON Lines from the reader, up to its end or a line SECTION_END, in one batch
     * commit; returns the number of rows.
     */
    public static long write(FileStoreTable t, BufferedReader in) throws Exception {
        RowType type = t.rowType();
        List<GenericRow> rows = new ArrayList<>();
        String line;
        int n = 0;
        while ((line = in.readLine()) != null && !line.equals(SECTION_END)) {
            n++;
            if (line.trim().isEmpty()) {
                continue;
            }
            Object v;
            try {
                v = Json.parse(line);
                if (!(v instanceof Map)) {
                    throw new IllegalArgumentException("line is not a JSON object");
                }
                @SuppressWarnings("unchecked")
                Map<String, Object> m = (Map<String, Object>) v;
                rows.add(FromJson.row(m, type));
            } catch (RuntimeException e) {
                throw new Env.OracleException("input line " + n + ": " + e.getMessage(), e);
            }
        }
        commitRows(t, rows);
        return rows.size();
    }

    /**
     * The bucket Paimon's row key extractor assigns each JSON Lines row (a full row of the
     * table; fields missing from the object are null), one number per input line, up to the
     * end of the input or a line SECTION_END (which ends one table's rows when several are
     * given).
     */
    public static long buckets(FileStoreTable t, BufferedReader in, java.io.PrintWriter out) throws Exception {
        RowType type = t.rowType();
        org.apache.paimon.table.sink.KeyAndBucketExtractor<org.apache.paimon.data.InternalRow> ex =
                new org.apache.paimon.table.sink.FixedBucketRowKeyExtractor(t.schema());
        String line;
        long n = 0;
        while ((line = in.readLine()) != null) {
            if (line.equals(SECTION_END)) {
                break;
            }
            if (line.trim().isEmpty()) {
                continue;
            }
            n++;
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) Json.parse(line);
            ex.setRecord(FromJson.row(m, type));
            out.print(ex.bucket());
            out.print('\n');
        }
        return n;
    }

    /** One batch commit of the rows (row kinds as set on them). */
    public static void commitRows(FileStoreTable t, List<GenericRow> rows) throws Exception {
        BatchWriteBuilder b = t.newBatchWriteBuilder();
        try (BatchTableWrite w = b.newWrite(); BatchTableCommit c = b.newCommit()) {
            w.withIOManager(ioManager());
            if (t.bucketMode() == BucketMode.HASH_DYNAMIC) {
                DynamicBucketRowKeyExtractor ex = new DynamicBucketRowKeyExtractor(t.schema());
                BucketAssigner assigner = hashBucketAssigner(t);
                for (GenericRow r : rows) {
                    ex.setRecord(r);
                    int bucket = assigner.assign(ex.partition(), ex.trimmedPrimaryKey().hashCode());
                    w.write(r, bucket);
                }
            } else {
                for (GenericRow r : rows) {
                    w.write(r);
                }
            }
            c.commit(w.prepareCommit());
        }
    }

    /** HashBucketAssigner(snapshotManager, user, indexFileHandler, 1, 1, 0, target[, maxBuckets]). */
    static BucketAssigner hashBucketAssigner(FileStoreTable t) throws Exception {
        Class<?> cls = Class.forName("org.apache.paimon.index.HashBucketAssigner");
        long target = t.coreOptions().dynamicBucketTargetRowNum();
        for (Constructor<?> k : cls.getConstructors()) {
            Class<?>[] p = k.getParameterTypes();
            Object[] common = {t.snapshotManager(), UUID.randomUUID().toString(),
                    t.store().newIndexFileHandler(), 1, 1, 0, target};
            if (p.length == 7) {
                return (BucketAssigner) k.newInstance(common);
            }
            if (p.length == 8 && p[7] == int.class) {
                Object[] a = java.util.Arrays.copyOf(common, 8);
                a[7] = dynamicBucketMax(t);
                return (BucketAssigner) k.newInstance(a);
            }
        }
        throw new IllegalStateException("no usable HashBucketAssigner constructor");
    }

    private static int dynamicBucketMax(FileStoreTable t) {
        String v = t.options().get("dynamic-bucket.max-buckets");
        return v == null ? -1 : Integer.parseInt(v);
    }

    /** Spill and lookup files (lookup changelog, deletion vectors) go to the JVM temp dir. */
    static org.apache.paimon.disk.IOManager ioManager() {
        return org.apache.paimon.disk.IOManager.create(System.getProperty("java.io.tmpdir"));
    }

    // ---------------------------------------------------------------- compact

    /** Compacts every partition and bucket; returns a summary. */
    /**
     * Commits statistics of the latest snapshot (merged record count: its total record
     * count) as Spark's ANALYZE TABLE does, through BatchTableCommit.updateStatistics.
     * Returns the name of the statistics file the new snapshot references.
     */
    /**
     * Expires snapshots with Paimon's ExpireSnapshots and the given retention; the changelog's
     * retention (null: the snapshots', as when changelog.num-retained.* are not set) decides
     * whether the lifecycles are decoupled, and if so the long-lived changelogs are expired
     * after the snapshots with ExpireChangelogImpl, as a writer's commit does
     * (AbstractFileStoreTable.newExpireRunnable). Returns the expired counts.
     */
    public static String expire(FileStoreTable t, int retainMin, int retainMax, long timeRetainMillis, int maxDeletes,
            Integer changelogRetainMin, Integer changelogRetainMax, Long changelogTimeRetainMillis) {
        org.apache.paimon.options.ExpireConfig cfg = org.apache.paimon.options.ExpireConfig.builder()
                .snapshotRetainMin(retainMin)
                .snapshotRetainMax(retainMax)
                .snapshotTimeRetain(java.time.Duration.ofMillis(timeRetainMillis))
                .snapshotMaxDeletes(maxDeletes)
                .changelogRetainMin(changelogRetainMin)
                .changelogRetainMax(changelogRetainMax)
                .changelogTimeRetain(changelogTimeRetainMillis == null ? null : java.time.Duration.ofMillis(changelogTimeRetainMillis))
                .build();
        int n = t.newExpireSnapshots().config(cfg).expire();
        String out = "expired " + n + " snapshots; earliest " + t.snapshotManager().earliestSnapshotId()
                + ", latest " + t.snapshotManager().latestSnapshotId();
        if (cfg.isChangelogDecoupled()) {
            int c = t.newExpireChangelog().config(cfg).expire();
            out += "; expired " + c + " changelogs";
        }
        return out;
    }

    /**
     * Expires partitions as a writer's commit does (the store's PartitionExpire from the
     * table's partition.expiration-* options, checked now); returns the expired partitions.
     * The factory's parameters differ between Paimon versions: (commitUser[, table]).
     */
    public static String expirePartitions(FileStoreTable t) throws Exception {
        java.lang.reflect.Method m = null;
        for (java.lang.reflect.Method x : t.store().getClass().getMethods()) {
            if (x.getName().equals("newPartitionExpire") && x.getParameterCount() <= 2
                    && (m == null || x.getParameterCount() > m.getParameterCount())) {
                m = x;
            }
        }
        if (m == null) {
            throw new Env.OracleException("this Paimon version has no FileStore.newPartitionExpire");
        }
        String user = UUID.randomUUID().toString();
        Object pe = m.getParameterCount() == 2 ? m.invoke(t.store(), user, t) : m.invoke(t.store(), user);
        if (pe == null) {
            throw new Env.OracleException("the table has no partition.expiration-time (or no partitions)");
        }
        Object expired = pe.getClass().getMethod("expire", long.class).invoke(pe, Long.MAX_VALUE);
        return "expired partitions: " + expired;
    }

    /** Removes files no snapshot, tag or changelog needs (LocalOrphanFilesClean) older than the given time. */
    public static String cleanOrphans(FileStoreTable t, long olderThanMillis) throws Exception {
        Object res = new org.apache.paimon.operation.LocalOrphanFilesClean(t, olderThanMillis).clean();
        return "cleaned: " + res;
    }

    public static String analyze(FileStoreTable t) throws Exception {
        org.apache.paimon.Snapshot s = t.snapshotManager().latestSnapshot();
        if (s == null) {
            throw new Env.OracleException("table has no snapshot");
        }
        org.apache.paimon.stats.Statistics stats =
                new org.apache.paimon.stats.Statistics(s.id(), s.schemaId(), s.totalRecordCount(), 0L);
        try (org.apache.paimon.table.sink.BatchTableCommit c = t.newBatchWriteBuilder().newCommit()) {
            // BatchTableCommit.updateStatistics is newer than Paimon 1.0.
            c.getClass().getMethod("updateStatistics", org.apache.paimon.stats.Statistics.class).invoke(c, stats);
        }
        return t.snapshotManager().latestSnapshot().statistics();
    }

    public static String compact(FileStoreTable t, boolean full) throws Exception {
        Long before = t.snapshotManager().latestSnapshotId();
        if (t.bucketMode() == BucketMode.BUCKET_UNAWARE || "-1".equals(t.options().get("bucket"))
                && t.primaryKeys().isEmpty()) {
            return compactUnaware(t, before);
        }
        Set<List<Object>> targets = new LinkedHashSet<>();
        Map<List<Object>, BinaryRow> parts = new LinkedHashMap<>();
        for (Split s : t.newReadBuilder().newScan().plan().splits()) {
            DataSplit d = (DataSplit) s;
            List<Object> key = java.util.Arrays.asList(d.partition(), d.bucket());
            targets.add(key);
            parts.put(key, d.partition());
        }
        BatchWriteBuilder b = t.newBatchWriteBuilder();
        try (BatchTableWrite w = b.newWrite(); BatchTableCommit c = b.newCommit()) {
            w.withIOManager(ioManager());
            for (List<Object> k : targets) {
                w.compact(parts.get(k), (Integer) k.get(1), full);
            }
            c.commit(w.prepareCommit());
        }
        Long after = t.snapshotManager().latestSnapshotId();
        return "compacted " + targets.size() + " partition-buckets" + (full ? " (full)" : "")
                + "; latest snapshot " + before + " -> " + after;
    }

    private static String compactUnaware(FileStoreTable t, Long before) throws Exception {
        Class<?> coordCls;
        try {
            coordCls = Class.forName("org.apache.paimon.append.AppendCompactCoordinator");
        } catch (ClassNotFoundException e) {
            coordCls = Class.forName("org.apache.paimon.append.UnawareAppendTableCompactionCoordinator");
        }
        Object coord = coordCls.getConstructor(FileStoreTable.class, boolean.class).newInstance(t, false);
        List<?> tasks = (List<?>) coordCls.getMethod("run").invoke(coord);
        String user = UUID.randomUUID().toString();
        Object write = t.store().newWrite(user);
        List<CommitMessage> messages = new ArrayList<>();
        for (Object task : tasks) {
            Method m = null;
            for (Method x : task.getClass().getMethods()) {
                if (x.getName().equals("doCompact") && x.getParameterCount() == 2) {
                    m = x;
                }
            }
            messages.add((CommitMessage) m.invoke(task, t, write));
        }
        if (!messages.isEmpty()) {
            BatchWriteBuilder b = t.newBatchWriteBuilder();
            try (BatchTableCommit c = b.newCommit()) {
                c.commit(messages);
            }
        }
        ((org.apache.paimon.operation.FileStoreWrite<?>) write).close();
        Long after = t.snapshotManager().latestSnapshotId();
        return "compacted " + tasks.size() + " unaware-bucket tasks; latest snapshot " + before + " -> " + after;
    }

    // ---------------------------------------------------------------- schema

    public static String schema(FileStoreTable t) {
        return JsonSerdeUtil.toJson(t.schema());
    }

    /**
     * schema-N of the table as Paimon's SchemaManager parses it, serialized again: unlike
     * {@link #schema}, without the path option a loaded table adds.
     */
    public static String schemaAsStored(FileStoreTable t, long id) {
        return JsonSerdeUtil.toJson(new org.apache.paimon.schema.SchemaManager(t.fileIO(), t.location()).schema(id));
    }
}
