#!/usr/bin/env python3
"""Read a Paimon table with pypaimon and print canonical JSON Lines (docs/compat.md).

usage: pypaimon_read.py TABLE [--snapshot N | --tag T] [--exclude COL,COL...]
       pypaimon_read.py --batch < REQUESTS

TABLE is a table directory: a local path, file:///..., or s3://bucket/path (S3 endpoint and
keys from TARN_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). Run it through
compat/pypaimon, which provides the pinned pypaimon in a cached virtualenv.

Exit codes: 0 ok, 1 error, 2 usage, 3 a type or feature pypaimon cannot read ("unsupported: ...").

--batch does many reads in one process (the Go tests' way): each line of standard input is a
JSON request {"table": T, "snapshot": N, "tag": T, "exclude": [...], "out": FILE}; the rows go
to FILE exactly as a single read prints them, and one JSON line per request on standard
output tells {"out": FILE, "status": "ok" | "unsupported" | "error", "message": "..."}: the
same outcome the exit code of a single read gives.
pypaimon 2.1.0 cannot parse MULTISET and reads TIMESTAMP(7..9) with microsecond precision
(and wraps years outside 1677-2262), so such columns exit 3; --exclude reads the other columns.
"""

import argparse
import base64
import datetime
import decimal
import functools
import math
import os
import re
import sys

EXIT_UNSUPPORTED = 3

SUPPORTED_ATOMIC = {
    "BOOLEAN", "TINYINT", "SMALLINT", "INT", "INTEGER", "BIGINT", "FLOAT", "DOUBLE", "DECIMAL",
    "CHAR", "VARCHAR", "STRING", "BINARY", "VARBINARY", "BYTES", "DATE", "TIME", "TIMESTAMP",
    "TIMESTAMP_LTZ", "TIMESTAMP WITH LOCAL TIME ZONE",
}


class Unsupported(Exception):
    pass


# --------------------------------------------------------------------------- types

class T:
    """A Paimon type reduced to what canonical formatting needs."""

    def __init__(self, root, precision=None, scale=None, children=None, names=None):
        self.root = root            # e.g. INT, DECIMAL, TIMESTAMP, TIMESTAMP_LTZ, ARRAY, MAP, MULTISET, ROW
        self.precision = precision
        self.scale = scale
        self.children = children or []
        self.names = names or []


def parse_atomic(s):
    s = s.strip()
    s = re.sub(r"\s+NOT NULL$", "", s)
    m = re.match(r"^([A-Z_ ]+?)\s*(?:\((\d+)(?:\s*,\s*(\d+))?\))?\s*(WITH LOCAL TIME ZONE)?$", s)
    if not m:
        raise Unsupported("type " + s)
    name = m.group(1).strip()
    p = int(m.group(2)) if m.group(2) is not None else None
    sc = int(m.group(3)) if m.group(3) is not None else None
    if m.group(4) or name in ("TIMESTAMP_LTZ", "TIMESTAMP WITH LOCAL TIME ZONE"):
        return T("TIMESTAMP_LTZ", 6 if p is None else p)
    if name not in SUPPORTED_ATOMIC:
        raise Unsupported("type " + s)
    if name == "INTEGER":
        name = "INT"
    if name == "DECIMAL":
        return T("DECIMAL", 10 if p is None else p, 0 if sc is None else sc)
    if name == "TIMESTAMP":
        return T("TIMESTAMP", 6 if p is None else p)
    if name == "TIME":
        return T("TIME", 0 if p is None else p)
    return T(name, p)


def convert_type(dt):
    """pypaimon DataType -> T."""
    from pypaimon.schema import data_types as d
    if isinstance(dt, d.AtomicType):
        return parse_atomic(dt.type)
    if isinstance(dt, d.ArrayType):
        return T("ARRAY", children=[convert_type(dt.element)])
    if isinstance(dt, d.MultisetType):
        return T("MULTISET", children=[convert_type(dt.element)])
    if isinstance(dt, d.MapType):
        return T("MAP", children=[convert_type(dt.key), convert_type(dt.value)])
    if isinstance(dt, d.RowType):
        return T("ROW", children=[convert_type(f.type) for f in dt.fields], names=[f.name for f in dt.fields])
    raise Unsupported("type " + str(dt))


# --------------------------------------------------------------------------- canonical values

