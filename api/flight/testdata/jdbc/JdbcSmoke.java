// JdbcSmoke connects with Apache Arrow's Flight SQL JDBC driver and prints, one per line,
// the results of the database metadata calls and of each query given after the URL.
// Run: java --add-opens=java.base/java.nio=ALL-UNNAMED -cp flight-sql-jdbc-driver.jar JdbcSmoke.java URL QUERY...
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;

public class JdbcSmoke {
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            DatabaseMetaData md = c.getMetaData();
            print("catalogs", md.getCatalogs());
            print("schemas", md.getSchemas());
            print("tables", md.getTables(null, null, "%", null));
            print("columns", md.getColumns(null, "db", "t", "%"), "TABLE_NAME", "COLUMN_NAME", "TYPE_NAME");
            print("primary keys", md.getPrimaryKeys(null, "db", "t"), "COLUMN_NAME", "KEY_SEQ");
            for (int i = 1; i < args.length; i++) {
                try (Statement s = c.createStatement()) {
                    print("query " + args[i], s.executeQuery(args[i]));
                }
                try (PreparedStatement p = c.prepareStatement(args[i])) {
                    print("prepared " + args[i], p.executeQuery());
                }
            }
        }
    }

    static void print(String what, ResultSet rs, String... cols) throws Exception {
        System.out.println("# " + what);
        ResultSetMetaData m = rs.getMetaData();
        while (rs.next()) {
            StringBuilder b = new StringBuilder();
            if (cols.length > 0) {
                for (String col : cols) {
                    b.append(b.length() == 0 ? "" : "\t").append(rs.getString(col));
                }
            } else {
                for (int i = 1; i <= m.getColumnCount(); i++) {
                    b.append(i == 1 ? "" : "\t").append(m.getColumnLabel(i)).append('=').append(rs.getString(i));
                }
            }
            System.out.println(b);
        }
        rs.close();
    }
}
