package org.tarnlake.oracle;

import org.apache.paimon.catalog.Catalog;
import org.apache.paimon.catalog.CatalogContext;
import org.apache.paimon.catalog.CatalogFactory;
import org.apache.paimon.catalog.Identifier;
import org.apache.paimon.options.Options;
import org.apache.paimon.table.FileStoreTable;
import org.apache.paimon.table.Table;

import java.io.BufferedReader;

/**
 * rest-read and rest-write: a table reached through Paimon's own REST catalog client
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
}