def json_string(s):
    """JSON string as Go's encoding/json writes it with HTML escaping off."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20:
            out.append("\\u%04x" % o)
        elif o == 0x2028:
            out.append("\\u2028")
        elif o == 0x2029:
            out.append("\\u2029")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _shortest_digits(v, bits):
    """(digits, exponent of the first digit) of the shortest round-tripping decimal of |v|."""
    if bits == 32:
        import numpy as np
        s = np.format_float_scientific(np.float32(abs(v)), unique=True, trim="-")
    else:
        s = repr(abs(float(v)))
    d = decimal.Decimal(s).normalize()
    sign, digits, exp = d.as_tuple()
    ds = "".join(str(x) for x in digits)
    return ds, len(ds) - 1 + exp


def json_float(v, bits):
    """FLOAT/DOUBLE as Go's encoding/json prints float32/float64; NaN/Infinity as strings."""
    if v is None:
        return "null"
    if math.isnan(v):
        return '"NaN"'
    if math.isinf(v):
        return '"Infinity"' if v > 0 else '"-Infinity"'
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    neg = math.copysign(1.0, v) < 0
    a = abs(v)
    if bits == 32:
        import numpy as np
        fa = np.float32(a)
        exp_mode = fa < np.float32(1e-6) or fa >= np.float32(1e21)
    else:
        exp_mode = a < 1e-6 or a >= 1e21
    ds, e10 = _shortest_digits(v, bits)
    sign = "-" if neg else ""
    if exp_mode:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        es = "-" if e10 < 0 else "+"
        ae = abs(e10)
        return sign + mant + "e" + es + ("%02d" % ae if e10 >= 0 else str(ae))
    # plain notation
    if e10 < 0:
        return sign + "0." + "0" * (-e10 - 1) + ds
    if len(ds) <= e10 + 1:
        return sign + ds + "0" * (e10 + 1 - len(ds))
    return sign + ds[:e10 + 1] + "." + ds[e10 + 1:]


def frac(nanos, p):
    if p == 0:
        return ""
    return "." + ("%09d" % nanos)[:p]


EPOCH = datetime.datetime(1970, 1, 1)


def fmt_date(days):
    d = datetime.date(1970, 1, 1) + datetime.timedelta(days=days)
    return "%04d-%02d-%02d" % (d.year, d.month, d.day)


def fmt_timestamp_nanos(total_nanos, p):
    secs, nanos = divmod(total_nanos, 1_000_000_000)
    dt = EPOCH + datetime.timedelta(seconds=secs)
    return "%04d-%02d-%02dT%02d:%02d:%02d" % (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second) + frac(nanos, p)


def value_json(v, t):
    """Canonical JSON of a Python value (from pyarrow to_pylist) of type t."""
    if v is None:
        return "null"
    r = t.root
    if r == "BOOLEAN":
        return "true" if v else "false"
    if r in ("TINYINT", "SMALLINT", "INT", "BIGINT"):
        return str(int(v))
    if r == "FLOAT":
        return json_float(v, 32)
    if r == "DOUBLE":
        return json_float(v, 64)
    if r == "DECIMAL":
        with decimal.localcontext() as ctx:
            ctx.prec = 100  # DECIMAL(38, s) exceeds the default 28 digits
            q = decimal.Decimal(v).quantize(decimal.Decimal(1).scaleb(-t.scale))
        return '"' + format(q, "f") + '"'
    if r in ("CHAR", "VARCHAR", "STRING"):
        return json_string(v)
    if r in ("BINARY", "VARBINARY", "BYTES"):
        return '"' + base64.b64encode(bytes(v)).decode("ascii") + '"'
    if r == "DATE":
        if isinstance(v, int):
            return '"' + fmt_date(v) + '"'
        return '"%04d-%02d-%02d"' % (v.year, v.month, v.day)
    if r == "TIME":
        if isinstance(v, int):  # milliseconds of day
            v = (datetime.datetime.min + datetime.timedelta(milliseconds=v)).time()
        return '"%02d:%02d:%02d' % (v.hour, v.minute, v.second) + frac(v.microsecond * 1000, t.precision) + '"'
    if r in ("TIMESTAMP", "TIMESTAMP_LTZ"):
        z = "Z" if r == "TIMESTAMP_LTZ" else ""
        if isinstance(v, int):  # nanoseconds since the epoch
            return '"' + fmt_timestamp_nanos(v, t.precision) + z + '"'
        nanos = getattr(v, "nanosecond", 0) + v.microsecond * 1000
        if getattr(v, "tzinfo", None) is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return '"%04d-%02d-%02dT%02d:%02d:%02d' % (v.year, v.month, v.day, v.hour, v.minute, v.second) \
            + frac(nanos, t.precision) + z + '"'
    if r == "ARRAY":
        return "[" + ",".join(value_json(x, t.children[0]) for x in v) + "]"
    if r in ("MAP", "MULTISET"):
        if isinstance(v, dict):
            items = list(v.items())
        else:
            items = list(v)
        kt = t.children[0]
        vt = t.children[1] if r == "MAP" else T("INT")
        pairs = sorted(((value_json(k, kt), value_json(x, vt)) for k, x in items),
                       key=lambda kv: (kv[0].encode("utf-8"), kv[1].encode("utf-8")))
        return "[" + ",".join("[" + k + "," + x + "]" for k, x in pairs) + "]"
    if r == "ROW":
        return "{" + ",".join(json_string(n) + ":" + value_json(v.get(n), ct)
                              for n, ct in zip(t.names, t.children)) + "}"
    raise Unsupported("type " + r)


