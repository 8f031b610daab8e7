// A client of Tarn's REST catalog on Apache Paimon's own RESTCatalog: it lists, loads and
// reads the tables Tarn wrote, then creates a table and commits into it through the
// catalog's commit endpoint. Output lines are compared by server/paimon_java_test.go.
//
// Usage: java -cp paimon-oracle.jar:. RestSmoke URI TOKEN WAREHOUSE
import org.apache.paimon.catalog.Catalog;
import org.apache.paimon.catalog.CatalogContext;
import org.apache.paimon.catalog.CatalogFactory;
import org.apache.paimon.catalog.Identifier;
import org.apache.paimon.data.BinaryString;
import org.apache.paimon.data.GenericRow;
import org.apache.paimon.data.InternalRow;
import org.apache.paimon.options.Options;
import org.apache.paimon.partition.Partition;
import org.apache.paimon.reader.RecordReader;
import org.apache.paimon.schema.Schema;
import org.apache.paimon.table.Table;
import org.apache.paimon.table.sink.BatchTableCommit;
import org.apache.paimon.table.sink.BatchTableWrite;
import org.apache.paimon.table.sink.BatchWriteBuilder;
import org.apache.paimon.table.source.ReadBuilder;
import org.apache.paimon.types.DataField;
import org.apache.paimon.types.DataTypes;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

public class RestSmoke {
    static List<String> rows(Table t) throws Exception {
        ReadBuilder rb = t.newReadBuilder();
        List<DataField> fields = t.rowType().getFields();
        List<InternalRow.FieldGetter> getters = new ArrayList<>();
        for (int i = 0; i < fields.size(); i++) {
            getters.add(InternalRow.createFieldGetter(fields.get(i).type(), i));
        }
        List<String> out = new ArrayList<>();
        try (RecordReader<InternalRow> r = rb.newRead().createReader(rb.newScan().plan().splits())) {
            r.forEachRemaining(row -> {
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < getters.size(); i++) {
                    if (i > 0) sb.append('|');
                    sb.append(getters.get(i).getFieldOrNull(row));
                }
                out.add(sb.toString());
            });
        }
        Collections.sort(out);
        return out;
    }

    public static void main(String[] args) throws Exception {
        Options o = new Options();
        o.set("metastore", "rest");
        o.set("uri", args[0]);
        o.set("token.provider", "bear");
        o.set("token", args[1]);
        o.set("warehouse", args[2]);
        try (Catalog c = CatalogFactory.createCatalog(CatalogContext.create(o))) {
            System.out.println("databases " + c.listDatabases());
            System.out.println("tables " + c.listTables("db"));
            Identifier events = Identifier.create("db", "events");
            Table t = c.getTable(events);
            System.out.println("schema " + t.rowType().getFieldNames() + " pk " + t.primaryKeys() + " partition " + t.partitionKeys());
            for (String r : rows(t)) System.out.println("row " + r);
            System.out.println("snapshot " + c.loadSnapshot(events).get().snapshot().id());
            List<String> parts = new ArrayList<>();
            for (Partition p : c.listPartitions(events)) parts.add(p.spec() + "=" + p.recordCount());
            Collections.sort(parts);
            System.out.println("partitions " + parts);

            c.createDatabase("jdb", true);
            Identifier jt = Identifier.create("jdb", "jt");
            c.createTable(jt, Schema.newBuilder()
                    .column("dt", DataTypes.STRING().notNull())
                    .column("id", DataTypes.BIGINT().notNull())
                    .column("note", DataTypes.STRING())
                    .primaryKey("dt", "id").partitionKeys("dt").option("bucket", "1").build(), false);
            for (int round = 0; round < 2; round++) {
                Table w = c.getTable(jt);
                BatchWriteBuilder wb = w.newBatchWriteBuilder();
                try (BatchTableWrite bw = wb.newWrite(); BatchTableCommit cm = wb.newCommit()) {
                    bw.write(GenericRow.of(BinaryString.fromString("2026-02-0" + (round + 1)), (long) round, BinaryString.fromString("java" + round)));
                    bw.write(GenericRow.of(BinaryString.fromString("2026-02-01"), 7L, BinaryString.fromString("round" + round)));
                    cm.commit(bw.prepareCommit());
                }
            }
            Table read = c.getTable(jt);
            for (String r : rows(read)) System.out.println("jrow " + r);
            System.out.println("jsnapshot " + c.loadSnapshot(jt).get().snapshot().id());
        }
        System.out.println("OK");
    }
}
