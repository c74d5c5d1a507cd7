"""Polls a server's /api/learning/status while it consumes from Kafka
(scripts/bench kafka-consume):

    watch.py URL KEY COUNT throughput
        waits until the server stored the offsets of COUNT messages; prints
        messages per second from its first stored offset to the last, and the
        pipeline's event-to-model p99 (batch handed in -> learned) as it went;
    watch.py URL KEY COUNT latency SECONDS
        for SECONDS while a paced producer writes: the message-to-model p50
        and p99 (production -> stored and applied) every second, and over all.
"""
import json, statistics, sys, time, urllib.request

url, key, count, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


def get(path):
    request = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + key})
    return json.loads(urllib.request.urlopen(request, timeout=10).read())


def status():
    return get("/api/learning/status")


def stored(kafka):
    return sum(p.get("stored_offset") or 0 for p in kafka.get("partitions", []))


if mode == "throughput":
    start = stored(status()["kafka"])
    first = None
    pipeline_p99 = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        done = stored(status()["kafka"])
        now = time.monotonic()
        if first is None and done > start:
            first = (now, done)
        p99 = get("/api/learning/metrics").get("event_processing_latency_ms", {}).get("p99")
        if p99 is not None and first is not None:
            pipeline_p99.append(p99)
        if done >= start + count:
            break
        time.sleep(0.05)
    else:
        sys.exit(f"only {done - start} of {count} messages stored in 600 s")
    elapsed = now - first[0]
    print(f"arbiter applied {done - first[1]} messages in {elapsed:.2f} s: {(done - first[1]) / elapsed:.0f} messages/s "
          f"(exactly once: offsets stored with each batch)")
    if pipeline_p99:
        print(f"event-to-model p99 while consuming (batch handed in -> learned): median {statistics.median(pipeline_p99):.1f} ms, "
              f"worst {max(pipeline_p99):.1f} ms over {len(pipeline_p99)} samples")
else:
    seconds = float(sys.argv[5])
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(1)
        latency = status()["kafka"].get("message_to_model_ms", {})
        if latency.get("p99") is not None:
            samples.append((latency["p50"], latency["p99"]))
    if not samples:
        sys.exit("no message-to-model figures")
    print(f"message-to-model while consuming (production -> stored and applied), over {len(samples)} one-second samples of "
          f"the last 4,096 messages: p50 median {statistics.median(s[0] for s in samples):.1f} ms, "
          f"p99 median {statistics.median(s[1] for s in samples):.1f} ms, worst p99 {max(s[1] for s in samples):.1f} ms")
