package org.tarnlake.oracle;

import org.apache.paimon.catalog.Catalog;
import org.apache.paimon.catalog.Identifier;
import org.apache.paimon.data.BinaryString;
import org.apache.paimon.data.Decimal;
import org.apache.paimon.data.GenericArray;
import org.apache.paimon.data.GenericRow;
import org.apache.paimon.data.Timestamp;
import org.apache.paimon.fs.FileIO;
import org.apache.paimon.fs.Path;
import org.apache.paimon.schema.Schema;
import org.apache.paimon.schema.SchemaChange;
import org.apache.paimon.table.FileStoreTable;
import org.apache.paimon.types.DataType;
import org.apache.paimon.types.DataTypes;
import org.apache.paimon.types.RowKind;
import org.apache.paimon.types.RowType;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes the reference warehouse: DIR/ref.db/TABLE (pure Paimon), DIR/expected/ref.TABLE/*.jsonl
 * and DIR/manifest.json. Same seed, same logical rows.
 */
final class Generate {
    static final String DB = "ref";

    private final Env env;
    private final String dir;
    private final long seed;
    private final Gen gen;
    private final FileIO io;
    private Catalog catalog;
    private final List<String> manifestEntries = new ArrayList<>();
    private final long started = System.currentTimeMillis();

    Generate(Env env, String dir, long seed) throws Exception {
        this.env = env;
        this.dir = dir;
        this.seed = seed;
        this.gen = new Gen(seed);
        this.io = env.fileIO(dir);
    }

    void run() throws Exception {
        Path root = new Path(dir);
        if (io.exists(new Path(root, "manifest.json")) || io.exists(new Path(root, DB + ".db"))) {
            throw new Env.OracleException("generate: " + dir + " already holds a generated warehouse");
        }
        io.mkdirs(root);
        catalog = env.catalog(dir);
        catalog.createDatabase(DB, false);

        for (String fmt : new String[] {"parquet", "orc", "avro"}) {
            typesTable("types_pk_" + fmt, fmt, true);
        }
        for (String fmt : new String[] {"parquet", "orc", "avro"}) {
            typesTable("types_append_" + fmt, fmt, false);
        }
        typesTable("types_no_multiset_pk_parquet", "parquet", true);
        ts9ExtremesTable();
        pkTable("pk_bucket1", 1, new String[0], opts(), "parquet", "unpartitioned, fixed bucket 1");
        pkTable("pk_bucket4", 4, new String[0], opts(), "parquet", "unpartitioned, fixed bucket 4");
        pkTable("pk_dynamic_bucket", -1, new String[0], opts("dynamic-bucket.target-row-num", "20"), "parquet",
                "dynamic bucket (-1), small target row number so several buckets exist");
        pkTable("pk_part_string", 2, new String[] {"region"}, opts(), "parquet",
                "string partition key with special characters");
        pkTable("pk_part_int", 1, new String[] {"p_int"}, opts(), "parquet", "int partition key");
        pkTable("pk_part_date", 2, new String[] {"p_date"}, opts(), "parquet", "date partition key");
        pkTable("pk_part_two", 1, new String[] {"region2", "p_int"}, opts(), "parquet", "two partition keys");
        pkTable("pk_orc_part", 2, new String[] {"region"}, opts(), "orc", "orc data files, partitioned");
        pkTable("pk_avro_bucket2", 2, new String[0], opts(), "avro", "avro data files");
        pkTable("pk_format_per_level", 2, new String[0],
                opts("file.format.per.level", "0:avro", "file.compression.per.level", "0:snappy",
                        "changelog-producer", "lookup", "changelog-file.format", "orc"),
                "parquet", "level 0 in avro (snappy), compacted levels in parquet, lookup changelog in orc");
        pkTable("pk_dv_bitmap64", 2, new String[0],
                opts("deletion-vectors.enabled", "true", "deletion-vectors.bitmap64", "true"), "parquet",
                "deletion vectors in the 64-bit form");
        compositeKeyTable();
        appendTable("append_unpartitioned", -1, new String[0], opts(), "parquet", "unaware bucket", false);
        appendTable("append_part_string", -1, new String[] {"region"}, opts(), "parquet",
                "string partition with null and special characters", false);
        appendTable("append_part_two_orc", -1, new String[] {"region2", "p_int"}, opts(), "orc",
                "two partition keys with null values, orc", false);
        appendTable("append_bucket4", 4, new String[0], opts("bucket-key", "id"), "parquet",
                "fixed bucket 4 with bucket-key", false);
        appendTable("append_compacted", -1, new String[0], opts("compaction.min.file-num", "3"), "parquet",
                "unaware bucket, many small commits, then a compaction", true);
        partialUpdateTable();
        aggregationTable();
        firstRowTable();
        for (String p : new String[] {"input", "lookup", "full-compaction"}) {
            changelogTable(p);
        }
        deletionVectorsTable();
        sequenceFieldTable();
        historyTable();
        schemaEvolutionTable(true);
        schemaEvolutionTable(false);

        StringBuilder m = new StringBuilder();
        m.append("{\n  \"generator\": \"tarn compat/paimon-oracle generate\",\n");
        m.append("  \"paimon_version\": ").append(jstr(Main.paimonVersion())).append(",\n");
        m.append("  \"seed\": ").append(seed).append(",\n");
        m.append("  \"database\": ").append(jstr(DB)).append(",\n");
        m.append("  \"tables\": [\n");
        for (int i = 0; i < manifestEntries.size(); i++) {
            m.append("    ").append(manifestEntries.get(i)).append(i + 1 < manifestEntries.size() ? ",\n" : "\n");
        }
        m.append("  ]\n}\n");
        io.writeFile(new Path(root, "manifest.json"), m.toString(), false);
        System.err.printf("generate: %d tables in %s (%.1fs)%n", manifestEntries.size(), dir,
                (System.currentTimeMillis() - started) / 1000.0);
    }

