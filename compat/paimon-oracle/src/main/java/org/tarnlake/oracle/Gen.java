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
import org.apache.paimon.types.DataTypes;
import org.apache.paimon.types.DecimalType;
import org.apache.paimon.types.MapType;
import org.apache.paimon.types.MultisetType;
import org.apache.paimon.types.RowType;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Deterministic random values (java.util.Random(seed)) for every Paimon type, with edge cases. */
final class Gen {
    final Random rnd;

    /**
     * Paimon's ORC path shifts timestamps before 1970 that have a fraction of a second by +1s
     * (ORC's negative-timestamp handling) and reads years before 1582 in the Julian calendar, so ORC
     * tables get timestamps from 1900 on, whole seconds before 1970.
     */
    boolean orc;

    Gen(long seed) {
        this.rnd = new Random(seed);
    }

    /** The all-types row type (first column id INT is the key of the PK variants). */
    static RowType allTypes() {
        return RowType.of(
                new DataType[] {
                    DataTypes.INT().notNull(),
                    DataTypes.BOOLEAN(),
                    DataTypes.TINYINT(),
                    DataTypes.SMALLINT(),
                    DataTypes.INT(),
                    DataTypes.BIGINT(),
                    DataTypes.FLOAT(),
                    DataTypes.DOUBLE(),
                    DataTypes.DECIMAL(10, 2),
                    DataTypes.DECIMAL(38, 10),
                    DataTypes.CHAR(5),
                    DataTypes.VARCHAR(20),
                    DataTypes.STRING(),
                    DataTypes.BINARY(4),
                    DataTypes.VARBINARY(10),
                    DataTypes.BYTES(),
                    DataTypes.DATE(),
                    DataTypes.TIME(),
                    DataTypes.TIME(3),
                    DataTypes.TIMESTAMP(0),
                    DataTypes.TIMESTAMP(3),
                    DataTypes.TIMESTAMP(6),
                    DataTypes.TIMESTAMP(9),
                    DataTypes.TIMESTAMP_WITH_LOCAL_TIME_ZONE(3),
                    DataTypes.TIMESTAMP_WITH_LOCAL_TIME_ZONE(6),
                    DataTypes.ARRAY(DataTypes.INT()),
                    DataTypes.ARRAY(DataTypes.STRING()),
                    DataTypes.MAP(DataTypes.STRING().notNull(), DataTypes.BIGINT()),
                    DataTypes.MULTISET(DataTypes.STRING().notNull()),
                    DataTypes.ROW(
                            DataTypes.FIELD(0, "f_int", DataTypes.INT()),
                            DataTypes.FIELD(1, "f_string", DataTypes.STRING()),
                            DataTypes.FIELD(2, "f_array", DataTypes.ARRAY(DataTypes.DOUBLE())),
                            DataTypes.FIELD(3, "f_row", DataTypes.ROW(
                                    DataTypes.FIELD(4, "g_date", DataTypes.DATE()),
                                    DataTypes.FIELD(5, "g_ts", DataTypes.TIMESTAMP(3)))))
                },
                new String[] {
                    "id", "c_boolean", "c_tinyint", "c_smallint", "c_int", "c_bigint", "c_float", "c_double",
                    "c_decimal_10_2", "c_decimal_38_10", "c_char", "c_varchar", "c_string", "c_binary",
                    "c_varbinary", "c_bytes", "c_date", "c_time", "c_time3", "c_ts0", "c_ts3", "c_ts6", "c_ts9",
                    "c_ltz3", "c_ltz6", "c_array", "c_array_string", "c_map", "c_multiset", "c_row"
                });
    }

    // Edge values, used by the first rows of the all-types tables (index = edge row number).
    static final float[] EDGE_FLOATS = {
        0.1f, -0.0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e-7f, Float.MAX_VALUE,
        Float.MIN_VALUE, 16777217f, 1e21f, 1e20f, 3.14159f, -2.5f, 1.0f
    };
    static final double[] EDGE_DOUBLES = {
        0.1, -0.0, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 1e-7, Double.MAX_VALUE,
        Double.MIN_VALUE, 0.1 + 0.2, 1e21, 1e20, 123456789.125, -2.5e-8, 1.0
    };
    static final String[] EDGE_STRINGS = {
        "", "plain", "quote\" backslash\\ slash/", "tab\tnewline\nreturn\r", "ctl\u0001\u001f\b\f",
        "html <&> \u2028\u2029", "unicode é ß 中文", "emoji 😀", "del\u007f", " lead and trail ",
        "0", "null", "a", "zzzz"
    };
    static final String[] EDGE_DATES = {
        "1970-01-01", "1969-12-31", "2000-02-29", "0001-01-01", "9999-12-31", "1900-01-01", "2024-06-30"
    };
    static final String[] EDGE_TIMESTAMPS = {
        "1970-01-01T00:00:00", "1969-12-31T23:59:59.999999999", "2000-02-29T12:34:56.123456789",
        "0001-01-01T00:00:00", "9999-12-31T23:59:59.999999999", "1900-01-01T00:00:00.000000001",
        "2024-06-30T23:59:59.5"
    };

