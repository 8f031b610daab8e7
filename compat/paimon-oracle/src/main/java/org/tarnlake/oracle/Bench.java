package org.tarnlake.oracle;

import org.apache.paimon.data.BinaryRow;
import org.apache.paimon.data.BinaryString;
import org.apache.paimon.data.InternalRow;
import org.apache.paimon.data.serializer.InternalRowSerializer;
import org.apache.paimon.format.FileFormat;
import org.apache.paimon.format.FormatReaderContext;
import org.apache.paimon.format.FormatReaderFactory;
import org.apache.paimon.fs.Path;
import org.apache.paimon.fs.local.LocalFileIO;
import org.apache.paimon.options.Options;
import org.apache.paimon.predicate.Predicate;
import org.apache.paimon.predicate.PredicateBuilder;
import org.apache.paimon.reader.RecordReader;
import org.apache.paimon.table.FileStoreTable;
import org.apache.paimon.table.sink.BatchTableCommit;
import org.apache.paimon.table.sink.BatchTableWrite;
import org.apache.paimon.table.sink.BatchWriteBuilder;
import org.apache.paimon.table.sink.CommitMessage;
import org.apache.paimon.table.sink.StreamTableCommit;
import org.apache.paimon.table.sink.StreamTableWrite;
import org.apache.paimon.table.sink.StreamWriteBuilder;
import org.apache.paimon.table.source.DataSplit;
import org.apache.paimon.table.source.ReadBuilder;
import org.apache.paimon.table.source.Split;
import org.apache.paimon.table.source.TableRead;
import org.apache.paimon.types.DataType;
import org.apache.paimon.types.RowType;

import java.io.PrintWriter;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Paimon side of compat/bench-compare: the same measurements as 'tarn bench' through
 * Paimon's Java API, on tables and input files Tarn prepared. CPU time is the JVM process's
 * (every thread: writers, compaction, GC, JIT); peak RSS is VmHWM of /proc/self/status,
 * reset before each measured phase. Results are JSON on stdout in the form 'tarn bench
 * --json' writes.
 *
 * <pre>
 *   bench ingest TABLE --input FILE.parquet [--commit-rows N | --commit-interval-ms 1000] [--compaction on|off]
 *                [--warmup-rows N]
 *   bench scan TABLE [--where "col OP literal"] [--threads N] [--repeat N]
 *   bench compact TABLE [--full] [--input FILE.parquet (for the warm-up)] [--warmup-rows N]
 *   bench commit TABLE --input FILE.parquet [--commits N] [--rows N]
 * </pre>
 */
public final class Bench {
    private Bench() {}

    /** Rows written (and compacted) in a scratch table before a measurement, for the JIT (--warmup-rows). */
    static final long WARMUP_ROWS = 300_000;