    /** A tiny warehouse: write, read, check, changes, compact (warms up class loading). */
    static void warmup(Env env, String dir) throws Exception {
        Generate g = new Generate(env, dir, 1);
        g.catalog = env.catalog(dir);
        g.catalog.createDatabase(DB, false);
        RowType type = simpleType(new String[] {"region"});
        FileStoreTable t = g.create("warm", type, new String[] {"region", "id"}, new String[] {"region"}, 1,
                "parquet", opts("changelog-producer", "lookup", "deletion-vectors.enabled", "true"));
        for (List<GenericRow> batch : g.pkHistory(type, new String[] {"region"}, 10, 2)) {
            g.commit(t, batch);
        }
        t = g.open("warm");
        Ops.read(t);
        Ops.changes(t, 0, t.snapshotManager().latestSnapshotId());
        new Check(t).run(false);
        Ops.schema(t);
        Ops.compact(t, true);
    }

    // ------------------------------------------------------------------ helpers

    static Map<String, String> opts(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    private FileStoreTable create(String name, RowType type, String[] pk, String[] partition, int bucket,
            String format, Map<String, String> options) throws Exception {
        Schema.Builder b = Schema.newBuilder();
        for (int i = 0; i < type.getFieldCount(); i++) {
            b.column(type.getFields().get(i).name(), type.getTypeAt(i));
        }
        if (pk.length > 0) {
            b.primaryKey(pk);
        }
        b.partitionKeys(partition);
        b.option("bucket", String.valueOf(bucket));
        b.option("file.format", format);
        for (Map.Entry<String, String> e : options.entrySet()) {
            b.option(e.getKey(), e.getValue());
        }
        catalog.createTable(Identifier.create(DB, name), b.build(), false);
        return open(name);
    }

    private FileStoreTable open(String name) throws Exception {
        return env.table(dir + "/" + DB + ".db/" + name);
    }

    /**
     * Commits rows as one batch and keeps them, as canonical JSON Lines with their row kinds, in
     * inputs/DB.TABLE/snapshot-N.jsonl (N the snapshot the commit made): what another writer
     * needs to replay the same commits where the snapshot states do not suffice (merge engines
     * whose merge of merged rows is not the identity).
     */
    private void commit(FileStoreTable t, List<GenericRow> rows) throws Exception {
        Ops.commitRows(t, rows);
        StringBuilder sb = new StringBuilder();
        for (GenericRow r : rows) {
            sb.append(Canon.row(r, t.rowType(), "\"_ROW_KIND\":\"" + r.getRowKind().shortString() + "\"")).append('\n');
        }
        Long id = t.snapshotManager().latestSnapshotId();
        Path inDir = new Path(new Path(dir), "inputs/" + DB + "." + t.location().getName());
        io.mkdirs(inDir);
        io.writeFile(new Path(inDir, "snapshot-" + id + ".jsonl"), sb.toString(), true);
    }

    private static GenericRow kind(RowKind k, GenericRow r) {
        GenericRow c = copy(r);
        c.setRowKind(k);
        return c;
    }

    private static GenericRow copy(GenericRow r) {
        GenericRow c = new GenericRow(r.getFieldCount());
        for (int i = 0; i < r.getFieldCount(); i++) {
            c.setField(i, r.getField(i));
        }
        return c;
    }

    /**
     * In-memory model of a deduplicate PK table (or append table) to check that Paimon reads back
     * what was written.
     */
    private static final class Model {
        final RowType type;
        final int[] key;
        final boolean append;
        final Map<String, GenericRow> rows = new LinkedHashMap<>();
        final List<GenericRow> appended = new ArrayList<>();

        Model(RowType type, String[] pk) {
            this.type = type;
            this.append = pk.length == 0;
            this.key = Canon.sortColumns(type, Arrays.asList(pk));
        }

        String keyOf(GenericRow r) {
            StringBuilder sb = new StringBuilder();
            for (int k : key) {
                Canon.value(sb, r, k, type.getTypeAt(k));
                sb.append('|');
            }
            return sb.toString();
        }

        void apply(List<GenericRow> batch) {
            for (GenericRow r : batch) {
                if (append) {
                    appended.add(r);
                } else if (r.getRowKind() == RowKind.DELETE || r.getRowKind() == RowKind.UPDATE_BEFORE) {
                    rows.remove(keyOf(r));
                } else {
                    rows.put(keyOf(r), r);
                }
            }
        }

        List<String> lines() {
            List<Canon.Line> l = new ArrayList<>();
            for (GenericRow r : append ? appended : rows.values()) {
                GenericRow plain = copy(r);
                l.add(Canon.line(plain, type, key, null));
            }
            l.sort(Canon.FULL_ORDER);
            List<String> out = new ArrayList<>();
            for (Canon.Line x : l) {
                out.add(x.text);
            }
            return out;
        }
    }

    private void verify(String name, FileStoreTable t, Model model) throws Exception {
        List<String> want = model.lines();
        List<String> got = new ArrayList<>();
        for (Canon.Line l : Ops.read(open(name))) {
            got.add(l.text);
        }
        if (!want.equals(got)) {
            StringBuilder sb = new StringBuilder("generate: " + name + ": Paimon read back differs from what was written");
            for (int i = 0; i < Math.max(want.size(), got.size()); i++) {
                String w = i < want.size() ? want.get(i) : "<none>";
                String g = i < got.size() ? got.get(i) : "<none>";
                if (!w.equals(g)) {
                    sb.append("\n  row ").append(i).append("\n  wrote: ").append(w).append("\n  read:  ").append(g);
                    break;
                }
            }
            throw new Env.OracleException(sb.toString());
        }
    }

    // ------------------------------------------------------------------ tables

    private void typesTable(String name, String format, boolean pk) throws Exception {
        RowType type = format.equals("avro") ? Gen.allTypesAvro()
                : name.startsWith("types_no_multiset") ? Gen.allTypesNoMultiset() : Gen.allTypes();
        String[] keys = pk ? new String[] {"id"} : new String[0];
        FileStoreTable t = create(name, type, keys, new String[0], pk ? 2 : -1, format, opts());
        Model model = new Model(type, keys);
        gen.orc = format.equals("orc");
        List<GenericRow> batch = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            batch.add(gen.allTypesRow(type, i, i < 14 ? i : -1));
        }
        commit(t, batch);
        model.apply(batch);
        verify(name, t, model);
        batch = new ArrayList<>();
        if (pk) {
            for (int i = 0; i < 60; i++) {
                if (i >= 14 && gen.chance(0.25)) {
                    batch.add(gen.allTypesRow(type, i, -1)); // update
                } else if (i >= 14 && gen.chance(0.1)) {
                    batch.add(kind(RowKind.DELETE, gen.allTypesRow(type, i, -1)));
                }
            }
            for (int i = 60; i < 70; i++) {
                batch.add(gen.allTypesRow(type, i, -1));
            }
        } else {
            for (int i = 60; i < 80; i++) {
                batch.add(gen.allTypesRow(type, i, -1));
            }
        }
        commit(t, batch);
        model.apply(batch);
        verify(name, t, model);
        gen.orc = false;
        record(name, (pk ? "all types, inserts then updates and deletes" : "all types, two appends")
                + (format.equals("avro") ? "; no TIMESTAMP(9) column (Avro holds at most microseconds)" : "")
                + (format.equals("orc") ? "; timestamps from 1900, whole seconds before 1970 (ORC limits)" : "")
                + (name.startsWith("types_no_multiset") ? "; no MULTISET column (for readers without MULTISET)" : ""),
                List.of("all-types", "nulls", "edge-values"));
    }

