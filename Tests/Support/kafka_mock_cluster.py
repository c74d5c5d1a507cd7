"""A Kafka cluster for the tests, with no broker installed: librdkafka's own
mock cluster (the `test.mock.num.brokers` property), through PyPI's
confluent-kafka in the project's .venv (scripts/setup). It lives as long as
this process, so a server under test can be killed and started again while
the cluster keeps its messages. Topics are created on first use (4
partitions).

    .venv/bin/python Tests/Support/kafka_mock_cluster.py ADDRESS_FILE [BROKERS]

Writes the bootstrap address (host:port,...) to ADDRESS_FILE once it listens,
then runs until terminated.
"""
import logging
import os
import re
import signal
import sys
import threading

from confluent_kafka import Producer

path = sys.argv[1]
brokers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
found = threading.Event()
address = []


class Catcher(logging.Handler):
    """librdkafka logs the mock cluster's address when it replaces bootstrap.servers."""

    def emit(self, record):
        match = re.search(r"replaced with (\S+)", record.getMessage())
        if match and not address:
            address.append(match.group(1).rstrip(","))
            found.set()


logger = logging.getLogger("mock")
logger.setLevel(logging.DEBUG)
logger.addHandler(Catcher())
owner = Producer({"test.mock.num.brokers": brokers, "bootstrap.servers": "unused:1", "logger": logger, "debug": "conf"})
owner.poll(0.5)
if not found.wait(10):
    sys.exit("the mock cluster did not start")
with open(path + ".partial", "w") as out:
    out.write(address[0] + "\n")
os.rename(path + ".partial", path)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
while not stop.wait(0.5):
    owner.poll(0)
