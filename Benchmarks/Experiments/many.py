"""The many-experiments benchmark (scripts/bench experiments): a server on a
fresh data directory, experiments of 10 arms created on first use through
predict (wrk, Benchmarks/HTTP/create.lua) up to each size, and at each size:
the creation rate on the way there, the resident memory, a walk through the
whole experiment list a page of 1,000 at a time (time and memory), and the
time from a restart to ready.

    python3 many.py ARBITER_BINARY WORK_DIRECTORY PORT SIZE...
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

binary, work, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
sizes = [int(size) for size in sys.argv[4:]] or [10_000, 100_000, 1_000_000]
data = os.path.join(work, "data")
url = f"http://127.0.0.1:{port}"
here = os.path.dirname(os.path.abspath(__file__))
create_script = os.path.join(here, "..", "HTTP", "create.lua")


def start():
    log = open(os.path.join(work, "server.log"), "a")
    started = time.monotonic()
    process = subprocess.Popen([binary, "serve", "--data-dir", data, "--port", str(port), "--log-level", "warning"],
                               stdout=subprocess.DEVNULL, stderr=log)
    while True:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1) as response:
                if response.status == 200 and os.path.exists(os.path.join(data, "bootstrap-key")):
                    return process, time.monotonic() - started
        except OSError:
            pass
        if process.poll() is not None:
            raise SystemExit("the server exited: see " + log.name)
        time.sleep(0.02)


def get(path, key):
    request = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + key})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def rss(process):
    with open(f"/proc/{process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    process, _ = start()
    key = open(os.path.join(data, "bootstrap-key")).read().strip()
    print("size       created/s   RSS after   in memory   list all (pages of 1,000)        restart to ready")
    phase = 0
    for size in sizes:
        known = get("/api/learning/status", key)["experiments"]["known"]
        began, before = time.monotonic(), known
        # wrk runs until it is stopped (each thread stops sending after its
        # share); the rate is taken when the server knows `size` experiments,
        # not when wrk's duration ends.
        phase += 1
        load = subprocess.Popen(["wrk", "-t2", "-c" + os.environ.get("BENCH_CONNECTIONS", "50"), "-d600s", "--timeout", "10s", "-s", create_script, url, "--",
                                 key, f"phase{phase}", str((size - known + 1) // 2 + 1)], stdout=subprocess.DEVNULL)
        while known < size and load.poll() is None:
            time.sleep(0.05)
            known = get("/api/learning/status", key)["experiments"]["known"]
        reached, created = time.monotonic(), known - before
        load.terminate()
        load.wait()
        known = get("/api/learning/status", key)["experiments"]["known"]
        rate = created / (reached - began)
        status = get("/api/learning/status", key)["experiments"]
        memory = rss(process)
        # The whole list, a page at a time: its memory must stay flat.
        listed, cursor, pages, walk_started, peak = 0, None, 0, time.monotonic(), memory
        while True:
            page = get("/v1/experiments?limit=1000" + (f"&cursor={cursor}" if cursor else ""), key)
            listed += len(page["experiments"])
            pages += 1
            peak = max(peak, rss(process))
            cursor = page["next"]
            if not cursor:
                break
        walk = time.monotonic() - walk_started
        process.send_signal(signal.SIGTERM)
        process.wait()
        process, ready = start()
        after_restart = rss(process)
        print(f"{known:>9,}  {rate:>9,.0f}   {memory / 2**20:>6.0f} MiB   {status['in_memory']:>9,}   "
              f"{listed:,} in {walk:.1f} s ({walk / pages * 1000:.0f} ms a page), RSS +{(peak - memory) / 2**20:.0f} MiB   "
              f"{ready:.2f} s (RSS {after_restart / 2**20:.0f} MiB)", flush=True)
    process.send_signal(signal.SIGTERM)
    process.wait()


main()