    /** Whether TIMESTAMP(7..9) values may lie outside 1678..2261 (nanoseconds in a long). */
    boolean nanoExtremes;

    boolean chance(double p) {
        return rnd.nextDouble() < p;
    }

    /** The all-types row type without TIMESTAMP(9) (Avro data files hold at most microseconds). */
    static RowType allTypesAvro() {
        RowType t = allTypes();
        return new RowType(t.getFields().stream().filter(f -> !f.name().equals("c_ts9"))
                .collect(java.util.stream.Collectors.toList()));
    }

    /** The all-types row type without MULTISET (for readers without MULTISET, e.g. pypaimon). */
    static RowType allTypesNoMultiset() {
        RowType t = allTypes();
        return new RowType(t.getFields().stream().filter(f -> !f.name().equals("c_multiset"))
                .collect(java.util.stream.Collectors.toList()));
    }

    /** A random row of the all-types type t; edge >= 0 selects edge values (edge rows 0..13). */
    GenericRow allTypesRow(RowType t, int id, int edge) {
        GenericRow r = new GenericRow(t.getFieldCount());
        r.setField(0, id);
        for (int i = 1; i < t.getFieldCount(); i++) {
            if (edge == 0) {
                r.setField(i, null); // the all-null row
            } else {
                r.setField(i, value(t.getTypeAt(i), edge));
            }
        }
        return r;
    }

