"""Python clients of `tarn serve` for compat/peers: pyarrow.flight and the ADBC Flight SQL
driver, as users run them. The Go tests compare what they print or save with `tarn scan`.

usage: clients.py scan ADDR TOKEN OUTDIR REQUESTS     batch scans; REQUESTS is a JSON list of
                                                      {"name": N, "command": {...}}; each
                                                      result goes to OUTDIR/N.arrow (IPC file)
       clients.py tail ADDR TOKEN TAIL [--step]       a tail ({"tail": {...}}); one JSON line per
                                                      message: {"meta": app_metadata, "rows": [...],
                                                      "recv_ns": when it arrived (epoch ns)};
                                                      --step waits for a line on stdin after each
       clients.py put ADDR TOKEN TABLE                DoPut of the rows in put_rows() with row kinds,
                                                      committing every 4 rows; prints the acks
       clients.py sql ADDR TOKEN OUTDIR QUERIES       Flight SQL through ADBC: catalogs, schemas and
                                                      tables, then each {"name", "sql"} executed
                                                      plainly (OUTDIR/N.arrow) and prepared
                                                      (OUTDIR/N.prepared.arrow)

Every line of output is JSON; errors go to stderr with a non-zero exit.
"""
import datetime
import decimal
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.flight as fl


def options(token):
    return fl.FlightCallOptions(headers=[(b"authorization", b"Bearer " + token.encode())])


def save(table, path):
    with pa.OSFile(path, "wb") as f:
        with pa.ipc.new_file(f, table.schema) as w:
            w.write_table(table)


def scan(addr, token, outdir, requests):
    """Each scan's endpoints are read in parallel, one thread and connection per endpoint;
    every thread reads its first batch and then waits for all the others (a barrier), so
    all the endpoints' streams are open at once."""
    opts = options(token)
    client = fl.FlightClient("grpc://" + addr)
    for req in json.loads(requests):
        info = client.get_flight_info(fl.FlightDescriptor.for_command(json.dumps(req["command"])), opts)
        n = len(info.endpoints)
        barrier = threading.Barrier(n, timeout=60)
        open_at_once = []

        def read(ep):
            c = fl.FlightClient("grpc://" + addr)
            try:
                reader = c.do_get(ep.ticket, opts)
                batches = []
                try:
                    chunk = reader.read_chunk()
                    if chunk.data is not None:
                        batches.append(chunk.data)
                except StopIteration:
                    pass
                open_at_once.append(barrier.wait())
                while True:
                    try:
                        chunk = reader.read_chunk()
                    except StopIteration:
                        break
                    if chunk.data is not None:
                        batches.append(chunk.data)
                return pa.Table.from_batches(batches, schema=reader.schema)
            finally:
                c.close()

        with ThreadPoolExecutor(max_workers=n) as pool:
            parts = list(pool.map(read, info.endpoints))
        table = pa.concat_tables(parts) if parts else info.schema.empty_table()
        save(table, f"{outdir}/{req['name']}.arrow")
        print(json.dumps({"name": req["name"], "endpoints": n, "parallel": len(open_at_once),
                          "rows": table.num_rows, "columns": table.schema.names}), flush=True)


def tail(addr, token, command, step):
    client = fl.FlightClient("grpc://" + addr)
    reader = client.do_get(fl.Ticket(command.encode()), options(token))
    while True:
        chunk = reader.read_chunk()
        recv = time.time_ns()
        meta = json.loads(chunk.app_metadata.to_pybytes())
        rows = chunk.data.to_pylist() if chunk.data is not None else []
        print(json.dumps({"meta": meta, "rows": rows, "recv_ns": recv}, sort_keys=True), flush=True)
        if step and not sys.stdin.readline():
            return


def put_rows():
    """Eight rows in two commits (commit_every 4): inserts, then an update and a delete."""
    d = decimal.Decimal
    return [
        pa.table({
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "name": ["a", "b", None, "d"],
            "amount": pa.array([d("1.50"), d("-2.25"), d("0.00"), None], pa.decimal128(10, 2)),
            "day": pa.array([datetime.date(2026, 1, 1), None, datetime.date(1999, 12, 31), datetime.date(2026, 2, 28)], pa.date32()),
            "_ROW_KIND": ["+I", "+I", "+I", "+I"],
        }),
        pa.table({
            "id": pa.array([2, 3, 5, 6], pa.int64()),
            "name": ["b2", None, "e", "f"],
            "amount": pa.array([d("9.99"), None, d("100.01"), d("-0.05")], pa.decimal128(10, 2)),
            "day": pa.array([datetime.date(2026, 3, 1), None, None, datetime.date(2000, 2, 29)], pa.date32()),
            "_ROW_KIND": ["+U", "-D", "+I", "+I"],
        }),
    ]


def put(addr, token, table):
    client = fl.FlightClient("grpc://" + addr)
    parts = put_rows()
    cmd = {"table": table, "commit_every": 4, "commit_user": "pyarrow-put", "commit_identifier": 1}
    writer, meta = client.do_put(fl.FlightDescriptor.for_command(json.dumps(cmd)), parts[0].schema, options(token))
    acks = []
    for p in parts:
        writer.write_table(p)
    writer.done_writing()
    while True:
        buf = meta.read()
        if buf is None:
            break
        acks.append(json.loads(buf.to_pybytes()))
    writer.close()
    for a in acks:
        print(json.dumps({"ack": a}), flush=True)


def sql(addr, token, outdir, queries):
    import adbc_driver_flightsql.dbapi as flightsql

    with flightsql.connect("grpc://" + addr, db_kwargs={"adbc.flight.sql.authorization_header": "Bearer " + token}) as conn:
        objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
        found = []
        for cat in objects:
            for sch in cat["catalog_db_schemas"] or []:
                for tbl in sch["db_schema_tables"] or []:
                    found.append([cat["catalog_name"], sch["db_schema_name"], tbl["table_name"], tbl["table_type"]])
        print(json.dumps({"catalogs": sorted({c["catalog_name"] for c in objects}), "tables": sorted(found)}), flush=True)
        for q in json.loads(queries):
            with conn.cursor() as cur:
                cur.execute(q["sql"])
                t = cur.fetch_arrow_table()
                save(t, f"{outdir}/{q['name']}.arrow")
            with conn.cursor() as cur:
                cur.adbc_prepare(q["sql"])
                cur.execute(q["sql"])
                p = cur.fetch_arrow_table()
                save(p, f"{outdir}/{q['name']}.prepared.arrow")
            print(json.dumps({"name": q["name"], "rows": t.num_rows, "prepared_rows": p.num_rows, "columns": t.schema.names}), flush=True)


def main(argv):
    cmd, addr, token = argv[0], argv[1], argv[2]
    if cmd == "scan":
        scan(addr, token, argv[3], argv[4])
    elif cmd == "tail":
        tail(addr, token, argv[3], "--step" in argv[4:])
    elif cmd == "put":
        put(addr, token, argv[3])
    elif cmd == "sql":
        sql(addr, token, argv[3], argv[4])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
