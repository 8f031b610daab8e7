package org.tarnlake.oracle;

import org.apache.paimon.table.FileStoreTable;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Compatibility oracle: Apache Paimon's Java library writing reference tables and reading and
 * checking tables. Results go to stdout, diagnostics to stderr. Exit codes: 0 ok, 1 failure
 * (damaged table, read error), 2 usage.
 */
public final class Main {
    static final String USAGE = String.join("\n",
            "usage: paimon-oracle [--s3-endpoint URL] [--s3-access-key K] [--s3-secret-key S] COMMAND ...",
            "  generate DIR [--seed N]            write the reference warehouse, expected rows, manifest.json",
            "  read TABLE [--snapshot N | --tag T] [--row-ids]  batch read, canonical JSON Lines (--row-ids: with _ROW_ID, _SEQUENCE_NUMBER)",
            "  changes TABLE --from N --to M [--with-snapshot-id]  streaming changes of snapshots N+1..M",
            "  check TABLE [--all]                check snapshots, manifests and files; read latest (--all: every snapshot)",
            "  write TABLE                        canonical JSON Lines on stdin, one batch commit",
            "  write TABLE --commits [--full-compact-each]",
            "                                     one commit per section of stdin (a line --- between them), each fully compacted after",
            "  buckets TABLE...                   the bucket of each JSON Lines row on stdin (fixed-bucket tables);",
            "                                     with several tables, a line --- ends each table's rows and its buckets",
            "  compact TABLE [--full]             compact every partition and bucket",
            "  analyze TABLE                      commit table statistics (an ANALYZE snapshot); prints the statistics file",
            "  schema TABLE [--id N]              the table schema as Paimon's JSON (--id: schema-N as Paimon's SchemaManager loads it, no path option added)",
            "  verify DIR                         check and re-read every table of a generated DIR against its expected files",
            "  rest-list URI [--token T] [--warehouse W]",
            "                                     the databases and tables Paimon's REST catalog client lists (DB, then DB.TABLE lines)",
            "  rest-read URI DB.TABLE [--token T] [--warehouse W] [--snapshot N | --tag T]",
            "                                     batch read through Paimon's REST catalog client, canonical JSON Lines",
            "  rest-write URI DB.TABLE [--token T] [--warehouse W]",
            "                                     JSON Lines on stdin, one batch commit through the REST catalog",
            "  rest-alter URI DB.TABLE [--token T] [--warehouse W] CHANGE...",
            "                                     one alterTable call through the REST catalog; prints the schema it then loads",
            "                                     (CHANGE: set:K=V, add:PATH:TYPE, rename:PATH:NEW, drop:PATH, widen:PATH:TYPE, ...; see Rest.CHANGES)",
            "  expire TABLE --retain-min N --retain-max N --time-retained-ms N --max-deletes N"
                    + " [--changelog-retain-min N --changelog-retain-max N --changelog-time-retained-ms N]",
            "                                     Paimon's snapshot expiration with that retention",
            "  delete-tag TABLE NAME              Paimon's tag deletion (deleteTag), with the files only the tag held",
            "  rollback TABLE (--snapshot N | --tag T)  Paimon's rollback (rollbackTo)",
            "  expire-partitions TABLE            Paimon's partition expiration (partition.expiration-time and the table's other partition.* options)",
            "  clean-orphans TABLE --older-than-ms N  Paimon's orphan-file cleaning (LocalOrphanFilesClean) of files older than N ms",
            "  pick                               the universal compaction picker's choice for each JSON run layout on stdin (see Pick.java)",
            "  version                            the Paimon version in this jar",
            "  serve                              run commands sent on stdin in this one JVM (see Serve.java)",
            "  bench ingest|scan|compact|commit TABLE [...]  performance measurements (see Bench.java; compat/bench-compare)",
            "TABLE/DIR: a local path, file:///..., or s3://bucket/path");

