package org.tarnlake.oracle;

import org.apache.paimon.compact.CompactUnit;
import org.apache.paimon.data.BinaryRow;
import org.apache.paimon.io.DataFileMeta;
import org.apache.paimon.mergetree.LevelSortedRun;
import org.apache.paimon.mergetree.SortedRun;
import org.apache.paimon.mergetree.compact.UniversalCompaction;
import org.apache.paimon.stats.SimpleStats;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The compaction Paimon's universal picker (UniversalCompaction) chooses for sorted-run
 * layouts: one JSON object per stdin line,
 * {"maxSizeAmp":200,"sizeRatio":1,"trigger":5,"numLevels":6,"runs":[[level,size],...],"forceL0":false},
 * answered by one line {"runs":K,"outputLevel":L} (the first K runs are picked) or {"runs":0}.
 * forceL0 asks forcePickL0 (the pick at the stop trigger) instead of pick. Only the run
 * levels and file sizes matter to the picker; each run is one file of that size.
 *
 * The constructors and factories differ between Paimon versions, so they are found by
 * reflection: the UniversalCompaction constructor with the most parameters (the optional
 * early-full-compaction and off-peak parts null) and DataFileMeta.forAppend.
 */
final class Pick {
    private Pick() {}

    static void run(BufferedReader in, PrintWriter out) throws Exception {
        Constructor<?> ctor = null;
        for (Constructor<?> c : UniversalCompaction.class.getConstructors()) {
            if (ctor == null || c.getParameterCount() > ctor.getParameterCount()) {
                ctor = c;
            }
        }
        Method force = null;
        for (Method m : UniversalCompaction.class.getDeclaredMethods()) {
            if (m.getName().equals("forcePickL0") && m.getParameterCount() == 2) {
                m.setAccessible(true);
                force = m;
            }
        }
        int n = 0;
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isBlank()) {
                continue;
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> c = (Map<String, Object>) Json.parse(line);
            Object[] args = new Object[ctor.getParameterCount()];
            args[0] = intOf(c, "maxSizeAmp");
            args[1] = intOf(c, "sizeRatio");
            args[2] = intOf(c, "trigger");
            UniversalCompaction u = (UniversalCompaction) ctor.newInstance(args);
            List<LevelSortedRun> runs = new ArrayList<>();
            @SuppressWarnings("unchecked")
            List<List<BigDecimal>> rs = (List<List<BigDecimal>>) c.get("runs");
            for (List<BigDecimal> r : rs) {
                DataFileMeta f = file("data-" + (n++) + ".parquet", r.get(1).longValue());
                runs.add(new LevelSortedRun(r.get(0).intValue(), SortedRun.fromSingle(f)));
            }
            int numLevels = intOf(c, "numLevels");
            CompactUnit unit;
            if (Boolean.TRUE.equals(c.get("forceL0"))) {
                if (force == null) {
                    throw new Env.OracleException("this Paimon version has no UniversalCompaction.forcePickL0");
                }
                unit = ((Optional<?>) force.invoke(u, numLevels, runs)).map(x -> (CompactUnit) x).orElse(null);
            } else {
                unit = u.pick(numLevels, runs).orElse(null);
            }
            if (unit == null) {
                out.print("{\"runs\":0}\n");
                continue;
            }
            // The unit's files are a prefix of the runs' files, one file per run.
            out.print("{\"runs\":" + unit.files().size() + ",\"outputLevel\":" + unit.outputLevel() + "}\n");
        }
    }

    private static int intOf(Map<String, Object> c, String k) {
        Object v = c.get(k);
        if (!(v instanceof BigDecimal)) {
            throw new IllegalArgumentException("pick: field " + k + " is missing or no number");
        }
        return ((BigDecimal) v).intValueExact();
    }

    /** A data file of the given size through DataFileMeta.forAppend, whatever its signature. */
    private static DataFileMeta file(String name, long size) throws Exception {
        Method m = null;
        for (Method x : DataFileMeta.class.getDeclaredMethods()) {
            if (x.getName().equals("forAppend") && Modifier.isStatic(x.getModifiers())
                    && (m == null || x.getParameterCount() > m.getParameterCount())) {
                m = x;
            }
        }
        if (m == null) {
            throw new Env.OracleException("DataFileMeta.forAppend not found");
        }
        m.setAccessible(true);
        Class<?>[] ps = m.getParameterTypes();
        Object[] args = new Object[ps.length];
        boolean sized = false;
        for (int i = 0; i < ps.length; i++) {
            Class<?> p = ps[i];
            if (p == String.class && i == 0) {
                args[i] = name;
            } else if (p == long.class) {
                // forAppend(fileName, fileSize, rowCount, ...): the first long is the size.
                args[i] = sized ? 1L : size;
                sized = true;
            } else if (p == int.class) {
                args[i] = 0;
            } else if (p == SimpleStats.class) {
                args[i] = SimpleStats.EMPTY_STATS;
            } else if (p == List.class) {
                args[i] = Collections.emptyList();
            } else if (p == BinaryRow.class) {
                args[i] = BinaryRow.EMPTY_ROW;
            } else {
                args[i] = null;
            }
        }
        return (DataFileMeta) m.invoke(null, args);
    }
}
