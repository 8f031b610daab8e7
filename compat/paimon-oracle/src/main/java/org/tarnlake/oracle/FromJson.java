package org.tarnlake.oracle;

import org.apache.paimon.data.BinaryString;
import org.apache.paimon.data.Decimal;
import org.apache.paimon.data.GenericArray;
import org.apache.paimon.data.GenericMap;
import org.apache.paimon.data.GenericRow;
import org.apache.paimon.data.Timestamp;
import org.apache.paimon.types.ArrayType;
import org.apache.paimon.types.DataField;
import org.apache.paimon.types.DataType;
import org.apache.paimon.types.DecimalType;
import org.apache.paimon.types.MapType;
import org.apache.paimon.types.MultisetType;
import org.apache.paimon.types.RowKind;
import org.apache.paimon.types.RowType;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Canonical JSON (docs/compat.md) to Paimon's internal data structures. */
public final class FromJson {
    private FromJson() {}

    /** A JSON object (one input line) to a row; "_ROW_KIND" picks the row kind. */
    public static GenericRow row(Map<String, Object> obj, RowType type) {
        GenericRow row = new GenericRow(type.getFieldCount());
        Object kind = obj.get("_ROW_KIND");
        if (kind != null) {
            row.setRowKind(RowKind.fromShortString((String) kind));
        }
        for (String k : obj.keySet()) {
            if (!k.equals("_ROW_KIND") && !k.equals("_SNAPSHOT_ID") && type.getFieldIndex(k) < 0) {
                throw new IllegalArgumentException("unknown column: " + k);
            }
        }
        List<DataField> fields = type.getFields();
        for (int i = 0; i < fields.size(); i++) {
            DataField f = fields.get(i);
            try {
                row.setField(i, value(obj.get(f.name()), f.type()));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("column " + f.name() + ": " + e.getMessage(), e);
            }
        }
        return row;
    }

    @SuppressWarnings("unchecked")
    public static Object value(Object v, DataType t) {
        if (v == null) {
            return null;
        }
        switch (t.getTypeRoot()) {
            case BOOLEAN:
                return (Boolean) v;
            case TINYINT:
                return num(v).byteValueExact();
            case SMALLINT:
                return num(v).shortValueExact();
            case INTEGER:
                return num(v).intValueExact();
            case BIGINT:
                return num(v).longValueExact();
            case FLOAT:
                return v instanceof String ? (float) special((String) v) : Float.parseFloat(v.toString());
            case DOUBLE:
                return v instanceof String ? special((String) v) : Double.parseDouble(v.toString());
            case DECIMAL:
                {
                    DecimalType d = (DecimalType) t;
                    BigDecimal bd = v instanceof String ? new BigDecimal((String) v) : num(v);
                    Decimal dec = Decimal.fromBigDecimal(bd, d.getPrecision(), d.getScale());
                    if (dec == null) {
                        throw new IllegalArgumentException("decimal out of range: " + v);
                    }
                    return dec;
                }
            case CHAR:
            case VARCHAR:
                return BinaryString.fromString((String) v);
            case BINARY:
            case VARBINARY:
                return Base64.getDecoder().decode((String) v);
            case DATE:
                return (int) LocalDate.parse((String) v).toEpochDay();
            case TIME_WITHOUT_TIME_ZONE:
                return (int) (LocalTime.parse((String) v).toNanoOfDay() / 1_000_000L);
            case TIMESTAMP_WITHOUT_TIME_ZONE:
                return Timestamp.fromLocalDateTime(LocalDateTime.parse((String) v));
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                {
                    String s = (String) v;
                    if (s.endsWith("Z")) {
                        s = s.substring(0, s.length() - 1);
                    }
                    return Timestamp.fromInstant(LocalDateTime.parse(s).toInstant(ZoneOffset.UTC));
                }
            case ARRAY:
                {
                    List<Object> l = (List<Object>) v;
                    DataType et = ((ArrayType) t).getElementType();
                    Object[] out = new Object[l.size()];
                    for (int i = 0; i < out.length; i++) {
                        out[i] = value(l.get(i), et);
                    }
                    return new GenericArray(out);
                }
            case MAP:
                {
                    MapType mt = (MapType) t;
                    return new GenericMap(pairs(v, mt.getKeyType(), mt.getValueType()));
                }
            case MULTISET:
                {
                    MultisetType mt = (MultisetType) t;
                    return new GenericMap(pairs(v, mt.getElementType(), new org.apache.paimon.types.IntType()));
                }
            case ROW:
                {
                    RowType rt = (RowType) t;
                    Map<String, Object> m = (Map<String, Object>) v;
                    GenericRow r = new GenericRow(rt.getFieldCount());
                    for (int i = 0; i < rt.getFieldCount(); i++) {
                        r.setField(i, value(m.get(rt.getFields().get(i).name()), rt.getTypeAt(i)));
                    }
                    return r;
                }
            default:
                throw new UnsupportedOperationException("unsupported type: " + t);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<Object, Object> pairs(Object v, DataType kt, DataType vt) {
        Map<Object, Object> m = new LinkedHashMap<>();
        if (v instanceof Map) {
            for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) {
                m.put(value(e.getKey(), kt), value(e.getValue(), vt));
            }
            return m;
        }
        for (Object p : (List<Object>) v) {
            List<Object> pair = (List<Object>) p;
            if (pair.size() != 2) {
                throw new IllegalArgumentException("map entry must be [key, value]");
            }
            m.put(value(pair.get(0), kt), value(pair.get(1), vt));
        }
        return m;
    }

    private static BigDecimal num(Object v) {
        if (v instanceof BigDecimal) {
            return (BigDecimal) v;
        }
        return new BigDecimal(v.toString());
    }

    private static double special(String s) {
        switch (s) {
            case "NaN":
                return Double.NaN;
            case "Infinity":
                return Double.POSITIVE_INFINITY;
            case "-Infinity":
                return Double.NEGATIVE_INFINITY;
            default:
                return Double.parseDouble(s);
        }
    }
}