    static final String[] REGIONS = {"eu", "us east", "a/b", "k=v", "50%", "ü", "x:y", "tab\tx"};
    static final String[] NAMES = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "théta"};

    /** id BIGINT, name STRING, qty INT, price DECIMAL(10,2), ts TIMESTAMP(3), tags ARRAY<STRING>. */
    static RowType simpleType(String[] partition) {
        List<String> names = new ArrayList<>();
        List<DataType> types = new ArrayList<>();
        for (String p : partition) {
            names.add(p);
            types.add(p.equals("p_int") ? DataTypes.INT() : p.equals("p_date") ? DataTypes.DATE() : DataTypes.STRING());
        }
        names.addAll(List.of("id", "name", "qty", "price", "ts", "tags"));
        types.addAll(List.of(DataTypes.BIGINT().notNull(), DataTypes.STRING(), DataTypes.INT(),
                DataTypes.DECIMAL(10, 2), DataTypes.TIMESTAMP(3), DataTypes.ARRAY(DataTypes.STRING())));
        return RowType.of(types.toArray(new DataType[0]), names.toArray(new String[0]));
    }

    private Object partValue(String p, boolean allowNull) {
        if (allowNull && gen.chance(0.12)) {
            return null;
        }
        switch (p) {
            case "p_int":
                return new int[] {0, -1, 7, 2147483647}[gen.rnd.nextInt(4)];
            case "p_date":
                return (int) LocalDate.parse(new String[] {"2024-01-01", "1969-12-31", "2024-02-29"}[gen.rnd.nextInt(3)])
                        .toEpochDay();
            case "region2":
                return BinaryString.fromString(gen.word(Arrays.copyOf(REGIONS, 3)));
            default:
                return BinaryString.fromString(gen.word(REGIONS));
        }
    }

    private GenericRow simpleRow(RowType type, String[] partition, Object[] partVals, long id) {
        GenericRow r = new GenericRow(type.getFieldCount());
        int i = 0;
        for (Object v : partVals) {
            r.setField(i++, v);
        }
        r.setField(i++, id);
        r.setField(i++, gen.chance(0.1) ? null : BinaryString.fromString(gen.word(NAMES) + "-" + gen.rnd.nextInt(100)));
        r.setField(i++, gen.chance(0.1) ? null : gen.rnd.nextInt(1000) - 100);
        r.setField(i++, gen.chance(0.1) ? null
                : Decimal.fromBigDecimal(BigDecimal.valueOf(gen.rnd.nextInt(10_000_000) - 1000, 2), 10, 2));
        r.setField(i++, gen.chance(0.1) ? null : Timestamp.fromLocalDateTime(
                LocalDateTime.of(2024, 1, 1, 0, 0).plusSeconds(gen.rnd.nextInt(10_000_000)).plusNanos(gen.rnd.nextInt(1000) * 1_000_000L)));
        int n = gen.rnd.nextInt(3);
        Object[] tags = new Object[n];
        for (int k = 0; k < n; k++) {
            tags[k] = BinaryString.fromString(gen.word(REGIONS));
        }
        r.setField(i, gen.chance(0.1) ? null : new GenericArray(tags));
        return r;
    }

    /** Three commits: inserts; updates, deletes and inserts; more of the same. */
    private List<List<GenericRow>> pkHistory(RowType type, String[] partition, int rows, int commits) {
        List<List<GenericRow>> out = new ArrayList<>();
        Map<Long, Object[]> parts = new TreeMap<>();
        Map<Long, Boolean> live = new TreeMap<>();
        long next = 0;
        for (int c = 0; c < commits; c++) {
            List<GenericRow> batch = new ArrayList<>();
            if (c > 0) {
                for (Map.Entry<Long, Boolean> e : live.entrySet()) {
                    if (!e.getValue()) {
                        continue;
                    }
                    double x = gen.rnd.nextDouble();
                    if (x < 0.2) {
                        batch.add(simpleRow(type, partition, parts.get(e.getKey()), e.getKey()));
                    } else if (x < 0.3) {
                        batch.add(kind(RowKind.DELETE, simpleRow(type, partition, parts.get(e.getKey()), e.getKey())));
                        e.setValue(false);
                    }
                }
            }
            int add = c == 0 ? rows : rows / 4;
            for (int i = 0; i < add; i++) {
                long id = next++;
                Object[] pv = new Object[partition.length];
                for (int k = 0; k < partition.length; k++) {
                    pv[k] = partValue(partition[k], false);
                }
                parts.put(id, pv);
                live.put(id, true);
                batch.add(simpleRow(type, partition, pv, id));
            }
            out.add(batch);
        }
        return out;
    }

    private String[] withId(String[] partition) {
        String[] k = Arrays.copyOf(partition, partition.length + 1);
        k[partition.length] = "id";
        return k;
    }

    private void pkTable(String name, int bucket, String[] partition, Map<String, String> options, String format,
            String shape) throws Exception {
        RowType type = simpleType(partition);
        String[] pk = withId(partition);
        FileStoreTable t = create(name, type, pk, partition, bucket, format, options);
        Model model = new Model(type, pk);
        for (List<GenericRow> batch : pkHistory(type, partition, bucket == -1 ? 100 : 60, 3)) {
            commit(t, batch);
            model.apply(batch);
        }
        verify(name, t, model);
        record(name, shape + "; inserts, updates, deletes over 3 commits", List.of("updates", "deletes"));
    }

    /** TIMESTAMP(9) at the edges of Paimon's range (years 0001 and 9999). */
    private void ts9ExtremesTable() throws Exception {
        String name = "types_ts9_extremes";
        RowType type = RowType.of(new DataType[] {DataTypes.INT().notNull(), DataTypes.TIMESTAMP(9)},
                new String[] {"id", "c_ts9"});
        FileStoreTable t = create(name, type, new String[] {"id"}, new String[0], 1, "parquet", opts());
        Model model = new Model(type, new String[] {"id"});
        List<GenericRow> batch = new ArrayList<>();
        String[] values = {"0001-01-01T00:00:00", "9999-12-31T23:59:59.999999999", "1677-09-21T00:12:43.145224191",
            "2262-04-11T23:47:16.854775808", "1970-01-01T00:00:00.000000001"};
        for (int i = 0; i < values.length; i++) {
            batch.add(GenericRow.of(i, Timestamp.fromLocalDateTime(LocalDateTime.parse(values[i]))));
        }
        commit(t, batch);
        model.apply(batch);
        verify(name, t, model);
        record(name, "TIMESTAMP(9) at the edges of its range (years 0001 and 9999)", List.of("timestamp-range"));
    }

    private void compositeKeyTable() throws Exception {
        String name = "pk_composite_key";
        RowType type = RowType.of(new DataType[] {DataTypes.STRING().notNull(), DataTypes.BIGINT().notNull(),
            DataTypes.DOUBLE(), DataTypes.BYTES()}, new String[] {"k_str", "k_num", "v_double", "v_bytes"});
        String[] pk = {"k_str", "k_num"};
        FileStoreTable t = create(name, type, pk, new String[0], 2, "parquet", opts());
        Model model = new Model(type, pk);
        String[] strs = {"", "a", "A", "ab", "é", "z", "中", "😀", "\uFFFD", "a b", "a\u0001"};
        for (int c = 0; c < 2; c++) {
            List<GenericRow> batch = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                batch.add(GenericRow.of(BinaryString.fromString(gen.word(strs)),
                        (long) (gen.rnd.nextInt(7) - 3) * (gen.chance(0.2) ? Long.MAX_VALUE / 3 : 1),
                        (Double) gen.value(DataTypes.DOUBLE(), -1), gen.value(DataTypes.BYTES(), -1)));
            }
            commit(t, batch);
            model.apply(batch);
            verify(name, t, model);
        }
        record(name, "composite primary key (STRING, BIGINT) exercising byte-wise and numeric key order",
                List.of("composite-key"));
    }

    private void appendTable(String name, int bucket, String[] partition, Map<String, String> options, String format,
            String shape, boolean compact) throws Exception {
        RowType type = simpleType(partition);
        FileStoreTable t = create(name, type, new String[0], partition, bucket, format, options);
        Model model = new Model(type, new String[0]);
        int commits = compact ? 6 : 2;
        long id = 0;
        for (int c = 0; c < commits; c++) {
            List<GenericRow> batch = new ArrayList<>();
            for (int i = 0; i < (compact ? 15 : 50); i++) {
                Object[] pv = new Object[partition.length];
                for (int k = 0; k < partition.length; k++) {
                    pv[k] = partValue(partition[k], true);
                }
                batch.add(simpleRow(type, partition, pv, gen.chance(0.1) ? id : id++)); // some duplicates
            }
            commit(t, batch);
            model.apply(batch);
        }
        verify(name, t, model);
        List<String> features = new ArrayList<>();
        if (compact) {
            System.err.println("generate: " + name + ": " + Ops.compact(open(name), true));
            verify(name, t, model);
            features.add("compaction");
        }
        if (partition.length > 0) {
            features.add("null-partition");
        }
        record(name, shape, features);
    }

    private void partialUpdateTable() throws Exception {
        String name = "merge_partial_update";
        RowType type = RowType.of(new DataType[] {DataTypes.INT().notNull(), DataTypes.INT(), DataTypes.STRING(),
            DataTypes.BIGINT(), DataTypes.DOUBLE(), DataTypes.STRING(), DataTypes.BIGINT(), DataTypes.STRING()},
                new String[] {"id", "a", "b", "g1_seq", "c", "d", "g2_seq", "e"});
        FileStoreTable t = create(name, type, new String[] {"id"}, new String[0], 1, "parquet",
                opts("merge-engine", "partial-update", "fields.g1_seq.sequence-group", "a,b",
                        "fields.g2_seq.sequence-group", "c,d"));
        for (int c = 0; c < 4; c++) {
            List<GenericRow> batch = new ArrayList<>();
            for (int id = 0; id < 30; id++) {
                if (c > 0 && gen.chance(0.5)) {
                    continue;
                }
                boolean g1 = c == 0 || gen.rnd.nextBoolean();
                boolean g2 = c == 0 || gen.rnd.nextBoolean();
                batch.add(GenericRow.of(id,
                        g1 ? gen.rnd.nextInt(100) : null,
                        g1 && gen.chance(0.8) ? BinaryString.fromString(gen.word(NAMES)) : null,
                        g1 ? (long) gen.rnd.nextInt(10) : null, // out-of-order sequence values
                        g2 ? (double) gen.rnd.nextInt(1000) / 8 : null,
                        g2 && gen.chance(0.8) ? BinaryString.fromString(gen.word(REGIONS)) : null,
                        g2 ? (long) gen.rnd.nextInt(10) : null,
                        gen.chance(0.5) ? BinaryString.fromString("e" + c) : null));
            }
            commit(t, batch);
        }
        record(name, "partial-update with two sequence groups (g1_seq: a,b; g2_seq: c,d) and an ungrouped column",
                List.of("merge-engine"));
    }

    private void aggregationTable() throws Exception {
        String name = "merge_aggregation";
        RowType type = RowType.of(new DataType[] {DataTypes.INT().notNull(), DataTypes.BIGINT(), DataTypes.INT(),
            DataTypes.DOUBLE(), DataTypes.STRING(), DataTypes.STRING(), DataTypes.BOOLEAN(), DataTypes.DECIMAL(10, 2)},
                new String[] {"id", "total", "hi", "lo", "last_name", "names", "any_flag", "amount"});
        FileStoreTable t = create(name, type, new String[] {"id"}, new String[0], 2, "parquet",
                opts("merge-engine", "aggregation",
                        "fields.total.aggregate-function", "sum",
                        "fields.hi.aggregate-function", "max",
                        "fields.lo.aggregate-function", "min",
                        "fields.last_name.aggregate-function", "last_non_null_value",
                        "fields.names.aggregate-function", "listagg",
                        "fields.any_flag.aggregate-function", "bool_or",
                        "fields.amount.aggregate-function", "sum"));
        for (int c = 0; c < 4; c++) {
            List<GenericRow> batch = new ArrayList<>();
            for (int id = 0; id < 25; id++) {
                if (c > 0 && gen.chance(0.4)) {
                    continue;
                }
                batch.add(GenericRow.of(id,
                        gen.chance(0.1) ? null : (long) gen.rnd.nextInt(1000),
                        gen.chance(0.1) ? null : gen.rnd.nextInt(1000) - 500,
                        gen.chance(0.1) ? null : gen.rnd.nextInt(1000) / 4.0,
                        gen.chance(0.3) ? null : BinaryString.fromString(gen.word(NAMES)),
                        gen.chance(0.2) ? null : BinaryString.fromString(gen.word(NAMES)),
                        gen.chance(0.2) ? null : gen.chance(0.3),
                        gen.chance(0.1) ? null : Decimal.fromBigDecimal(BigDecimal.valueOf(gen.rnd.nextInt(100000), 2), 10, 2)));
            }
            commit(t, batch);
        }
        record(name, "aggregation: sum, max, min, last_non_null_value, listagg, bool_or, sum(decimal)",
                List.of("merge-engine"));
    }

    private void firstRowTable() throws Exception {
        String name = "merge_first_row";
        RowType type = simpleType(new String[0]);
        FileStoreTable t = create(name, type, new String[] {"id"}, new String[0], 2, "parquet",
                opts("merge-engine", "first-row", "changelog-producer", "lookup"));
        for (int c = 0; c < 3; c++) {
            List<GenericRow> batch = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                batch.add(simpleRow(type, new String[0], new Object[0], gen.rnd.nextInt(40)));
            }
            commit(t, batch);
        }
        record(name, "first-row merge engine with lookup changelog; later rows for a key are ignored",
                List.of("merge-engine", "changelog"));
    }

    private void changelogTable(String producer) throws Exception {
        String name = "changelog_" + producer.replace('-', '_');
        RowType type = simpleType(new String[0]);
        Map<String, String> o = opts("changelog-producer", producer);
        if (producer.equals("full-compaction")) {
            o.put("full-compaction.delta-commits", "1");
        }
        FileStoreTable t = create(name, type, new String[] {"id"}, new String[0], 2, "parquet", o);
        Model model = new Model(type, new String[] {"id"});
        for (List<GenericRow> batch : pkHistory(type, new String[0], 30, 4)) {
            commit(t, batch);
            if (producer.equals("full-compaction")) {
                // the changelog is produced by full compactions (as a separate compaction job would)
                Ops.compact(open(name), true);
            }
            model.apply(batch);
            verify(name, t, model);
        }
        record(name, "changelog-producer " + producer + "; inserts, updates, deletes over 4 commits",
                List.of("changelog", "updates", "deletes"));
    }

    private void deletionVectorsTable() throws Exception {
        String name = "pk_deletion_vectors";
        RowType type = simpleType(new String[0]);
        FileStoreTable t = create(name, type, new String[] {"id"}, new String[0], 2, "parquet",
                opts("deletion-vectors.enabled", "true"));
        Model model = new Model(type, new String[] {"id"});
        for (List<GenericRow> batch : pkHistory(type, new String[0], 60, 4)) {
            commit(t, batch);
            model.apply(batch);
            verify(name, t, model);
        }
        record(name, "deletion vectors; inserts, updates, deletes over 4 commits", List.of("deletion-vectors"));
    }

    private void sequenceFieldTable() throws Exception {
        String name = "pk_sequence_field";
        RowType type = RowType.of(new DataType[] {DataTypes.INT().notNull(), DataTypes.BIGINT(), DataTypes.STRING()},
                new String[] {"id", "version", "payload"});
        FileStoreTable t = create(name, type, new String[] {"id"}, new String[0], 1, "parquet",
                opts("sequence.field", "version"));
        Map<Integer, Long> best = new TreeMap<>();
        for (int c = 0; c < 3; c++) {
            List<GenericRow> batch = new ArrayList<>();
            for (int id = 0; id < 30; id++) {
                long v = gen.rnd.nextInt(5);
                batch.add(GenericRow.of(id, v, BinaryString.fromString("c" + c + "-v" + v)));
                best.merge(id, v, Math::max);
            }
            commit(t, batch);
        }
        record(name, "sequence.field = version (later commits with a lower version lose)", List.of("sequence-field"));
    }

    private void historyTable() throws Exception {
        String name = "pk_history";
        RowType type = simpleType(new String[0]);
        FileStoreTable t = create(name, type, new String[] {"id"}, new String[0], 2, "parquet",
                opts("snapshot.num-retained.min", "1", "snapshot.num-retained.max", "4"));
        Model model = new Model(type, new String[] {"id"});
        List<List<GenericRow>> commits = pkHistory(type, new String[0], 40, 5);
        for (int c = 0; c < commits.size(); c++) {
            commit(t, commits.get(c));
            model.apply(commits.get(c));
            if (c == 0) {
                open(name).createTag("first", 1);
            }
            if (c == 2) {
                System.err.println("generate: " + name + ": " + Ops.compact(open(name), true));
                FileStoreTable cur = open(name);
                cur.createTag("compacted", cur.snapshotManager().latestSnapshotId());
            }
            verify(name, t, model);
        }
        record(name, "5 commits with a full compaction after the third, tags 'first' and 'compacted',"
                + " snapshot.num-retained.max=4 so early snapshots expired", List.of("compaction", "tags", "expired-snapshots"));
    }

    private void schemaEvolutionTable(boolean pk) throws Exception {
        String name = pk ? "schema_evolution_pk" : "schema_evolution_append";
        RowType type = RowType.of(new DataType[] {DataTypes.INT().notNull(), DataTypes.INT(), DataTypes.STRING(),
            DataTypes.DOUBLE()}, new String[] {"id", "a", "b", "c"});
        String[] keys = pk ? new String[] {"id"} : new String[0];
        create(name, type, keys, new String[0], pk ? 1 : -1, "parquet", opts());
        Identifier ident = Identifier.create(DB, name);
        List<SchemaChange> steps = List.of(
                SchemaChange.addColumn("d", DataTypes.STRING()),
                SchemaChange.renameColumn("b", "b_renamed"),
                SchemaChange.dropColumn("c"),
                SchemaChange.updateColumnType("a", DataTypes.BIGINT()));
        for (int c = 0; c <= steps.size(); c++) {
            if (c > 0) {
                catalog.alterTable(ident, steps.get(c - 1), false);
            }
            FileStoreTable t = open(name);
            RowType rt = t.rowType();
            List<GenericRow> batch = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                int id = pk ? gen.rnd.nextInt(20) : c * 100 + i;
                GenericRow r = new GenericRow(rt.getFieldCount());
                r.setField(0, id);
                for (int f = 1; f < rt.getFieldCount(); f++) {
                    r.setField(f, gen.value(rt.getTypeAt(f), -1));
                }
                batch.add(r);
            }
            commit(t, batch);
        }
        record(name, "schema changes between commits: add column d, rename b to b_renamed, drop c, widen a INT to BIGINT",
                List.of("schema-evolution"));
    }

    // ------------------------------------------------------------------ expected output and manifest

    private void record(String name, String description, List<String> features) throws Exception {
        FileStoreTable t = open(name);
        String exp = "expected/" + DB + "." + name;
        Path expDir = new Path(new Path(dir), exp);
        io.mkdirs(expDir);
        List<Long> ids = new ArrayList<>();
        Iterator<org.apache.paimon.Snapshot> it = t.snapshotManager().snapshots();
        while (it.hasNext()) {
            ids.add(it.next().id());
        }
        ids.sort(Long::compare);
        List<String> files = new ArrayList<>();
        for (long id : ids) {
            String f = "snapshot-" + id + ".jsonl";
            io.writeFile(new Path(expDir, f), join(Ops.read(Ops.timeTravel(t, id, null))), false);
            files.add(f);
        }
        List<String> tags = new ArrayList<>(t.tagManager().allTagNames());
        tags.sort(String::compareTo);
        for (String tag : tags) {
            String f = "tag-" + tag + ".jsonl";
            io.writeFile(new Path(expDir, f), join(Ops.read(Ops.timeTravel(t, null, tag))), false);
            files.add(f);
        }
        String producer = t.options().getOrDefault("changelog-producer", "none");
        if (!producer.equals("none")) {
            for (long id : ids) {
                StringBuilder sb = new StringBuilder();
                for (Ops.SnapshotChanges sc : Ops.changes(t, id - 1, id)) {
                    for (Canon.Line l : sc.lines) {
                        sb.append(l.text).append('\n');
                    }
                }
                String f = "changes-" + (id - 1) + "-" + id + ".jsonl";
                io.writeFile(new Path(expDir, f), sb.toString(), false);
                files.add(f);
            }
        }

        Map<String, String> options = new TreeMap<>(t.options());
        options.remove("path");
        String fmt = options.getOrDefault("file.format", "parquet");
        StringBuilder e = new StringBuilder("{");
        e.append("\"name\": ").append(jstr(DB + "." + name));
        e.append(", \"path\": ").append(jstr(DB + ".db/" + name));
        e.append(", \"expected\": ").append(jstr(exp));
        e.append(", \"kind\": ").append(jstr(t.primaryKeys().isEmpty() ? "append" : "pk"));
        e.append(", \"primary_keys\": ").append(jlist(t.primaryKeys()));
        e.append(", \"partition_keys\": ").append(jlist(t.partitionKeys()));
        e.append(", \"bucket\": ").append(options.getOrDefault("bucket", "-1"));
        e.append(", \"merge_engine\": ").append(jstr(t.primaryKeys().isEmpty() ? null
                : options.getOrDefault("merge-engine", "deduplicate")));
        e.append(", \"changelog_producer\": ").append(jstr(producer));
        e.append(", \"file_format\": ").append(jstr(fmt));
        e.append(", \"features\": ").append(jlist(features));
        e.append(", \"description\": ").append(jstr(description));
        e.append(", \"schema_id\": ").append(t.schema().id());
        e.append(", \"snapshots\": ").append(ids);
        e.append(", \"latest_snapshot\": ").append(ids.get(ids.size() - 1));
        e.append(", \"tags\": ").append(jlist(tags));
        e.append(", \"files\": ").append(jlist(files));
        e.append(", \"options\": {");
        boolean first = true;
        for (Map.Entry<String, String> o : options.entrySet()) {
            e.append(first ? "" : ", ").append(jstr(o.getKey())).append(": ").append(jstr(o.getValue()));
            first = false;
        }
        e.append("}}");
        manifestEntries.add(e.toString());
        System.err.printf("generate: %-28s snapshots %s tags %s (%.1fs)%n", name, ids, tags,
                (System.currentTimeMillis() - started) / 1000.0);
    }

    private static String join(List<Canon.Line> lines) {
        StringBuilder sb = new StringBuilder();
        for (Canon.Line l : lines) {
            sb.append(l.text).append('\n');
        }
        return sb.toString();
    }

    static String jstr(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder();
        Canon.string(sb, s);
        return sb.toString();
    }

    static String jlist(List<String> l) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < l.size(); i++) {
            sb.append(i > 0 ? ", " : "").append(jstr(l.get(i)));
        }
        return sb.append(']').toString();
    }
}
