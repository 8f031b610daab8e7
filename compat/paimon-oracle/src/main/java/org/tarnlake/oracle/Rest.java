package org.tarnlake.oracle;

import org.apache.paimon.catalog.Catalog;
import org.apache.paimon.catalog.CatalogContext;
import org.apache.paimon.catalog.CatalogFactory;
import org.apache.paimon.catalog.Identifier;
import org.apache.paimon.options.Options;
import org.apache.paimon.schema.SchemaChange;
import org.apache.paimon.table.FileStoreTable;
import org.apache.paimon.table.Table;
import org.apache.paimon.types.DataType;
import org.apache.paimon.utils.JsonSerdeUtil;

import java.io.BufferedReader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * rest-list, rest-read, rest-write and rest-alter: a table reached through Paimon's own REST catalog client
 * (RESTCatalog, metastore=rest) instead of its location. Data files are read and written
 * where the catalog says the table lives; a write commits through the catalog.
 */
final class Rest {
    private Rest() {}

    /** Paimon's REST catalog on uri with a bearer token (any token when the server has none). */
    static Catalog catalog(Env env, String uri, String token, String warehouse) {
        try {
            return open(env, uri, token, warehouse);
        } catch (UnsupportedOperationException e) {
            throw unsupported(e);
        }
    }

    /** Paimon 1.0's RESTCatalog leaves most of the Catalog interface unimplemented. */
    static Env.OracleException unsupported(UnsupportedOperationException e) {
        StackTraceElement[] st = e.getStackTrace();
        String where = st.length > 0 ? st[0].getClassName().replaceAll(".*\\.", "") + "." + st[0].getMethodName() : "?";
        return new Env.OracleException("Paimon " + Main.paimonVersion() + "'s REST catalog client does not implement "
                + where + " (UnsupportedOperationException)", e);
    }

    private static Catalog open(Env env, String uri, String token, String warehouse) {
        Options o = env.options();
        o.set("metastore", "rest");
        o.set("uri", uri);
        o.set("token.provider", "bear");
        o.set("token", token == null || token.isEmpty() ? "none" : token);
        o.set("warehouse", warehouse);
        try {
            return CatalogFactory.createCatalog(CatalogContext.create(o));
        } catch (IllegalArgumentException e) {
            // Paimon 1.0's RESTCatalog refuses the warehouse option (the server's config names it).
            if (e.getMessage() == null || !e.getMessage().contains("warehouse")) {
                throw e;
            }
            o.remove("warehouse");
            return CatalogFactory.createCatalog(CatalogContext.create(o));
        }
    }

    static FileStoreTable table(Catalog c, String name) throws Exception {
        Identifier id = Identifier.fromString(name);
        Table t;
        try {
            t = c.getTable(id);
        } catch (UnsupportedOperationException e) {
            throw unsupported(e);
        }
        if (!(t instanceof FileStoreTable)) {
            throw new Env.OracleException("the REST catalog returned a " + t.getClass().getName()
                    + " for " + name + ", not a file store table");
        }
        return (FileStoreTable) t;
    }

    /**
     * What the catalog lists (listDatabases, then listTables of each): a line per database,
     * then a line DB.TABLE per table of it, both sorted.
     */
    static void list(Env env, String uri, String token, String warehouse, java.io.PrintWriter out) throws Exception {
        try (Catalog c = catalog(env, uri, token, warehouse)) {
            List<String> dbs;
            try {
                dbs = new ArrayList<>(c.listDatabases());
            } catch (UnsupportedOperationException e) {
                throw unsupported(e);
            }
            Collections.sort(dbs);
            for (String db : dbs) {
                out.print(db + "\n");
                List<String> tables = new ArrayList<>(c.listTables(db));
                Collections.sort(tables);
                for (String t : tables) {
                    out.print(db + "." + t + "\n");
                }
            }
        }
    }

