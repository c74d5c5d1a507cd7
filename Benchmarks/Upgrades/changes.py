"""The changes of scripts/bench upgrades: while wrk decides, 20 changes to
the experiment (its strategies' weights) and 5 plugin upgrades (a new build
of Thompson sampling put in the plugin directory, then a reload), spread
evenly over the run. Prints each step's status and time; exits 1 if one was
not answered 200 or an upgrade was not put in service.

    python3 changes.py URL KEY PLUGIN_DIRECTORY SECONDS LABEL
"""
import json
import os
import sys
import time
import urllib.request

url, key, plugins, seconds, label = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
steps = ["change"] * 4 + ["upgrade"]
steps = steps * 5  # 20 changes, 5 upgrades
interval = seconds / (len(steps) + 1)
source = os.path.join(plugins, "libArbiterThompson.so")
failed = 0


def send(method, path, body):
    request = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), time.monotonic() - started


began = time.monotonic()
for index, step in enumerate(steps):
    time.sleep(max(0, began + (index + 1) * interval - time.monotonic()))
    if step == "change":
        weight = 1 + index % 3
        status, answer, took = send("PATCH", "/v1/experiments/bench", {"strategies": [{"name": "eg", "plugin": "epsilon-greedy", "weight": weight}]})
        ok = status == 200
        print(f"{label} change {index}: weight {weight}: {status} in {took * 1000:.0f} ms", flush=True)
    else:
        # Another build: the same library with a note after its image.
        build = os.path.join(plugins, f"libArbiterThompson-{label}-{index}.so")
        with open(source, "rb") as original, open(build + ".partial", "wb") as copy:
            copy.write(original.read() + f"\n{label} build {index}\n".encode())
        os.rename(build + ".partial", build)
        status, answer, took = send("POST", "/v1/plugins/reload", {})
        outcomes = [upgrade["outcome"] for upgrade in answer.get("upgrades", [])]
        ok = status == 200 and outcomes == ["upgraded"]
        print(f"{label} upgrade {index}: {status} {outcomes} {answer.get('upgrades', [{}])[0].get('moved', '-')} moved, in {took * 1000:.0f} ms", flush=True)
    failed += 0 if ok else 1
sys.exit(1 if failed else 0)