    static int run(Env env, List<String> pos, Map<String, String> flags, PrintWriter out) throws Exception {
        if (pos.size() != 3) {
            throw new Main.UsageException("bench takes a subcommand (ingest, scan, compact, commit) and a TABLE");
        }
        String sub = pos.get(1);
        String table = pos.get(2);
        List<Map<String, Object>> results = new ArrayList<>();
        long warmupRows = Long.parseLong(flags.getOrDefault("warmup-rows", String.valueOf(WARMUP_ROWS)));
        switch (sub) {
            case "ingest":
                results.add(ingest(env, table, need(flags, "input"),
                        Long.parseLong(flags.getOrDefault("commit-interval-ms", "1000")),
                        Long.parseLong(flags.getOrDefault("commit-rows", "0")),
                        !"off".equals(flags.getOrDefault("compaction", "on")), warmupRows));
                break;
            case "scan":
                {
                    int threads = Integer.parseInt(flags.getOrDefault("threads", "2"));
                    int repeat = Integer.parseInt(flags.getOrDefault("repeat", "3"));
                    results.add(best("paimon scan full", repeat, () -> scan(env, table, null, threads)));
                    if (flags.containsKey("where")) {
                        String w = flags.get("where");
                        Map<String, Object> r = best("paimon scan where " + w, repeat, () -> scan(env, table, w, threads));
                        extra(r).put("where", w);
                        results.add(r);
                    }
                    break;
                }
            case "compact":
                results.add(compact(env, table, flags.containsKey("full"), flags.get("input"), warmupRows));
                break;
            case "commit":
                results.add(commit(env, table, need(flags, "input"),
                        Integer.parseInt(flags.getOrDefault("commits", "200")),
                        Integer.parseInt(flags.getOrDefault("rows", "10"))));
                break;
            default:
                throw new Main.UsageException("unknown bench subcommand " + sub + " (ingest, scan, compact, commit)");
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("results", results);
        doc.put("env", jvmEnv());
        out.print(toJson(doc));
        out.print('\n');
        return 0;
    }

    /** JSON of maps, lists, strings, numbers, booleans and nulls. */
    static String toJson(Object v) {
        StringBuilder b = new StringBuilder();
        writeJson(b, v);
        return b.toString();
    }

    private static void writeJson(StringBuilder b, Object v) {
        if (v == null) {
            b.append("null");
        } else if (v instanceof Map) {
            b.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (!first) {
                    b.append(',');
                }
                first = false;
                writeJson(b, String.valueOf(e.getKey()));
                b.append(':');
                writeJson(b, e.getValue());
            }
            b.append('}');
        } else if (v instanceof List) {
            b.append('[');
            boolean first = true;
            for (Object o : (List<?>) v) {
                if (!first) {
                    b.append(',');
                }
                first = false;
                writeJson(b, o);
            }
            b.append(']');
        } else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            b.append(Double.isFinite(d) ? Double.toString(d) : "null");
        } else if (v instanceof Number || v instanceof Boolean) {
            b.append(v);
        } else {
            String s = v.toString();
            b.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '"' || c == '\\') {
                    b.append('\\').append(c);
                } else if (c < 0x20) {
                    b.append(String.format("\\u%04x", (int) c));
                } else {
                    b.append(c);
                }
            }
            b.append('"');
        }
    }

    private static String need(Map<String, String> flags, String name) {
        String v = flags.get(name);
        if (v == null) {
            throw new Main.UsageException("bench needs --" + name);
        }
        return v;
    }

    // ---------------------------------------------------------------- measurement

    static long cpuNanos() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean) {
            return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
        }
        return 0;
    }

    /** Lowers VmHWM to the current RSS so the next reading is the peak of what follows. */
    static void resetPeakRss() {
        try {
            Files.write(Paths.get("/proc/self/clear_refs"), "5".getBytes(StandardCharsets.US_ASCII));
        } catch (Exception e) {
            // not Linux, or not allowed: the peak then covers the whole process
        }
    }

    static long peakRss() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    String[] f = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(f[0]) * 1024;
                }
            }
        } catch (Exception e) {
            // no /proc
        }
        return 0;
    }

    static long gcMillis() {
        long t = 0;
        for (GarbageCollectorMXBean g : ManagementFactory.getGarbageCollectorMXBeans()) {
            t += Math.max(0, g.getCollectionTime());
        }
        return t;
    }

    static final class Meter {
        final long wall = System.nanoTime();
        final long cpu = cpuNanos();
        final long gc = gcMillis();
        double wallS;
        double cpuS;
        long gcMs;

        Meter stop() {
            wallS = (System.nanoTime() - wall) / 1e9;
            cpuS = (cpuNanos() - cpu) / 1e9;
            gcMs = gcMillis() - gc;
            return this;
        }
    }

    static Map<String, Object> result(String name, long rows, long bytes, double wallS, double cpuS, long rss) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("name", name);
        r.put("rows", rows);
        r.put("bytes", bytes);
        r.put("wall_s", wallS);
        r.put("cpu_s", cpuS);
        r.put("rows_s", wallS > 0 ? rows / wallS : 0.0);
        r.put("mb_s", wallS > 0 ? bytes / 1e6 / wallS : 0.0);
        r.put("rows_per_cpu_s", cpuS > 0 ? rows / cpuS : 0.0);
        r.put("mb_per_cpu_s", cpuS > 0 ? bytes / 1e6 / cpuS : 0.0);
        r.put("cpu_s_per_mrows", rows > 0 ? cpuS / (rows / 1e6) : 0.0);
        r.put("peak_rss_bytes", rss);
        return r;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> extra(Map<String, Object> r) {
        return (Map<String, Object>) r.computeIfAbsent("extra", k -> new LinkedHashMap<String, Object>());
    }

    static void latencies(Map<String, Object> r, List<Long> nanos) {
        if (nanos.isEmpty()) {
            return;
        }
        List<Long> s = new ArrayList<>(nanos);
        Collections.sort(s);
        r.put("latencies", s.size());
        r.put("p50_ms", pct(s, 0.50) / 1e6);
        r.put("p99_ms", pct(s, 0.99) / 1e6);
        r.put("max_ms", s.get(s.size() - 1) / 1e6);
    }

    static long pct(List<Long> sorted, double p) {
        int i = (int) Math.ceil(p * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(i, sorted.size() - 1)));
    }

    interface Run {
        Map<String, Object> run() throws Exception;
    }

    /** Runs a measurement n times and keeps the one with the least CPU time. */
    static Map<String, Object> best(String name, int n, Run run) throws Exception {
        Map<String, Object> b = null;
        for (int i = 0; i < Math.max(1, n); i++) {
            Map<String, Object> r = run.run();
            if (b == null || (double) r.get("cpu_s") < (double) b.get("cpu_s")) {
                b = r;
            }
        }
        b.put("name", name);
        extra(b).put("runs", n);
        return b;
    }

    static Map<String, Object> jvmEnv() {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("paimon", Main.paimonVersion());
        e.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        e.put("available_processors", Runtime.getRuntime().availableProcessors());
        e.put("max_heap_bytes", Runtime.getRuntime().maxMemory());
        List<String> gcs = new ArrayList<>();
        for (GarbageCollectorMXBean g : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcs.add(g.getName());
        }
        e.put("gc", String.join(", ", gcs));
        e.put("jvm_args", String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()));
        return e;
    }

    // ---------------------------------------------------------------- input

    /** A reader of an input file written by 'tarn bench gen', with Paimon's Parquet reader. */
    static RecordReader<InternalRow> openInput(String file, RowType type) throws Exception {
        FileFormat ff = FileFormat.fromIdentifier("parquet", new Options());
        // createReaderFactory(RowType, List<Predicate>) in Paimon 1.0 and 1.1; from 1.2 on,
        // createReaderFactory(RowType dataSchema, RowType projected, List<Predicate>).
        FormatReaderFactory f = null;
        for (java.lang.reflect.Method m : ff.getClass().getMethods()) {
            if (!m.getName().equals("createReaderFactory")) {
                continue;
            }
            Class<?>[] p = m.getParameterTypes();
            if (p.length == 3 && p[0] == RowType.class && p[1] == RowType.class && p[2] == List.class) {
                f = (FormatReaderFactory) m.invoke(ff, type, type, new ArrayList<>());
                break;
            }
            if (p.length == 2 && p[0] == RowType.class && p[1] == List.class && f == null) {
                f = (FormatReaderFactory) m.invoke(ff, type, new ArrayList<>());
            }
        }
        if (f == null) {
            throw new Env.OracleException("this Paimon's FileFormat has no createReaderFactory this oracle knows");
        }
        LocalFileIO io = LocalFileIO.create();
        Path p = new Path(Env.location(file));
        return f.createReader(new FormatReaderContext(io, p, io.getFileSize(p)));
    }

    /** Reads the input to its end: its cost, subtracted from the runs that consume it. */
    static long[] drain(String file, RowType type) throws Exception {
        long rows = 0;
        try (RecordReader<InternalRow> r = openInput(file, type)) {
            RecordReader.RecordIterator<InternalRow> it;
            while ((it = r.readBatch()) != null) {
                while (it.next() != null) {
                    rows++;
                }
                it.releaseBatch();
            }
        }
        return new long[] {rows};
    }

    // ---------------------------------------------------------------- warm-up

    /**
     * Warms the JIT up before a measurement: writes the first rows of the input into a scratch
     * copy of the table (t's schema and options, plus the dynamic options of the measured run)
     * in a temporary directory, committing every 50k rows, then fully compacts it. The measured run then sees compiled code, as a
     * long-running Paimon writer would.
     */
    static void warmup(FileStoreTable t, Map<String, String> dynamic, String input, long rows) throws Exception {
        java.nio.file.Path dir = Files.createTempDirectory("paimon-bench-warmup");
        try {
            LocalFileIO io = LocalFileIO.create();
            Path p = new Path(dir.toString());
            new org.apache.paimon.schema.SchemaManager(io, p).createTable(t.schema().toSchema());
            FileStoreTable w = org.apache.paimon.table.FileStoreTableFactory.create(io, p);
            if (!dynamic.isEmpty()) {
                w = w.copy(dynamic);
            }
            RowType type = w.rowType();
            StreamWriteBuilder wb = w.newStreamWriteBuilder().withCommitUser("warmup");
            try (StreamTableWrite sw = wb.newWrite(); StreamTableCommit c = wb.newCommit();
                    RecordReader<InternalRow> r = openInput(input, type)) {
                sw.withIOManager(Ops.ioManager());
                long n = 0;
                long id = 0;
                RecordReader.RecordIterator<InternalRow> it;
                outer:
                while ((it = r.readBatch()) != null) {
                    InternalRow row;
                    while ((row = it.next()) != null) {
                        sw.write(row);
                        if (++n % 50_000 == 0) {
                            c.commit(id, sw.prepareCommit(false, id));
                            id++;
                        }
                        if (n >= rows) {
                            it.releaseBatch();
                            break outer;
                        }
                    }
                    it.releaseBatch();
                }
                c.commit(id, sw.prepareCommit(false, id));
            }
            compactAll(org.apache.paimon.table.FileStoreTableFactory.create(io, p), true);
        } finally {
            try (java.util.stream.Stream<java.nio.file.Path> w = Files.walk(dir)) {
                w.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
            }
        }
        System.gc();
    }

    /** Compacts every partition and bucket in one batch commit; returns the commit messages. */
    static List<CommitMessage> compactAll(FileStoreTable t, boolean full) throws Exception {
        Set<List<Object>> targets = new LinkedHashSet<>();
        Map<List<Object>, BinaryRow> parts = new LinkedHashMap<>();
        for (Split s : t.newReadBuilder().newScan().plan().splits()) {
            DataSplit d = (DataSplit) s;
            List<Object> key = Arrays.asList(d.partition(), d.bucket());
            targets.add(key);
            parts.put(key, d.partition());
        }
        if (t.primaryKeys().isEmpty()) {
            return new ArrayList<>(); // append tables compact through a coordinator; not measured here
        }
        BatchWriteBuilder b = t.newBatchWriteBuilder();
        try (BatchTableWrite w = b.newWrite(); BatchTableCommit c = b.newCommit()) {
            w.withIOManager(Ops.ioManager());
            for (List<Object> k : targets) {
                w.compact(parts.get(k), (Integer) k.get(1), full);
            }
            List<CommitMessage> msgs = w.prepareCommit();
            c.commit(msgs);
            return msgs;
        }
    }

    // ---------------------------------------------------------------- ingest

    /**
     * Streams the input into the table, committing every commitRows rows (0: every intervalMs
     * of wall time), with background compaction (Paimon's default streaming write) or
     * write-only.
     */
    static Map<String, Object> ingest(Env env, String tablePath, String input, long intervalMs, long commitRows,
            boolean compaction, long warmupRows) throws Exception {
        FileStoreTable base = env.table(tablePath);
        FileStoreTable t = base;
        Map<String, String> dynamic = new HashMap<>();
        if (!compaction) {
            dynamic.put("write-only", "true");
            t = base.copy(dynamic);
        }
        RowType type = t.rowType();
        if (warmupRows > 0) {
            warmup(base, dynamic, input, warmupRows);
        }
        // The input's cost alone, twice: the first run also warms up the reader's code.
        drain(input, type);
        Meter d = new Meter();
        long inRows = drain(input, type)[0];
        d.stop();

        resetPeakRss();
        Meter m = new Meter();
        long rows = 0;
        long id = 0;
        List<Long> commitNanos = new ArrayList<>();
        StreamWriteBuilder wb = t.newStreamWriteBuilder().withCommitUser("bench-" + UUID.randomUUID());
        try (StreamTableWrite w = wb.newWrite(); StreamTableCommit c = wb.newCommit()) {
            w.withIOManager(Ops.ioManager());
            long interval = intervalMs * 1_000_000L;
            long last = System.nanoTime();
            try (RecordReader<InternalRow> r = openInput(input, type)) {
                RecordReader.RecordIterator<InternalRow> it;
                while ((it = r.readBatch()) != null) {
                    InternalRow row;
                    while ((row = it.next()) != null) {
                        w.write(row);
                        rows++;
                        if (commitRows > 0 && rows % commitRows == 0) {
                            long t0 = System.nanoTime();
                            c.commit(id, w.prepareCommit(false, id));
                            commitNanos.add(System.nanoTime() - t0);
                            id++;
                        }
                    }
                    it.releaseBatch();
                    if (commitRows <= 0 && System.nanoTime() - last >= interval) {
                        long t0 = System.nanoTime();
                        c.commit(id, w.prepareCommit(false, id));
                        commitNanos.add(System.nanoTime() - t0);
                        id++;
                        last = System.nanoTime();
                    }
                }
            }
            long t0 = System.nanoTime();
            c.commit(id, w.prepareCommit(false, id));
            commitNanos.add(System.nanoTime() - t0);
            id++;
        }
        m.stop();
        long rss = peakRss();
        String kind = t.primaryKeys().isEmpty() ? "append" : "upsert " + t.options().getOrDefault("merge-engine", "deduplicate");
        String name = "paimon ingest " + kind + (t.primaryKeys().isEmpty() ? "" : (compaction ? " compaction=on" : " compaction=off"));
        Map<String, Object> r = result(name, rows, 0, m.wallS - d.wallS, m.cpuS - d.cpuS, rss);
        Map<String, Object> x = extra(r);
        x.put("commits", id);
        Collections.sort(commitNanos);
        x.put("flush_commit_p50_ms", pct(commitNanos, 0.5) / 1e6);
        x.put("flush_commit_p99_ms", pct(commitNanos, 0.99) / 1e6);
        x.put("gc_ms", m.gcMs);
        x.put("input_rows", inRows);
        x.put("input_decode_wall_s", d.wallS);
        x.put("input_decode_cpu_s", d.cpuS);
        x.put("excluded", "wall_s and cpu_s exclude the input decode, measured alone");
        describe(env.table(tablePath), x);
        return r;
    }

    /** Snapshot kinds and live files of the latest snapshot. */
    static void describe(FileStoreTable t, Map<String, Object> x) throws Exception {
        Map<String, Integer> kinds = new LinkedHashMap<>();
        Long latest = t.snapshotManager().latestSnapshotId();
        Long earliest = t.snapshotManager().earliestSnapshotId();
        if (latest != null) {
            for (long s = earliest; s <= latest; s++) {
                if (t.snapshotManager().snapshotExists(s)) {
                    kinds.merge(t.snapshotManager().snapshot(s).commitKind().name(), 1, Integer::sum);
                }
            }
        }
        x.put("snapshots", kinds);
        long files = 0;
        long bytes = 0;
        long rows = 0;
        Map<String, Integer> levels = new LinkedHashMap<>();
        for (Split s : t.newReadBuilder().newScan().plan().splits()) {
            for (org.apache.paimon.io.DataFileMeta f : ((DataSplit) s).dataFiles()) {
                files++;
                bytes += f.fileSize();
                rows += f.rowCount();
                levels.merge(String.valueOf(f.level()), 1, Integer::sum);
            }
        }
        x.put("files", files);
        x.put("file_bytes", bytes);
        x.put("file_rows", rows);
        x.put("files_by_level", levels);
    }

    // ---------------------------------------------------------------- scan

    /** "col OP literal" with OP one of = != <> < <= > >=, on BIGINT, INT, DOUBLE and STRING columns. */
    static Predicate parseWhere(RowType type, String where) {
        String[] ops = {"<=", ">=", "!=", "<>", "=", "<", ">"};
        for (String op : ops) {
            int i = where.indexOf(op);
            if (i <= 0) {
                continue;
            }
            String col = where.substring(0, i).trim();
            String lit = where.substring(i + op.length()).trim();
            int idx = type.getFieldIndex(col);
            if (idx < 0) {
                throw new Env.OracleException("--where: no column " + col);
            }
            Object v = literal(type.getTypeAt(idx), lit);
            PredicateBuilder pb = new PredicateBuilder(type);
            switch (op) {
                case "=":
                    return pb.equal(idx, v);
                case "!=":
                case "<>":
                    return pb.notEqual(idx, v);
                case "<":
                    return pb.lessThan(idx, v);
                case "<=":
                    return pb.lessOrEqual(idx, v);
                case ">":
                    return pb.greaterThan(idx, v);
                default:
                    return pb.greaterOrEqual(idx, v);
            }
        }
        throw new Env.OracleException("--where: expected 'column OP literal', got " + where);
    }

    static Object literal(DataType t, String s) {
        switch (t.getTypeRoot()) {
            case BIGINT:
                return Long.parseLong(s);
            case INTEGER:
                return Integer.parseInt(s);
            case DOUBLE:
                return Double.parseDouble(s);
            case DECIMAL:
                {
                    org.apache.paimon.types.DecimalType d = (org.apache.paimon.types.DecimalType) t;
                    return org.apache.paimon.data.Decimal.fromBigDecimal(new BigDecimal(s), d.getPrecision(), d.getScale());
                }
            case CHAR:
            case VARCHAR:
                if (s.length() >= 2 && s.startsWith("'") && s.endsWith("'")) {
                    s = s.substring(1, s.length() - 1).replace("''", "'");
                }
                return BinaryString.fromString(s);
            default:
                throw new Env.OracleException("--where: literals of type " + t + " are not supported here");
        }
    }

    /** Reads every split (threads at a time), consuming every column of every row. */
    static Map<String, Object> scan(Env env, String tablePath, String where, int threads) throws Exception {
        FileStoreTable t = env.table(tablePath);
        RowType type = t.rowType();
        System.gc();
        resetPeakRss();
        Meter m = new Meter();
        ReadBuilder rb = t.newReadBuilder();
        Predicate pred = where == null ? null : parseWhere(type, where);
        if (pred != null) {
            rb = rb.withFilter(pred);
        }
        List<Split> splits = rb.newScan().plan().splits();
        InternalRow.FieldGetter[] getters = new InternalRow.FieldGetter[type.getFieldCount()];
        for (int i = 0; i < getters.length; i++) {
            getters[i] = InternalRow.createFieldGetter(type.getTypeAt(i), i);
        }
        AtomicLong rows = new AtomicLong();
        AtomicLong check = new AtomicLong();
        ExecutorService ex = Executors.newFixedThreadPool(Math.max(1, Math.min(threads, splits.size())));
        final ReadBuilder frb = rb;
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (Split s : splits) {
                fs.add(ex.submit(() -> {
                    TableRead read = frb.newRead();
                    if (pred != null) {
                        read = read.executeFilter();
                    }
                    long n = 0;
                    long h = 0;
                    try (RecordReader<InternalRow> r = read.createReader(s)) {
                        RecordReader.RecordIterator<InternalRow> it;
                        while ((it = r.readBatch()) != null) {
                            InternalRow row;
                            while ((row = it.next()) != null) {
                                n++;
                                for (InternalRow.FieldGetter g : getters) {
                                    Object v = g.getFieldOrNull(row);
                                    if (v != null) {
                                        h = h * 31 + v.hashCode();
                                    }
                                }
                            }
                            it.releaseBatch();
                        }
                    }
                    rows.addAndGet(n);
                    check.addAndGet(h);
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            ex.shutdown();
        }
        m.stop();
        Map<String, Object> r = result("paimon scan", rows.get(), 0, m.wallS, m.cpuS, peakRss());
        Map<String, Object> x = extra(r);
        long files = 0;
        long bytes = 0;
        for (Split s : splits) {
            for (org.apache.paimon.io.DataFileMeta f : ((DataSplit) s).dataFiles()) {
                files++;
                bytes += f.fileSize();
            }
        }
        x.put("splits", splits.size());
        x.put("files", files);
        x.put("file_bytes", bytes);
        x.put("gc_ms", m.gcMs);
        x.put("threads", threads);
        x.put("checksum", check.get());
        return r;
    }

    // ---------------------------------------------------------------- compact

    static Map<String, Object> compact(Env env, String tablePath, boolean full, String input, long warmupRows)
            throws Exception {
        FileStoreTable t = env.table(tablePath);
        Map<String, Object> before = new LinkedHashMap<>();
        describe(t, before);
        if (input != null && warmupRows > 0) {
            warmup(t, new HashMap<>(), input, warmupRows);
        }
        long bytesIn = 0;
        System.gc();
        resetPeakRss();
        Meter m = new Meter();
        List<CommitMessage> msgs = compactAll(t, full);
        m.stop();
        long rss = peakRss();
        int filesIn = 0;
        int filesOut = 0;
        long bytesOut = 0;
        for (CommitMessage cm : msgs) {
            org.apache.paimon.table.sink.CommitMessageImpl ci = (org.apache.paimon.table.sink.CommitMessageImpl) cm;
            for (org.apache.paimon.io.DataFileMeta f : ci.compactIncrement().compactBefore()) {
                filesIn++;
                bytesIn += f.fileSize();
            }
            for (org.apache.paimon.io.DataFileMeta f : ci.compactIncrement().compactAfter()) {
                filesOut++;
                bytesOut += f.fileSize();
            }
        }
        long rows = ((Number) before.get("file_rows")).longValue();
        Map<String, Object> r = result("paimon compact", rows, bytesIn, m.wallS, m.cpuS, rss);
        Map<String, Object> x = extra(r);
        x.put("full", full);
        x.put("files_in", filesIn);
        x.put("files_out", filesOut);
        x.put("bytes_out", bytesOut);
        x.put("files_before", before.get("files"));
        x.put("file_bytes_before", before.get("file_bytes"));
        x.put("gc_ms", m.gcMs);
        return r;
    }

    // ---------------------------------------------------------------- commit

    static Map<String, Object> commit(Env env, String tablePath, String input, int commits, int rowsPer) throws Exception {
        FileStoreTable t = env.table(tablePath);
        Map<String, String> o = new HashMap<>();
        o.put("write-only", "true"); // commits of new files only, as Tarn's commit benchmark
        t = t.copy(o);
        RowType type = t.rowType();
        InternalRowSerializer ser = new InternalRowSerializer(type);
        List<InternalRow> rows = new ArrayList<>();
        try (RecordReader<InternalRow> r = openInput(input, type)) {
            RecordReader.RecordIterator<InternalRow> it;
            outer:
            while ((it = r.readBatch()) != null) {
                InternalRow row;
                while ((row = it.next()) != null) {
                    rows.add(ser.copy(row));
                    if (rows.size() >= commits * rowsPer) {
                        it.releaseBatch();
                        break outer;
                    }
                }
                it.releaseBatch();
            }
        }
        if (rows.size() < commits * rowsPer) {
            throw new Env.OracleException("input has " + rows.size() + " rows, need " + commits * rowsPer);
        }
        List<Long> commitNanos = new ArrayList<>();
        List<Long> totalNanos = new ArrayList<>();
        resetPeakRss();
        Meter m = new Meter();
        StreamWriteBuilder wb = t.newStreamWriteBuilder().withCommitUser("bench-" + UUID.randomUUID());
        try (StreamTableWrite w = wb.newWrite(); StreamTableCommit c = wb.newCommit()) {
            w.withIOManager(Ops.ioManager());
            int k = 0;
            // Untimed first commits (a tenth, at least 5) warm the JIT up; the input has rows for them.
            int warm = Math.max(5, commits / 10);
            for (long id = 0; id < commits + warm; id++) {
                if (id < warm) {
                    for (int i = 0; i < rowsPer; i++) {
                        w.write(rows.get(i));
                    }
                    c.commit(id, w.prepareCommit(false, id));
                    continue;
                }
                long t0 = System.nanoTime();
                for (int i = 0; i < rowsPer; i++) {
                    w.write(rows.get(k++));
                }
                List<CommitMessage> msgs = w.prepareCommit(false, id);
                long t1 = System.nanoTime();
                c.commit(id, msgs);
                long t2 = System.nanoTime();
                commitNanos.add(t2 - t1);
                totalNanos.add(t2 - t0);
            }
        }
        m.stop();
        long rss = peakRss();
        Map<String, Object> r = result("paimon commit", (long) commits * rowsPer, 0, m.wallS, m.cpuS, rss);
        latencies(r, commitNanos);
        Map<String, Object> x = extra(r);
        x.put("write_commit_p50_ms", pct(sorted(totalNanos), 0.5) / 1e6);
        x.put("write_commit_p99_ms", pct(sorted(totalNanos), 0.99) / 1e6);
        x.put("gc_ms", m.gcMs);
        return r;
    }

    private static List<Long> sorted(List<Long> l) {
        List<Long> s = new ArrayList<>(l);
        Collections.sort(s);
        return s;
    }
}