    /** The rows of the table (latest, a snapshot or a tag) as canonical JSON Lines. */
    static void read(Env env, String uri, String name, String token, String warehouse, Long snapshot, String tag,
            java.io.PrintWriter out) throws Exception {
        try (Catalog c = catalog(env, uri, token, warehouse)) {
            FileStoreTable t = table(c, name);
            if (t.snapshotManager().latestSnapshotId() == null) {
                if (snapshot != null || tag != null) {
                    throw new Env.OracleException("table has no snapshot");
                }
                return;
            }
            for (Canon.Line l : Ops.read(Ops.timeTravel(t, snapshot, tag))) {
                out.print(l.text);
                out.print('\n');
            }
        }
    }

    /** Writes canonical JSON Lines from in as one batch commit; returns the new latest snapshot. */
    static Long write(Env env, String uri, String name, String token, String warehouse, BufferedReader in)
            throws Exception {
        try (Catalog c = catalog(env, uri, token, warehouse)) {
            FileStoreTable t = table(c, name);
            long n = Ops.write(t, in);
            Long latest = t.snapshotManager().latestSnapshotId();
            System.err.println("wrote " + n + " rows through the REST catalog; latest snapshot " + latest);
            return latest;
        }
    }

    /**
     * Applies the changes in one {@code Catalog.alterTable(identifier, changes, false)} call
     * and returns the table's schema as the catalog then loads it (Paimon's JSON). Refusals
     * come back as Paimon's client maps the server's answer: ColumnNotExistException,
     * ColumnAlreadyExistException, IllegalArgumentException (400),
     * UnsupportedOperationException (501).
     */
    static String alter(Env env, String uri, String name, String token, String warehouse, List<String> specs)
            throws Exception {
        List<SchemaChange> changes = new ArrayList<>();
        for (String spec : specs) {
            changes.add(change(spec));
        }
        try (Catalog c = catalog(env, uri, token, warehouse)) {
            c.alterTable(Identifier.fromString(name), changes, false);
            return JsonSerdeUtil.toJson(table(c, name).schema());
        }
    }

    static final String CHANGES = String.join("\n",
            "CHANGE (PATH: a column, or a nested field as r.x; TYPE: SQL such as BIGINT, or Paimon's JSON type):",
            "  set:KEY=VALUE  unset:KEY  comment:TEXT (table comment; empty removes it)",
            "  add:PATH:TYPE[ FIRST| LAST| AFTER col| BEFORE col]  rename:PATH:NEWNAME  drop:PATH",
            "  widen:PATH:TYPE (updateColumnType keeping nullability)  type:PATH:TYPE (with the type's nullability)",
            "  nullable:PATH  notnull:PATH  colcomment:PATH:TEXT  move:COL:FIRST|LAST|AFTER:REF|BEFORE:REF",
            "  default:PATH:VALUE (Paimon 1.2+)  droppk (Paimon 1.2+)");