    public static void main(String[] argv) {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
                    System.getenv("ORACLE_DEBUG") != null ? "info" : "error");
        }
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        // ORC and some conversions use the JVM time zone; results must not depend on the machine.
        java.util.TimeZone.setDefault(java.util.TimeZone.getTimeZone("UTC"));
        int code;
        if (argv.length == 1 && argv[0].equals("serve")) {
            try {
                Serve.run();
                code = 0;
            } catch (Throwable e) {
                System.err.println("serve: " + Check.msg(e));
                code = 1;
            }
        } else {
            code = execute(argv);
        }
        System.out.flush();
        System.exit(code);
    }

    /** Runs one command and returns its exit code; errors go to stderr. */
    static int execute(String[] argv) {
        try {
            return run(argv);
        } catch (Env.OracleException e) {
            System.err.println("error: " + e.getMessage());
            if (System.getenv("ORACLE_DEBUG") != null) {
                e.printStackTrace();
            }
            return 1;
        } catch (UsageException e) {
            System.err.println("usage error: " + e.getMessage());
            System.err.println(USAGE);
            return 2;
        } catch (Throwable e) {
            System.err.println("error: " + Check.msg(e));
            if (System.getenv("ORACLE_DEBUG") != null) {
                e.printStackTrace();
            } else {
                System.err.println("(ORACLE_DEBUG=1 for the stack trace)");
            }
            return 1;
        }
    }

    static final class UsageException extends RuntimeException {
        UsageException(String m) {
            super(m);
        }
    }

    static int run(String[] argv) throws Exception {
        Env env = new Env();
        List<String> pos = new ArrayList<>();
        Map<String, String> flags = new HashMap<>();
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            if (a.startsWith("--")) {
                String name = a.substring(2);
                String val = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    val = name.substring(eq + 1);
                    name = name.substring(0, eq);
                } else if (!isBoolFlag(name)) {
                    if (i + 1 >= argv.length) {
                        throw new UsageException("--" + name + " needs a value");
                    }
                    val = argv[++i];
                }
                flags.put(name, val == null ? "true" : val);
            } else {
                pos.add(a);
            }
        }
        if (flags.containsKey("s3-endpoint")) {
            env.s3Endpoint = flags.remove("s3-endpoint");
        }
        if (flags.containsKey("s3-access-key")) {
            env.s3AccessKey = flags.remove("s3-access-key");
        }
        if (flags.containsKey("s3-secret-key")) {
            env.s3SecretKey = flags.remove("s3-secret-key");
        }
        if (flags.containsKey("help") || pos.isEmpty()) {
            System.out.println(USAGE);
            return pos.isEmpty() && !flags.containsKey("help") ? 2 : 0;
        }
        String cmd = pos.get(0);
        PrintWriter out = new PrintWriter(new OutputStreamWriter(
                new BufferedOutputStream(System.out, 1 << 16), StandardCharsets.UTF_8));
        try {
            switch (cmd) {
                case "version":
                    allow(flags);
                    out.print(version() + "\n");
                    return 0;
                case "generate":
                    {
                        allow(flags, "seed");
                        need(pos, 2);
                        long seed = Long.parseLong(flags.getOrDefault("seed", "1"));
                        new Generate(env, Env.location(pos.get(1)), seed).run();
                        return 0;
                    }
                case "warmup":
                    {
                        // exercises the common code paths once (used to build a class-data archive)
                        allow(flags);
                        java.nio.file.Path tmp = java.nio.file.Files.createTempDirectory("oracle-warmup");
                        try {
                            Generate.warmup(env, tmp.toString());
                        } finally {
                            try (java.util.stream.Stream<java.nio.file.Path> w = java.nio.file.Files.walk(tmp)) {
                                w.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
                            }
                        }
                        return 0;
                    }
                case "verify":
                    {
                        allow(flags);
                        need(pos, 2);
                        return Verify.run(env, Env.location(pos.get(1)), out);
                    }
                case "read":
                    {
                        allow(flags, "snapshot", "tag", "row-ids");
                        need(pos, 2);
                        if (flags.containsKey("snapshot") && flags.containsKey("tag")) {
                            throw new UsageException("--snapshot and --tag exclude each other");
                        }
                        FileStoreTable t = env.table(pos.get(1));
                        Long snap = flags.containsKey("snapshot") ? Long.parseLong(flags.get("snapshot")) : null;
                        if (t.snapshotManager().latestSnapshotId() == null) {
                            if (snap != null || flags.containsKey("tag")) {
                                throw new Env.OracleException("table has no snapshot");
                            }
                            return 0; // an empty table has no rows
                        }
                        for (Canon.Line l : Ops.read(Ops.timeTravel(t, snap, flags.get("tag")), flags.containsKey("row-ids"))) {
                            out.print(l.text);
                            out.print('\n');
                        }
                        return 0;
                    }
                case "changes":
                    {
                        allow(flags, "from", "to", "with-snapshot-id");
                        need(pos, 2);
                        if (!flags.containsKey("from") || !flags.containsKey("to")) {
                            throw new UsageException("changes needs --from N --to M");
                        }
                        FileStoreTable t = env.table(pos.get(1));
                        boolean withId = flags.containsKey("with-snapshot-id");
                        for (Ops.SnapshotChanges sc : Ops.changes(t, Long.parseLong(flags.get("from")),
                                Long.parseLong(flags.get("to")))) {
                            for (Canon.Line l : sc.lines) {
                                if (withId) {
                                    out.print("{\"_SNAPSHOT_ID\":" + sc.snapshotId + "," + l.text.substring(1));
                                } else {
                                    out.print(l.text);
                                }
                                out.print('\n');
                            }
                        }
                        return 0;
                    }
                case "check":
                    {
                        allow(flags, "all");
                        need(pos, 2);
                        FileStoreTable t = env.table(pos.get(1));
                        out.print(new Check(t).run(flags.containsKey("all")) + "\n");
                        return 0;
                    }
                case "write":
                    {
                        allow(flags, "commits", "full-compact-each");
                        need(pos, 2);
                        FileStoreTable t = env.table(pos.get(1));
                        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                        // With --commits, several commits in one JVM, one per section of the
                        // input, each (--full-compact-each) fully compacted after.
                        boolean commits = flags.containsKey("commits");
                        do {
                            long n = Ops.write(t, in);
                            if (commits && flags.containsKey("full-compact-each")) {
                                Ops.compact(t, true);
                            }
                            System.err.println("wrote " + n + " rows; latest snapshot "
                                    + t.snapshotManager().latestSnapshotId());
                        } while (commits && !Ops.atEnd(in));
                        return 0;
                    }
                case "buckets":
                    {
                        allow(flags);
                        if (pos.size() < 2) {
                            throw new UsageException("buckets takes at least one TABLE");
                        }
                        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                        for (int i = 1; i < pos.size(); i++) {
                            if (i > 1) {
                                out.print(Ops.SECTION_END + "\n");
                            }
                            Ops.buckets(env.table(pos.get(i)), in, out);
                        }
                        return 0;
                    }
                case "expire":
                    {
                        allow(flags, "retain-min", "retain-max", "time-retained-ms", "max-deletes",
                                "changelog-retain-min", "changelog-retain-max", "changelog-time-retained-ms");
                        need(pos, 2);
                        FileStoreTable t = env.table(pos.get(1));
                        out.print(Ops.expire(t, Integer.parseInt(flags.getOrDefault("retain-min", "10")),
                                Integer.parseInt(flags.getOrDefault("retain-max", String.valueOf(Integer.MAX_VALUE))),
                                Long.parseLong(flags.getOrDefault("time-retained-ms", "3600000")),
                                Integer.parseInt(flags.getOrDefault("max-deletes", String.valueOf(Integer.MAX_VALUE))),
                                flags.containsKey("changelog-retain-min") ? Integer.valueOf(flags.get("changelog-retain-min")) : null,
                                flags.containsKey("changelog-retain-max") ? Integer.valueOf(flags.get("changelog-retain-max")) : null,
                                flags.containsKey("changelog-time-retained-ms") ? Long.valueOf(flags.get("changelog-time-retained-ms")) : null) + "\n");
                        return 0;
                    }
                case "delete-tag":
                    {
                        allow(flags);
                        need(pos, 3);
                        env.table(pos.get(1)).deleteTag(pos.get(2));
                        out.print("deleted tag " + pos.get(2) + "\n");
                        return 0;
                    }
                case "rollback":
                    {
                        allow(flags, "snapshot", "tag");
                        need(pos, 2);
                        FileStoreTable t = env.table(pos.get(1));
                        if (flags.containsKey("snapshot") == flags.containsKey("tag")) {
                            throw new UsageException("rollback needs one of --snapshot N and --tag T");
                        }
                        if (flags.containsKey("snapshot")) {
                            t.rollbackTo(Long.parseLong(flags.get("snapshot")));
                        } else {
                            t.rollbackTo(flags.get("tag"));
                        }
                        out.print("rolled back; latest snapshot " + t.snapshotManager().latestSnapshotId() + "\n");
                        return 0;
                    }
                case "expire-partitions":
                    {
                        allow(flags);
                        need(pos, 2);
                        out.print(Ops.expirePartitions(env.table(pos.get(1))) + "\n");
                        return 0;
                    }
                case "clean-orphans":
                    {
                        allow(flags, "older-than-ms");
                        need(pos, 2);
                        long age = Long.parseLong(flags.getOrDefault("older-than-ms", "86400000"));
                        out.print(Ops.cleanOrphans(env.table(pos.get(1)), System.currentTimeMillis() - age) + "\n");
                        return 0;
                    }
                case "pick":
                    {
                        allow(flags);
                        need(pos, 1);
                        Pick.run(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)), out);
                        return 0;
                    }
                case "analyze":
                    {
                        allow(flags);
                        need(pos, 2);
                        out.print(Ops.analyze(env.table(pos.get(1))) + "\n");
                        return 0;
                    }
                case "compact":
                    {
                        allow(flags, "full");
                        need(pos, 2);
                        FileStoreTable t = env.table(pos.get(1));
                        System.err.println(Ops.compact(t, flags.containsKey("full")));
                        return 0;
                    }
                case "bench":
                    allow(flags, "input", "commit-interval-ms", "commit-rows", "warmup-rows", "compaction", "where", "threads", "repeat", "full",
                            "commits", "rows");
                    if (pos.size() < 2) {
                        throw new UsageException("bench needs a subcommand: ingest, scan, compact, commit");
                    }
                    return Bench.run(env, pos, flags, out);
                case "schema":
                    {
                        allow(flags, "id");
                        need(pos, 2);
                        FileStoreTable t = env.table(pos.get(1));
                        if (flags.containsKey("id")) {
                            out.print(Ops.schemaAsStored(t, Long.parseLong(flags.get("id"))) + "\n");
                        } else {
                            out.print(Ops.schema(t) + "\n");
                        }
                        return 0;
                    }
                case "rest-list":
                    {
                        allow(flags, "token", "warehouse");
                        need(pos, 2);
                        Rest.list(env, pos.get(1), flags.get("token"), flags.getOrDefault("warehouse", "tarn"), out);
                        return 0;
                    }
                case "rest-read":
                    {
                        allow(flags, "token", "warehouse", "snapshot", "tag");
                        need(pos, 3);
                        if (flags.containsKey("snapshot") && flags.containsKey("tag")) {
                            throw new UsageException("--snapshot and --tag exclude each other");
                        }
                        Long snap = flags.containsKey("snapshot") ? Long.parseLong(flags.get("snapshot")) : null;
                        Rest.read(env, pos.get(1), pos.get(2), flags.get("token"), flags.getOrDefault("warehouse", "tarn"),
                                snap, flags.get("tag"), out);
                        return 0;
                    }
                case "rest-write":
                    {
                        allow(flags, "token", "warehouse");
                        need(pos, 3);
                        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                        Long latest = Rest.write(env, pos.get(1), pos.get(2), flags.get("token"),
                                flags.getOrDefault("warehouse", "tarn"), in);
                        out.print("snapshot " + latest + "\n");
                        return 0;
                    }
                case "rest-alter":
                    {
                        allow(flags, "token", "warehouse");
                        if (pos.size() < 4) {
                            throw new UsageException("rest-alter takes URI DB.TABLE and at least one change\n" + Rest.CHANGES);
                        }
                        out.print(Rest.alter(env, pos.get(1), pos.get(2), flags.get("token"),
                                flags.getOrDefault("warehouse", "tarn"), pos.subList(3, pos.size())) + "\n");
                        return 0;
                    }
                default:
                    throw new UsageException("unknown command " + cmd);
            }
        } finally {
            out.flush();
        }
    }

    static String version() {
        return "paimon " + paimonVersion();
    }

    /** The Paimon release this jar was built against. */
    static String paimonVersion() {
        try (java.io.InputStream in = Main.class.getResourceAsStream("oracle.properties")) {
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            return p.getProperty("paimon.version");
        } catch (Exception e) {
            return "unknown";
        }
    }

    private static boolean isBoolFlag(String name) {
        return name.equals("full") || name.equals("all") || name.equals("with-snapshot-id") || name.equals("row-ids")
                || name.equals("help") || name.equals("commits") || name.equals("full-compact-each");
    }

    private static void allow(Map<String, String> flags, String... names) {
        for (String k : flags.keySet()) {
            if (!java.util.Arrays.asList(names).contains(k)) {
                throw new UsageException("unknown option --" + k);
            }
        }
    }

    private static void need(List<String> pos, int n) {
        if (pos.size() != n) {
            throw new UsageException(pos.get(0) + " takes " + (n - 1) + " argument(s)");
        }
    }
}
