package org.tarnlake.oracle;

import org.apache.paimon.data.DataGetters;
import org.apache.paimon.data.InternalArray;
import org.apache.paimon.data.InternalMap;
import org.apache.paimon.data.InternalRow;
import org.apache.paimon.data.Timestamp;
import org.apache.paimon.types.ArrayType;
import org.apache.paimon.types.DataField;
import org.apache.paimon.types.DataType;
import org.apache.paimon.types.DecimalType;
import org.apache.paimon.types.LocalZonedTimestampType;
import org.apache.paimon.types.MapType;
import org.apache.paimon.types.MultisetType;
import org.apache.paimon.types.RowType;
import org.apache.paimon.types.TimeType;
import org.apache.paimon.types.TimestampType;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;

/**
 * The canonical JSON Lines form of Paimon rows (see docs/compat.md, "Canonical JSON Lines").
 * Every rule here is mirrored in compat/pypaimon_read.py and in the Go implementation.
 */
public final class Canon {
    private Canon() {}

    /** One output row: its canonical line and the values used for ordering. */
    public static final class Line {
        public final String text;
        public final byte[] utf8;
        final Object[] keys;
        public final String rowKind; // null unless a change row

        Line(String text, Object[] keys, String rowKind) {
            this.text = text;
            this.utf8 = text.getBytes(StandardCharsets.UTF_8);
            this.keys = keys;
            this.rowKind = rowKind;
        }
    }

    // ---------------------------------------------------------------- rows

    /** Canonical JSON object of a row of the given row type; prefix is inserted after '{'. */
    public static String row(InternalRow row, RowType type, String prefix) {
        StringBuilder sb = new StringBuilder();
        sb.append('{');
        if (prefix != null) {
            sb.append(prefix);
        }
        List<DataField> fields = type.getFields();
        for (int i = 0; i < fields.size(); i++) {
            if (i > 0 || prefix != null) {
                sb.append(',');
            }
            string(sb, fields.get(i).name());
            sb.append(':');
            value(sb, row, i, fields.get(i).type());
        }
        sb.append('}');
        return sb.toString();
    }

    /** Builds a sortable line; sortCols are indexes into the row type. */
    public static Line line(InternalRow row, RowType type, int[] sortCols, String rowKind) {
        String prefix = rowKind == null ? null : "\"_ROW_KIND\":\"" + rowKind + "\"";
        String text = row(row, type, prefix);
        Object[] keys = new Object[sortCols.length];
        for (int i = 0; i < sortCols.length; i++) {
            keys[i] = sortKey(row, sortCols[i], type.getTypeAt(sortCols[i]));
        }
        return new Line(text, keys, rowKind);
    }

    /** Sort columns: the primary key in key order, else all columns. */
    public static int[] sortColumns(RowType type, List<String> primaryKeys) {
        if (primaryKeys == null || primaryKeys.isEmpty()) {
            int[] all = new int[type.getFieldCount()];
            for (int i = 0; i < all.length; i++) {
                all[i] = i;
            }
            return all;
        }
        int[] cols = new int[primaryKeys.size()];
        for (int i = 0; i < cols.length; i++) {
            cols[i] = type.getFieldIndex(primaryKeys.get(i));
            if (cols[i] < 0) {
                throw new IllegalStateException("primary key column not in row type: " + primaryKeys.get(i));
            }
        }
        return cols;
    }

    /** Order by the sort keys, ties by the whole line byte-wise. */
    public static final Comparator<Line> FULL_ORDER = (a, b) -> {
        int c = compareKeys(a.keys, b.keys);
        return c != 0 ? c : Arrays.compareUnsigned(a.utf8, b.utf8);
    };

    /** Order by the sort keys only (for stable sorting of change rows). */
    public static final Comparator<Line> KEY_ORDER = (a, b) -> compareKeys(a.keys, b.keys);

