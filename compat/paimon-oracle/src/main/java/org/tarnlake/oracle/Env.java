package org.tarnlake.oracle;

import org.apache.paimon.catalog.Catalog;
import org.apache.paimon.catalog.CatalogContext;
import org.apache.paimon.catalog.CatalogFactory;
import org.apache.paimon.fs.FileIO;
import org.apache.paimon.fs.Path;
import org.apache.paimon.options.Options;
import org.apache.paimon.table.FileStoreTable;
import org.apache.paimon.table.FileStoreTableFactory;

import java.io.File;
import java.util.regex.Pattern;

/** File system options (S3 on MinIO or local) and table/catalog opening. */
public final class Env {
    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:.*");

    public String s3Endpoint = System.getenv("TARN_S3_ENDPOINT");
    public String s3AccessKey = System.getenv("AWS_ACCESS_KEY_ID");
    public String s3SecretKey = System.getenv("AWS_SECRET_ACCESS_KEY");

    public Options options() {
        Options o = new Options();
        if (s3Endpoint != null && !s3Endpoint.isEmpty()) {
            o.set("s3.endpoint", s3Endpoint);
            o.set("s3.path.style.access", "true");
        }
        if (s3AccessKey != null && !s3AccessKey.isEmpty()) {
            o.set("s3.access-key", s3AccessKey);
        }
        if (s3SecretKey != null && !s3SecretKey.isEmpty()) {
            o.set("s3.secret-key", s3SecretKey);
        }
        return o;
    }

    /** A local path, file:///..., or s3://bucket/path, as a Paimon path string. */
    public static String location(String arg) {
        String s = arg;
        if (!SCHEME.matcher(s).matches()) {
            s = new File(s).getAbsoluteFile().toPath().normalize().toString();
        }
        while (s.length() > 1 && s.endsWith("/") && !s.endsWith("://")) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }

    public FileIO fileIO(String location) throws Exception {
        return FileIO.get(new Path(location), CatalogContext.create(options()));
    }

    public FileStoreTable table(String arg) throws Exception {
        String loc = location(arg);
        FileIO io = fileIO(loc);
        Path p = new Path(loc);
        if (!io.exists(new Path(p, "schema"))) {
            throw new OracleException("not a Paimon table (no schema directory): " + loc);
        }
        return FileStoreTableFactory.create(io, p);
    }

    public Catalog catalog(String warehouse) {
        Options o = options();
        o.set("warehouse", location(warehouse));
        return CatalogFactory.createCatalog(CatalogContext.create(o));
    }

    /** An error with a message meant for the user (no stack trace). */
    public static final class OracleException extends RuntimeException {
        public OracleException(String msg) {
            super(msg);
        }

        public OracleException(String msg, Throwable cause) {
            super(msg, cause);
        }
    }
}
