// JdbcClient connects to Tarn's Flight SQL service with Apache Arrow's Flight SQL JDBC
// driver, prints the catalogs, schemas and tables the driver lists, then runs each query as
// a plain and as a prepared statement and prints its rows as canonical JSON Lines
// (docs/compat.md) for the column types of compat/peers' tables.
//
// Run: java -Duser.timezone=UTC --add-opens=java.base/java.nio=ALL-UNNAMED \
//        -cp flight-sql-jdbc-driver.jar JdbcClient.java URL NAME SQL [NAME SQL ...]
// Output: "# catalogs", "# schemas", "# tables" with tab-separated lines, then
// "# NAME" and "# NAME.prepared" each followed by one JSON object per row.
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.sql.Types;
import java.time.format.DateTimeFormatter;

public class JdbcClient {
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            DatabaseMetaData md = c.getMetaData();
            list("catalogs", md.getCatalogs(), "TABLE_CAT");
            list("schemas", md.getSchemas(), "TABLE_CATALOG", "TABLE_SCHEM");
            list("tables", md.getTables(null, null, "%", null), "TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE");
            for (int i = 1; i + 1 < args.length; i += 2) {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(args[i + 1])) {
                    rows(args[i], rs);
                }
                try (PreparedStatement p = c.prepareStatement(args[i + 1]); ResultSet rs = p.executeQuery()) {
                    rows(args[i] + ".prepared", rs);
                }
            }
        }
    }

    static void list(String what, ResultSet rs, String... cols) throws Exception {
        System.out.println("# " + what);
        while (rs.next()) {
            StringBuilder b = new StringBuilder();
            for (String col : cols) {
                b.append(b.length() == 0 ? "" : "\t").append(rs.getString(col));
            }
            System.out.println(b);
        }
        rs.close();
    }

    static final DateTimeFormatter TS3 = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS");

    static void rows(String name, ResultSet rs) throws Exception {
        System.out.println("# " + name);
        ResultSetMetaData m = rs.getMetaData();
        while (rs.next()) {
            StringBuilder b = new StringBuilder("{");
            for (int i = 1; i <= m.getColumnCount(); i++) {
                if (i > 1) {
                    b.append(',');
                }
                b.append(quote(m.getColumnLabel(i))).append(':').append(value(rs, m, i));
            }
            System.out.println(b.append('}'));
        }
    }

    /** The canonical JSON of column i (the types compat/peers' tables use). */
    static String value(ResultSet rs, ResultSetMetaData m, int i) throws Exception {
        Object o = rs.getObject(i);
        if (o == null || rs.wasNull()) {
            return "null";
        }
        switch (m.getColumnType(i)) {
            case Types.BIGINT:
            case Types.INTEGER:
            case Types.SMALLINT:
            case Types.TINYINT:
                return Long.toString(rs.getLong(i));
            case Types.BOOLEAN:
            case Types.BIT:
                return Boolean.toString(rs.getBoolean(i));
            case Types.DOUBLE:
            case Types.FLOAT:
            case Types.REAL: {
                double d = rs.getDouble(i);
                if (d == Math.rint(d) && Math.abs(d) < 1e21) {
                    return Long.toString((long) d); // Go prints integral doubles without ".0"
                }
                return new BigDecimal(Double.toString(d)).stripTrailingZeros().toPlainString();
            }
            case Types.DECIMAL:
            case Types.NUMERIC:
                return quote(rs.getBigDecimal(i).toPlainString());
            case Types.DATE:
                return quote(rs.getDate(i).toLocalDate().toString());
            case Types.TIMESTAMP:
                return quote(rs.getTimestamp(i).toLocalDateTime().format(TS3));
            default:
                return quote(rs.getString(i));
        }
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (ch < 0x20) {
                        b.append(String.format("\\u%04x", (int) ch));
                    } else {
                        b.append(ch);
                    }
            }
        }
        return b.append('"').toString();
    }
}
