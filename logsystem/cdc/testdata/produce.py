"""Produces Kafka records with confluent-kafka (librdkafka), a non-Go client, as a CDC
source such as Debezium, Canal or Maxwell would.

usage: produce.py BOOTSTRAP TOPIC < RECORDS
RECORDS is a JSON list of [key, value] pairs, each base64 of the bytes or null (a null value
is a tombstone). The records go to partition 0 in order; the script exits once the broker
has acknowledged all of them, printing how many.
"""
import base64
import json
import sys

from confluent_kafka import Producer


def main(bootstrap, topic):
    records = json.load(sys.stdin)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    errors = []

    def delivered(err, _msg):
        if err is not None:
            errors.append(str(err))

    for key, value in records:
        k = base64.b64decode(key) if key is not None else None
        v = base64.b64decode(value) if value is not None else None
        p.produce(topic, key=k, value=v, partition=0, on_delivery=delivered)
        p.poll(0)
    left = p.flush(60)
    if left or errors:
        print(f"{left} records not delivered; errors: {errors}", file=sys.stderr)
        return 1
    print(len(records))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
