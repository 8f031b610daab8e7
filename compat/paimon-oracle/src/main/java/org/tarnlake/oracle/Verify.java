package org.tarnlake.oracle;

import org.apache.paimon.fs.FileIO;
import org.apache.paimon.fs.Path;
import org.apache.paimon.table.FileStoreTable;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * verify DIR: for every table in DIR/manifest.json, runs check and compares read (every snapshot
 * and tag) and changes with the expected files, all in one JVM. Prints one line per table.
 */
final class Verify {
    private Verify() {}

    @SuppressWarnings("unchecked")
    static int run(Env env, String dir, java.io.PrintWriter out) throws Exception {
        FileIO io = env.fileIO(dir);
        Map<String, Object> manifest = (Map<String, Object>) Json.parse(io.readFileUtf8(new Path(dir + "/manifest.json")));
        int failed = 0;
        int passed = 0;
        for (Object o : (List<Object>) manifest.get("tables")) {
            Map<String, Object> t = (Map<String, Object>) o;
            String name = (String) t.get("name");
            String exp = dir + "/" + t.get("expected");
            List<String> problems = new ArrayList<>();
            int compared = 0;
            try {
                FileStoreTable table = env.table(dir + "/" + t.get("path"));
                try {
                    new Check(table).run(false);
                } catch (Env.OracleException e) {
                    problems.add("check: " + e.getMessage());
                }
                for (Object f : (List<Object>) t.get("files")) {
                    String file = (String) f;
                    String want = readUtf8(io, new Path(exp + "/" + file));
                    String got;
                    try {
                        got = produce(table, file);
                    } catch (Exception e) {
                        problems.add(file + ": " + Check.msg(e));
                        continue;
                    }
                    compared++;
                    if (!want.equals(got)) {
                        problems.add(file + ": differs" + firstDiff(want, got));
                    }
                }
            } catch (Exception e) {
                problems.add(Check.msg(e));
            }
            if (problems.isEmpty()) {
                passed++;
                out.println("ok   " + name + " (" + compared + " files)");
            } else {
                failed++;
                out.println("FAIL " + name + ": " + String.join("; ", problems));
            }
            out.flush();
        }
        out.println(passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }

    /** The exact bytes of a file as UTF-8 (FileIO.readFileUtf8 drops line ends). */
    static String readUtf8(FileIO io, Path p) throws java.io.IOException {
        try (java.io.InputStream in = io.newInputStream(p)) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /** The output the oracle gives for an expected file name. */
    static String produce(FileStoreTable table, String file) throws Exception {
        StringBuilder sb = new StringBuilder();
        String base = file.substring(0, file.length() - ".jsonl".length());
        if (base.startsWith("snapshot-")) {
            long id = Long.parseLong(base.substring("snapshot-".length()));
            for (Canon.Line l : Ops.read(Ops.timeTravel(table, id, null))) {
                sb.append(l.text).append('\n');
            }
        } else if (base.startsWith("tag-")) {
            for (Canon.Line l : Ops.read(Ops.timeTravel(table, null, base.substring(4)))) {
                sb.append(l.text).append('\n');
            }
        } else if (base.startsWith("changes-")) {
            String[] p = base.substring("changes-".length()).split("-");
            for (Ops.SnapshotChanges sc : Ops.changes(table, Long.parseLong(p[0]), Long.parseLong(p[1]))) {
                for (Canon.Line l : sc.lines) {
                    sb.append(l.text).append('\n');
                }
            }
        } else {
            throw new IllegalArgumentException("unknown expected file " + file);
        }
        return sb.toString();
    }

    static String firstDiff(String want, String got) {
        String[] w = want.split("\n", -1);
        String[] g = got.split("\n", -1);
        for (int i = 0; i < Math.max(w.length, g.length); i++) {
            String a = i < w.length ? w[i] : "<end>";
            String b = i < g.length ? g[i] : "<end>";
            if (!a.equals(b)) {
                return " at line " + (i + 1) + ": expected " + cut(a) + " got " + cut(b);
            }
        }
        return "";
    }

    private static String cut(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

}
