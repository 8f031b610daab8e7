package org.tarnlake.oracle;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * FLOAT and DOUBLE exactly as Go's encoding/json prints float32 and float64: the shortest decimal
 * that parses back to the same value at the column's width (the nearest such decimal when there
 * are several), in plain notation unless 0 < |v| < 1e-6 or |v| >= 1e21 (then d.ddde±X). NaN and
 * infinities, which JSON numbers cannot express, are the strings "NaN", "Infinity", "-Infinity".
 */
public final class FloatFormat {
    private FloatFormat() {}

    public static String json(double v) {
        if (Double.isNaN(v)) {
            return "\"NaN\"";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
        }
        if (v == 0) {
            return (1 / v < 0) ? "-0" : "0";
        }
        double abs = Math.abs(v);
        boolean exp = abs < 1e-6 || abs >= 1e21;
        return format(shortest(v, false), v < 0, exp);
    }

    public static String json(float v) {
        if (Float.isNaN(v)) {
            return "\"NaN\"";
        }
        if (Float.isInfinite(v)) {
            return v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
        }
        if (v == 0) {
            return (1 / v < 0) ? "-0" : "0";
        }
        float abs = Math.abs(v);
        boolean exp = abs < 1e-6f || abs >= 1e21f;
        return format(shortest(v, true), v < 0, exp);
    }

    /** Shortest round-tripping decimal of |v| (unscaledValue without trailing zeros, scale). */
    static BigDecimal shortest(double v, boolean isFloat) {
        BigDecimal exact = new BigDecimal(Math.abs(v));
        int maxDigits = isFloat ? 9 : 17;
        for (int p = 1; p <= maxDigits; p++) {
            BigDecimal lo = exact.round(new MathContext(p, RoundingMode.FLOOR));
            BigDecimal hi = exact.round(new MathContext(p, RoundingMode.CEILING));
            boolean loOk = roundTrips(lo, v, isFloat);
            boolean hiOk = roundTrips(hi, v, isFloat);
            if (loOk && hiOk) {
                int c = exact.subtract(lo).compareTo(hi.subtract(exact));
                if (c < 0) {
                    return lo.stripTrailingZeros();
                }
                if (c > 0) {
                    return hi.stripTrailingZeros();
                }
                // exact tie: the one with an even last digit
                BigDecimal even = lo.unscaledValue().testBit(0) ? hi : lo;
                return even.stripTrailingZeros();
            }
            if (loOk) {
                return lo.stripTrailingZeros();
            }
            if (hiOk) {
                return hi.stripTrailingZeros();
            }
        }
        throw new IllegalStateException("no round-trip decimal for " + v);
    }

    private static boolean roundTrips(BigDecimal d, double v, boolean isFloat) {
        if (d.signum() == 0) {
            return false;
        }
        String s = d.toString();
        if (isFloat) {
            return Float.parseFloat(s) == (float) Math.abs(v);
        }
        return Double.parseDouble(s) == Math.abs(v);
    }

    /** Go's 'f' (-1 precision) or 'e' (-1 precision, exponent at least 2 digits, e-0X -> e-X). */
    static String format(BigDecimal d, boolean negative, boolean exp) {
        String digits = d.unscaledValue().toString();
        // value = digits * 10^-scale; decimal exponent of the first digit:
        int e10 = digits.length() - 1 - d.scale();
        StringBuilder sb = new StringBuilder();
        if (negative) {
            sb.append('-');
        }
        if (exp) {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) {
                sb.append('.').append(digits, 1, digits.length());
            }
            sb.append('e').append(e10 < 0 ? '-' : '+');
            int ae = Math.abs(e10);
            if (ae < 10 && e10 >= 0) {
                sb.append('0');
            }
            sb.append(ae);
            return sb.toString();
        }
        sb.append(d.toPlainString());
        return sb.toString();
    }
}