    static int compareKeys(Object[] a, Object[] b) {
        for (int i = 0; i < a.length; i++) {
            int c = compareKey(a[i], b[i]);
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static int compareKey(Object a, Object b) {
        if (a == null || b == null) {
            return a == null ? (b == null ? 0 : -1) : 1;
        }
        if (a instanceof byte[]) {
            return Arrays.compareUnsigned((byte[]) a, (byte[]) b);
        }
        if (a instanceof Double) {
            return Double.compare((Double) a, (Double) b);
        }
        return ((Comparable) a).compareTo(b);
    }

    /** Comparable form of a value for ordering (see docs/compat.md, "Row order"). */
    static Object sortKey(DataGetters g, int pos, DataType t) {
        if (g.isNullAt(pos)) {
            return null;
        }
        switch (t.getTypeRoot()) {
            case BOOLEAN:
                return g.getBoolean(pos) ? 1L : 0L;
            case TINYINT:
                return (long) g.getByte(pos);
            case SMALLINT:
                return (long) g.getShort(pos);
            case INTEGER:
            case DATE:
            case TIME_WITHOUT_TIME_ZONE:
                return (long) g.getInt(pos);
            case BIGINT:
                return g.getLong(pos);
            case FLOAT:
                return (double) g.getFloat(pos);
            case DOUBLE:
                return g.getDouble(pos);
            case DECIMAL:
                {
                    DecimalType d = (DecimalType) t;
                    return g.getDecimal(pos, d.getPrecision(), d.getScale()).toBigDecimal();
                }
            case CHAR:
            case VARCHAR:
                return g.getString(pos).toBytes();
            case BINARY:
            case VARBINARY:
                return g.getBinary(pos);
            case TIMESTAMP_WITHOUT_TIME_ZONE:
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                {
                    Timestamp ts = g.getTimestamp(pos, precision(t));
                    return new BigDecimal(ts.getMillisecond()).movePointRight(6)
                            .add(BigDecimal.valueOf(ts.getNanoOfMillisecond()));
                }
            default:
                {
                    StringBuilder sb = new StringBuilder();
                    value(sb, g, pos, t);
                    return sb.toString().getBytes(StandardCharsets.UTF_8);
                }
        }
    }

    // ---------------------------------------------------------------- values

    static int precision(DataType t) {
        if (t instanceof TimestampType) {
            return ((TimestampType) t).getPrecision();
        }
        if (t instanceof LocalZonedTimestampType) {
            return ((LocalZonedTimestampType) t).getPrecision();
        }
        if (t instanceof TimeType) {
            return ((TimeType) t).getPrecision();
        }
        throw new IllegalArgumentException("no precision: " + t);
    }

    /** Appends the canonical JSON of the value at pos. */
    public static void value(StringBuilder sb, DataGetters g, int pos, DataType t) {
        if (g.isNullAt(pos)) {
            sb.append("null");
            return;
        }
        switch (t.getTypeRoot()) {
            case BOOLEAN:
                sb.append(g.getBoolean(pos) ? "true" : "false");
                return;
            case TINYINT:
                sb.append(g.getByte(pos));
                return;
            case SMALLINT:
                sb.append(g.getShort(pos));
                return;
            case INTEGER:
                sb.append(g.getInt(pos));
                return;
            case BIGINT:
                sb.append(g.getLong(pos));
                return;
            case FLOAT:
                sb.append(FloatFormat.json(g.getFloat(pos)));
                return;
            case DOUBLE:
                sb.append(FloatFormat.json(g.getDouble(pos)));
                return;
            case DECIMAL:
                {
                    DecimalType d = (DecimalType) t;
                    BigDecimal v = g.getDecimal(pos, d.getPrecision(), d.getScale()).toBigDecimal();
                    sb.append('"').append(decimal(v, d.getScale())).append('"');
                    return;
                }
            case CHAR:
            case VARCHAR:
                string(sb, g.getString(pos).toString());
                return;
            case BINARY:
            case VARBINARY:
                sb.append('"').append(Base64.getEncoder().encodeToString(g.getBinary(pos))).append('"');
                return;
            case DATE:
                sb.append('"').append(date(g.getInt(pos))).append('"');
                return;
            case TIME_WITHOUT_TIME_ZONE:
                sb.append('"').append(time(g.getInt(pos), precision(t))).append('"');
                return;
            case TIMESTAMP_WITHOUT_TIME_ZONE:
                {
                    int p = precision(t);
                    sb.append('"').append(timestamp(g.getTimestamp(pos, p), p)).append('"');
                    return;
                }
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                {
                    int p = precision(t);
                    sb.append('"').append(timestamp(g.getTimestamp(pos, p), p)).append("Z\"");
                    return;
                }
            case ARRAY:
                {
                    DataType et = ((ArrayType) t).getElementType();
                    InternalArray a = g.getArray(pos);
                    sb.append('[');
                    for (int i = 0; i < a.size(); i++) {
                        if (i > 0) {
                            sb.append(',');
                        }
                        value(sb, a, i, et);
                    }
                    sb.append(']');
                    return;
                }
            case MAP:
                {
                    MapType mt = (MapType) t;
                    pairs(sb, g.getMap(pos), mt.getKeyType(), mt.getValueType());
                    return;
                }
            case MULTISET:
                {
                    MultisetType mt = (MultisetType) t;
                    pairs(sb, g.getMap(pos), mt.getElementType(), new org.apache.paimon.types.IntType());
                    return;
                }
            case ROW:
                {
                    RowType rt = (RowType) t;
                    sb.append(row(g.getRow(pos, rt.getFieldCount()), rt, null));
                    return;
                }
            default:
                throw new UnsupportedOperationException("unsupported type: " + t);
        }
    }

    private static void pairs(StringBuilder sb, InternalMap m, DataType kt, DataType vt) {
        InternalArray keys = m.keyArray();
        InternalArray values = m.valueArray();
        List<String[]> entries = new ArrayList<>();
        for (int i = 0; i < m.size(); i++) {
            StringBuilder k = new StringBuilder();
            value(k, keys, i, kt);
            StringBuilder v = new StringBuilder();
            value(v, values, i, vt);
            entries.add(new String[] {k.toString(), v.toString()});
        }
        entries.sort((a, b) -> {
            int c = Arrays.compareUnsigned(
                    a[0].getBytes(StandardCharsets.UTF_8), b[0].getBytes(StandardCharsets.UTF_8));
            return c != 0 ? c : Arrays.compareUnsigned(
                    a[1].getBytes(StandardCharsets.UTF_8), b[1].getBytes(StandardCharsets.UTF_8));
        });
        sb.append('[');
        for (int i = 0; i < entries.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append('[').append(entries.get(i)[0]).append(',').append(entries.get(i)[1]).append(']');
        }
        sb.append(']');
    }

    public static String decimal(BigDecimal v, int scale) {
        return v.setScale(scale, java.math.RoundingMode.UNNECESSARY).toPlainString();
    }

    public static String date(int epochDay) {
        return pad4(LocalDate.ofEpochDay(epochDay));
    }

    private static String pad4(LocalDate d) {
        int y = d.getYear();
        if (y < 0 || y > 9999) {
            throw new IllegalArgumentException("year out of range 0000-9999: " + d);
        }
        return String.format("%04d-%02d-%02d", y, d.getMonthValue(), d.getDayOfMonth());
    }

    public static String time(int millisOfDay, int p) {
        int h = millisOfDay / 3_600_000;
        int m = millisOfDay / 60_000 % 60;
        int s = millisOfDay / 1000 % 60;
        int ms = millisOfDay % 1000;
        String base = String.format("%02d:%02d:%02d", h, m, s);
        return base + fraction(ms * 1_000_000, p);
    }

    public static String timestamp(Timestamp ts, int p) {
        LocalDateTime t = ts.toLocalDateTime();
        return pad4(t.toLocalDate())
                + String.format("T%02d:%02d:%02d", t.getHour(), t.getMinute(), t.getSecond())
                + fraction(t.getNano(), p);
    }

    /** "." and exactly p digits of the nanoseconds (truncated), or "" when p == 0. */
    static String fraction(int nanos, int p) {
        if (p == 0) {
            return "";
        }
        String nine = String.format("%09d", nanos);
        if (p <= 9) {
            return "." + nine.substring(0, p);
        }
        throw new IllegalArgumentException("precision > 9");
    }

    /** JSON string as Go's encoding/json writes it with HTML escaping off. */
    public static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    sb.append("\\\"");
                    break;
                case '\\':
                    sb.append("\\\\");
                    break;
                case '\b':
                    sb.append("\\b");
                    break;
                case '\f':
                    sb.append("\\f");
                    break;
                case '\n':
                    sb.append("\\n");
                    break;
                case '\r':
                    sb.append("\\r");
                    break;
                case '\t':
                    sb.append("\\t");
                    break;
                case '\u2028':
                    sb.append("\\u2028");
                    break;
                case '\u2029':
                    sb.append("\\u2029");
                    break;
                default:
                    if (c < 0x20) {
                        sb.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xF]);
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    static String instantString(Instant i) {
        return timestamp(Timestamp.fromInstant(i), 9);
    }

    static LocalDateTime utc(Instant i) {
        return LocalDateTime.ofInstant(i, ZoneOffset.UTC);
    }
}
