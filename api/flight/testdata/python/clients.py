"""Drives a Tarn Flight service with pyarrow.flight and the ADBC Flight SQL driver and
prints what it saw as one JSON object.

Usage: clients.py HOST:PORT TOKEN
The service must hold db.t (id BIGINT NOT NULL, v STRING; primary key id) with rows.
"""
import json
import sys

import adbc_driver_flightsql.dbapi as flightsql
import pyarrow as pa
import pyarrow.flight as fl

addr, token = sys.argv[1], sys.argv[2]
client = fl.FlightClient("grpc://" + addr)
opts = fl.FlightCallOptions(headers=[(b"authorization", b"Bearer " + token.encode())])
out = {}


def rows(table):
    return sorted(json.dumps(r, sort_keys=True) for r in table.to_pylist())


# A scan: every endpoint, each read on its own.
info = client.get_flight_info(fl.FlightDescriptor.for_command(json.dumps({"table": "db.t"})), opts)
out["endpoints"] = len(info.endpoints)
parts = [client.do_get(ep.ticket, opts).read_all() for ep in info.endpoints]
out["scan"] = rows(pa.concat_tables(parts))

# A table path descriptor and GetSchema.
info = client.get_flight_info(fl.FlightDescriptor.for_path("db", "t"), opts)
out["path_schema"] = info.schema.names
out["schema"] = client.get_schema(fl.FlightDescriptor.for_command(json.dumps({"table": "db.t", "columns": ["v"]})), opts).schema.names

# DoPut with row kinds; the PutResult tells the snapshot.
data = pa.table({"id": pa.array([1, 50], pa.int64()), "v": ["one", "fifty"], "_ROW_KIND": ["-D", "+I"]})
writer, meta = client.do_put(fl.FlightDescriptor.for_path("db", "t"), data.schema, opts)
writer.write_table(data)
writer.done_writing()
ack = json.loads(meta.read().to_pybytes())
writer.close()
out["put"] = ack

# A tail from the full snapshot before the put: rows, then the put's changes.
tail = {"tail": {"table": "db.t", "start": {"full": ack["snapshot"] - 1}}}
reader = client.do_get(fl.Ticket(json.dumps(tail).encode()), opts)
seen, last = [], None
while True:
    chunk = reader.read_chunk()
    m = json.loads(chunk.app_metadata.to_pybytes())
    if chunk.data is not None and chunk.data.num_rows > 0:
        seen += chunk.data.to_pylist()
    last = m
    if not m.get("full") and m["snapshot"] > ack["snapshot"]:
        break
reader.cancel()
out["tail"] = sorted(json.dumps(r, sort_keys=True) for r in seen)
out["tail_last"] = last

# Flight SQL through ADBC.
with flightsql.connect("grpc://" + addr, db_kwargs={"adbc.flight.sql.authorization_header": "Bearer " + token}) as conn:
    with conn.cursor() as cur:
        cur.execute("SELECT id, v FROM db.t WHERE id >= 2 LIMIT 100")
        out["adbc"] = rows(cur.fetch_arrow_table())
        out["adbc_tables"] = conn.adbc_get_objects(depth="tables").read_all().to_pylist()[0]["catalog_name"]

# A wrong token is refused.
try:
    client.get_flight_info(fl.FlightDescriptor.for_path("db", "t"),
                           fl.FlightCallOptions(headers=[(b"authorization", b"Bearer nope")]))
    out["refused"] = False
except fl.FlightUnauthenticatedError:
    out["refused"] = True

print(json.dumps(out, sort_keys=True))