    /** One change from its command-line form (see CHANGES). */
    static SchemaChange change(String spec) {
        String[] p = spec.split(":", 2);
        String kind = p[0];
        String rest = p.length > 1 ? p[1] : null;
        switch (kind) {
            case "set":
                {
                    int eq = need(spec, rest).indexOf('=');
                    if (eq <= 0) {
                        throw new Main.UsageException("set:KEY=VALUE, got " + spec);
                    }
                    return SchemaChange.setOption(rest.substring(0, eq), rest.substring(eq + 1));
                }
            case "unset":
                return SchemaChange.removeOption(need(spec, rest));
            case "comment":
                return SchemaChange.updateComment(rest == null || rest.isEmpty() ? null : rest);
            case "add":
                {
                    String[] q = need(spec, rest).split(":", 2);
                    if (q.length != 2) {
                        throw new Main.UsageException("add:PATH:TYPE, got " + spec);
                    }
                    String type = q[1];
                    SchemaChange.Move move = null;
                    String[] path = path(q[0]);
                    String col = path[path.length - 1];
                    java.util.regex.Matcher m = java.util.regex.Pattern
                            .compile("^(.*?)\\s+(FIRST|LAST|AFTER\\s+(\\S+)|BEFORE\\s+(\\S+))$").matcher(type);
                    if (!type.startsWith("{") && m.matches()) {
                        type = m.group(1);
                        String where = m.group(2);
                        if (where.equals("FIRST")) {
                            move = SchemaChange.Move.first(col);
                        } else if (where.equals("LAST")) {
                            move = SchemaChange.Move.last(col);
                        } else if (m.group(3) != null) {
                            move = SchemaChange.Move.after(col, m.group(3));
                        } else {
                            move = SchemaChange.Move.before(col, m.group(4));
                        }
                    }
                    return SchemaChange.addColumn(path, type(type), null, move);
                }
            case "rename":
                {
                    String[] q = need(spec, rest).split(":", 2);
                    if (q.length != 2) {
                        throw new Main.UsageException("rename:PATH:NEWNAME, got " + spec);
                    }
                    return SchemaChange.renameColumn(path(q[0]), q[1]);
                }
            case "drop":
                return SchemaChange.dropColumn(path(need(spec, rest)));
            case "widen":
            case "type":
                {
                    String[] q = need(spec, rest).split(":", 2);
                    if (q.length != 2) {
                        throw new Main.UsageException(kind + ":PATH:TYPE, got " + spec);
                    }
                    return SchemaChange.updateColumnType(path(q[0]), type(q[1]), kind.equals("widen"));
                }
            case "nullable":
            case "notnull":
                return SchemaChange.updateColumnNullability(path(need(spec, rest)), kind.equals("nullable"));
            case "colcomment":
                {
                    String[] q = need(spec, rest).split(":", 2);
                    if (q.length != 2) {
                        throw new Main.UsageException("colcomment:PATH:TEXT, got " + spec);
                    }
                    return SchemaChange.updateColumnComment(path(q[0]), q[1]);
                }
            case "move":
                {
                    String[] q = need(spec, rest).split(":", 3);
                    String col = q[0];
                    String where = q.length > 1 ? q[1] : "";
                    String ref = q.length > 2 ? q[2] : null;
                    switch (where) {
                        case "FIRST":
                            return SchemaChange.updateColumnPosition(SchemaChange.Move.first(col));
                        case "LAST":
                            return SchemaChange.updateColumnPosition(SchemaChange.Move.last(col));
                        case "AFTER":
                            return SchemaChange.updateColumnPosition(SchemaChange.Move.after(col, need(spec, ref)));
                        case "BEFORE":
                            return SchemaChange.updateColumnPosition(SchemaChange.Move.before(col, need(spec, ref)));
                        default:
                            throw new Main.UsageException("move:COL:FIRST|LAST|AFTER:REF|BEFORE:REF, got " + spec);
                    }
                }
            case "default":
                {
                    String[] q = need(spec, rest).split(":", 2);
                    if (q.length != 2) {
                        throw new Main.UsageException("default:PATH:VALUE, got " + spec);
                    }
                    return newerChange("updateColumnDefaultValue", new Class<?>[] {String[].class, String.class},
                            path(q[0]), q[1]);
                }
            case "droppk":
                return newerChange("dropPrimaryKey", new Class<?>[0]);
            default:
                throw new Main.UsageException("unknown change " + spec + "\n" + CHANGES);
        }
    }

    private static String need(String spec, String part) {
        if (part == null || part.isEmpty()) {
            throw new Main.UsageException("incomplete change " + spec + "\n" + CHANGES);
        }
        return part;
    }

    private static String[] path(String dotted) {
        return dotted.split("\\.");
    }

    /** A type in SQL (atomic types) or in Paimon's JSON form, read by Paimon's own parser. */
    private static DataType type(String s) {
        String json = s.trim().startsWith("{") ? s : JsonSerdeUtil.toJson(s.trim());
        return JsonSerdeUtil.fromJson(json, DataType.class);
    }

    /** A SchemaChange factory that older Paimon releases lack. */
    private static SchemaChange newerChange(String method, Class<?>[] types, Object... args) {
        java.lang.reflect.Method m;
        try {
            m = SchemaChange.class.getMethod(method, types);
        } catch (NoSuchMethodException e) {
            throw new Env.OracleException("Paimon " + Main.paimonVersion() + " has no SchemaChange." + method);
        }
        try {
            return (SchemaChange) m.invoke(null, args);
        } catch (ReflectiveOperationException e) {
            throw new RuntimeException(e);
        }
    }
}