def sort_key(v, t):
    """Comparable form for row ordering (docs/compat.md, Row order); None sorts first."""
    if v is None:
        return (0,)
    r = t.root
    if r == "BOOLEAN":
        return (1, 1 if v else 0)
    if r in ("TINYINT", "SMALLINT", "INT", "BIGINT", "DECIMAL"):
        return (1, decimal.Decimal(v))
    if r in ("FLOAT", "DOUBLE"):
        # Java Double.compare order: -Inf < ... < -0 < +0 < ... < +Inf < NaN
        if math.isnan(v):
            return (1, 2, 0)
        return (1, 1, v, math.copysign(1.0, v))
    if r in ("CHAR", "VARCHAR", "STRING"):
        return (1, v.encode("utf-8"))
    if r in ("BINARY", "VARBINARY", "BYTES"):
        return (1, bytes(v))
    if r in ("DATE", "TIMESTAMP", "TIMESTAMP_LTZ") and isinstance(v, int):
        return (1, v)
    if r == "DATE":
        return (1, v.toordinal())
    if r == "TIME":
        return (1, v if isinstance(v, int) else (v.hour, v.minute, v.second, v.microsecond))
    return (1, value_json(v, t).encode("utf-8"))


# --------------------------------------------------------------------------- reading

def column_values(col, t):
    """Python values of an Arrow column; timestamps and dates as integers to keep nanoseconds."""
    import pyarrow as pa
    import pyarrow.compute as pc  # noqa: F401
    typ = col.type
    if t.root in ("TIMESTAMP", "TIMESTAMP_LTZ") and pa.types.is_timestamp(typ):
        mult = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}[typ.unit]
        ints = col.cast(pa.int64()).to_pylist()
        return [None if x is None else x * mult for x in ints]
    if t.root == "DATE" and pa.types.is_date32(typ):
        return col.cast(pa.int32()).to_pylist()
    if t.root == "TIME" and (pa.types.is_time32(typ) or pa.types.is_time64(typ)):
        div = {"s": None, "ms": 1, "us": 1000, "ns": 1_000_000}[typ.unit]
        ints = col.cast(pa.int64() if pa.types.is_time64(typ) else pa.int32()).to_pylist()
        if div is None:
            return [None if x is None else x * 1000 for x in ints]
        return [None if x is None else x // div for x in ints]
    return col.to_pylist()


def location(arg):
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", arg):
        if arg.startswith("file://"):
            return arg[len("file://"):]
        return arg.rstrip("/")
    return os.path.abspath(arg)


def io_options():
    o = {}
    ep = os.environ.get("TARN_S3_ENDPOINT")
    if ep:
        o["s3.endpoint"] = ep
        o["s3.path.style.access"] = "true"
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        o["s3.access-key"] = os.environ["AWS_ACCESS_KEY_ID"]
    if os.environ.get("AWS_SECRET_ACCESS_KEY"):
        o["s3.secret-key"] = os.environ["AWS_SECRET_ACCESS_KEY"]
    return o


def read(table_path, snapshot=None, tag=None, exclude=()):
    from pypaimon.table.file_store_table import FileStoreTable
    table = FileStoreTable.from_path(location(table_path), io_options())
    opts = {}
    if snapshot is not None:
        opts["scan.snapshot-id"] = str(snapshot)
    if tag is not None:
        opts["scan.tag-name"] = tag
    if opts:
        table = table.copy(opts)
    fields = table.table_schema.fields if hasattr(table, "table_schema") else table.schema().fields
    unknown = set(exclude) - {f.name for f in fields}
    if unknown:
        raise ValueError("--exclude names unknown columns: " + ", ".join(sorted(unknown)))
    fields = [f for f in fields if f.name not in exclude]
    types = [convert_type(f.type) for f in fields]
    names = [f.name for f in fields]
    for n, t in zip(names, types):
        check_supported(n, t)
    pks = list(table.primary_keys or [])
    if any(k in exclude for k in pks):
        raise ValueError("cannot exclude primary-key columns")
    rb = table.new_read_builder()
    if exclude:
        rb = rb.with_projection(names)
    splits = rb.new_scan().plan().splits()
    arrow = rb.new_read().to_arrow(splits)
    if arrow is None or arrow.num_rows == 0:
        return []
    cols = []
    for n, t in zip(names, types):
        if n not in arrow.column_names:
            raise RuntimeError("pypaimon result lacks column " + n)
        cols.append(column_values(arrow.column(n), t))
    sort_idx = [names.index(k) for k in pks] if pks else list(range(len(names)))
    rows = []
    for i in range(arrow.num_rows):
        text = "{" + ",".join(json_string(n) + ":" + value_json(c[i], t)
                              for n, c, t in zip(names, cols, types)) + "}"
        key = tuple(sort_key(cols[j][i], types[j]) for j in sort_idx)
        rows.append((key, text.encode("utf-8"), text))
    rows.sort(key=functools.cmp_to_key(compare_rows))
    return [r[2] for r in rows]


def check_supported(name, t):
    """Types pypaimon 2.1.0 reads wrongly: refuse instead of printing wrong values."""
    if t.root in ("TIMESTAMP", "TIMESTAMP_LTZ") and t.precision is not None and t.precision > 6:
        raise Unsupported("column %s: %s(%d) (pypaimon reads it with microsecond precision)"
                          % (name, t.root, t.precision))
    for c in t.children:
        check_supported(name, c)


def compare_rows(a, b):
    for x, y in zip(a[0], b[0]):
        if x != y:
            return -1 if x < y else 1
    return -1 if a[1] < b[1] else (1 if a[1] > b[1] else 0)


def outcome(table, snapshot=None, tag=None, exclude=()):
    """(status, message, lines) of one read: status ok, unsupported or error."""
    try:
        return "ok", "", read(table, snapshot, tag, exclude)
    except (Unsupported, NotImplementedError) as e:
        return "unsupported", str(e), None
    except Exception as e:  # noqa: BLE001
        msg = str(e)
        if re.search(r"(?i)not support|unsupported", msg):
            return "unsupported", type(e).__name__ + ": " + msg, None
        if os.environ.get("ORACLE_DEBUG"):
            raise
        return "error", type(e).__name__ + ": " + msg, None


def batch():
    import json
    for req in sys.stdin:
        if not req.strip():
            continue
        r = json.loads(req)
        status, msg, lines = outcome(r["table"], r.get("snapshot"), r.get("tag"), tuple(r.get("exclude") or ()))
        if lines is not None:
            with open(r["out"], "wb") as f:
                for line in lines:
                    f.write(line.encode("utf-8"))
                    f.write(b"\n")
        sys.stdout.write(json.dumps({"out": r["out"], "status": status, "message": msg}) + "\n")
        sys.stdout.flush()
    return 0


def main(argv):
    if argv == ["--batch"]:
        return batch()
    ap = argparse.ArgumentParser(description="pypaimon batch read as canonical JSON Lines")
    ap.add_argument("table")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--snapshot", type=int)
    g.add_argument("--tag")
    ap.add_argument("--exclude", default="", help="comma-separated columns to leave out")
    args = ap.parse_args(argv)
    exclude = tuple(c for c in args.exclude.split(",") if c)
    status, msg, lines = outcome(args.table, args.snapshot, args.tag, exclude)
    if status == "unsupported":
        print("unsupported: " + msg, file=sys.stderr)
        return EXIT_UNSUPPORTED
    if status == "error":
        print("error: " + msg, file=sys.stderr)
        return 1
    out = sys.stdout.buffer
    for line in lines:
        out.write(line.encode("utf-8"))
        out.write(b"\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