    /** Random value of a type (nullable types are null with probability 0.12). */
    Object value(DataType t, int edge) {
        if (t.isNullable() && edge < 0 && chance(0.12)) {
            return null;
        }
        switch (t.getTypeRoot()) {
            case BOOLEAN:
                return edge >= 0 ? edge % 2 == 0 : rnd.nextBoolean();
            case TINYINT:
                return edge == 1 ? Byte.MIN_VALUE : edge == 2 ? Byte.MAX_VALUE : (byte) rnd.nextInt(256);
            case SMALLINT:
                return edge == 1 ? Short.MIN_VALUE : edge == 2 ? Short.MAX_VALUE : (short) rnd.nextInt(65536);
            case INTEGER:
                return edge == 1 ? Integer.MIN_VALUE : edge == 2 ? Integer.MAX_VALUE
                        : rnd.nextBoolean() ? rnd.nextInt(1000) - 500 : rnd.nextInt();
            case BIGINT:
                return edge == 1 ? Long.MIN_VALUE : edge == 2 ? Long.MAX_VALUE
                        : rnd.nextBoolean() ? (long) rnd.nextInt(100000) : rnd.nextLong();
            case FLOAT:
                if (edge >= 0) {
                    return EDGE_FLOATS[edge % EDGE_FLOATS.length];
                }
                return (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(16) - 8));
            case DOUBLE:
                if (edge >= 0) {
                    return EDGE_DOUBLES[edge % EDGE_DOUBLES.length];
                }
                return rnd.nextGaussian() * Math.pow(10, rnd.nextInt(40) - 20);
            case DECIMAL:
                {
                    DecimalType d = (DecimalType) t;
                    BigInteger max = BigInteger.TEN.pow(d.getPrecision()).subtract(BigInteger.ONE);
                    BigInteger unscaled;
                    if (edge == 1) {
                        unscaled = max.negate();
                    } else if (edge == 2) {
                        unscaled = max;
                    } else if (edge == 3) {
                        unscaled = BigInteger.valueOf(-5);
                    } else if (edge >= 0) {
                        unscaled = BigInteger.ZERO;
                    } else {
                        int digits = 1 + rnd.nextInt(d.getPrecision());
                        unscaled = new BigInteger(digits * 4, rnd).mod(BigInteger.TEN.pow(digits));
                        if (rnd.nextBoolean()) {
                            unscaled = unscaled.negate();
                        }
                    }
                    return Decimal.fromBigDecimal(new BigDecimal(unscaled, d.getScale()), d.getPrecision(), d.getScale());
                }
            case CHAR:
                {
                    // exactly 5 characters, none trailing blanks (ORC strips trailing spaces of CHAR)
                    String c = text(5, 5, edge).replaceAll("\\s+$", "");
                    while (c.codePointCount(0, c.length()) < 5) {
                        c = c + "x";
                    }
                    return BinaryString.fromString(c);
                }
            case VARCHAR:
                {
                    int max = ((org.apache.paimon.types.VarCharType) t).getLength();
                    if (max > 1000) {
                        return BinaryString.fromString(edge >= 0 ? EDGE_STRINGS[edge % EDGE_STRINGS.length]
                                : text(0, 30, -1));
                    }
                    return BinaryString.fromString(text(0, Math.min(max, 20) / 2, edge));
                }
            case BINARY:
                return bytes(((org.apache.paimon.types.BinaryType) t).getLength(), true, edge);
            case VARBINARY:
                {
                    int max = ((org.apache.paimon.types.VarBinaryType) t).getLength();
                    return bytes(Math.min(max, 30), false, edge);
                }
            case DATE:
                if (edge >= 0) {
                    return (int) LocalDate.parse(EDGE_DATES[edge % EDGE_DATES.length]).toEpochDay();
                }
                return (int) (LocalDate.of(1900, 1, 1).toEpochDay() + rnd.nextInt(73000));
            case TIME_WITHOUT_TIME_ZONE:
                {
                    int p = Canon.precision(t);
                    int ms = edge == 1 ? 0 : edge == 2 ? 86_399_999 : rnd.nextInt(86_400_000);
                    return p == 0 ? ms / 1000 * 1000 : ms;
                }
            case TIMESTAMP_WITHOUT_TIME_ZONE:
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                {
                    int p = Canon.precision(t);
                    LocalDateTime dt;
                    if (edge >= 0) {
                        dt = LocalDateTime.parse(EDGE_TIMESTAMPS[edge % EDGE_TIMESTAMPS.length]);
                    } else {
                        long sec = LocalDateTime.of(1900, 1, 1, 0, 0).toEpochSecond(java.time.ZoneOffset.UTC)
                                + (long) (rnd.nextDouble() * 200L * 365 * 86400);
                        dt = LocalDateTime.ofEpochSecond(sec, rnd.nextInt(1_000_000_000), java.time.ZoneOffset.UTC);
                    }
                    int unit = (int) Math.pow(10, 9 - p);
                    dt = dt.withNano(dt.getNano() / unit * unit);
                    if (p > 6 && !nanoExtremes) {
                        // Nanosecond values beyond 1678..2261 are exercised by the
                        // types_ts9_extremes table of their own.
                        if (dt.getYear() < 1678) {
                            dt = LocalDateTime.of(1678, 1, 1, 0, 0).withNano(dt.getNano());
                        } else if (dt.getYear() > 2261) {
                            dt = LocalDateTime.of(2261, 12, 31, 23, 59, 59).withNano(dt.getNano());
                        }
                    }
                    if (orc && dt.getYear() < 1900) {
                        dt = LocalDateTime.of(1900, 1, 1, 0, 0); // ORC uses the Julian calendar before 1582
                    }
                    if (orc && dt.getYear() < 1970) {
                        dt = dt.withNano(0);
                    }
                    return Timestamp.fromLocalDateTime(dt);
                }
            case ARRAY:
                {
                    DataType et = ((ArrayType) t).getElementType();
                    int n = edge == 1 ? 0 : rnd.nextInt(5);
                    Object[] a = new Object[n];
                    for (int i = 0; i < n; i++) {
                        a[i] = value(et, -1);
                    }
                    return new GenericArray(a);
                }
            case MAP:
                {
                    MapType mt = (MapType) t;
                    int n = edge == 1 ? 0 : rnd.nextInt(4);
                    Map<Object, Object> m = new LinkedHashMap<>();
                    for (int i = 0; i < n; i++) {
                        m.put(value(mt.getKeyType(), -1), value(mt.getValueType(), -1));
                    }
                    return new GenericMap(m);
                }
            case MULTISET:
                {
                    MultisetType mt = (MultisetType) t;
                    int n = edge == 1 ? 0 : rnd.nextInt(4);
                    Map<Object, Object> m = new LinkedHashMap<>();
                    for (int i = 0; i < n; i++) {
                        m.put(value(mt.getElementType(), -1), 1 + rnd.nextInt(3));
                    }
                    return new GenericMap(m);
                }
            case ROW:
                {
                    RowType rt = (RowType) t;
                    GenericRow r = new GenericRow(rt.getFieldCount());
                    int i = 0;
                    for (DataField f : rt.getFields()) {
                        r.setField(i++, value(f.type(), -1));
                    }
                    return r;
                }
            default:
                throw new UnsupportedOperationException(t.toString());
        }
    }

    private static final String ALPHABET =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-/=%\"\\\n\t\u0001éß中😀\u2028";

    /** Random text of min..max code points (edge rows use fixed strings cut to max). */
    String text(int min, int max, int edge) {
        if (edge >= 0) {
            String s = EDGE_STRINGS[edge % EDGE_STRINGS.length];
            int[] cps = s.codePoints().toArray();
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < Math.min(cps.length, max); i++) {
                sb.appendCodePoint(cps[i]);
            }
            while (sb.codePointCount(0, sb.length()) < min) {
                sb.append('x');
            }
            return sb.toString();
        }
        int[] cps = ALPHABET.codePoints().toArray();
        int n = min + rnd.nextInt(max - min + 1);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            // mostly ASCII letters, sometimes special characters
            int cp = rnd.nextInt(10) < 8 ? cps[rnd.nextInt(62)] : cps[62 + rnd.nextInt(cps.length - 62)];
            sb.appendCodePoint(cp);
        }
        return sb.toString();
    }

    byte[] bytes(int max, boolean fixed, int edge) {
        int n = fixed ? max : (edge == 1 ? 0 : rnd.nextInt(max + 1));
        byte[] b = new byte[n];
        if (edge == 2) {
            java.util.Arrays.fill(b, (byte) 0xff);
        } else if (edge < 0 || edge > 2) {
            rnd.nextBytes(b);
        }
        return b;
    }

    String word(String[] choices) {
        return choices[rnd.nextInt(choices.length)];
    }

}
