"""Clients that do not behave like curl, against a running Arbiter server.
Each scenario prints one JSON object with what happened; the Swift tests
(ClientBehaviourTests) run it and check the figures.

    clients.py oversized URL KEY ROUTES_JSON  # raw socket: whole 8 MiB body first, then read
    clients.py libraries URL KEY              # urllib and requests posting 8 MiB
    clients.py slow-head URL                  # a request head trickled a byte every 0.1 s
    clients.py idle URL                       # one request, then silence
    clients.py flood URL COUNT                # COUNT idle connections, then a normal request
"""
import json
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BIG = 8 * 1024 * 1024


def address(url):
    parsed = urllib.parse.urlparse(url)
    return parsed.hostname, parsed.port


def read_response(sock, timeout):
    """Reads one response: status, headers, body (by Content-Length)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return {"status": status, "headers": headers, "body": body[:length].decode("utf-8", "replace")}


def closed_by_peer(sock, timeout):
    """True when the peer closes the connection within `timeout` seconds."""
    sock.settimeout(timeout)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def oversized(url, key, routes):
    results = []
    for route in routes:
        for connection in ("close", "keep-alive"):
            sock = socket.create_connection(address(url), timeout=30)
            head = (f"{route['method']} {route['path']} HTTP/1.1\r\nHost: test\r\nConnection: {connection}\r\n"
                    f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {BIG}\r\n\r\n")
            result = {"route": f"{route['method']} {route['path']}", "connection": connection}
            started = time.monotonic()
            try:
                sock.sendall(head.encode() + b"x" * BIG)  # all of it first, as urllib does
                response = read_response(sock, 30)
                result["status"] = response and response["status"]
                result["code"] = response and json.loads(response["body"] or "{}").get("error", {}).get("code")
                result["connection_header"] = response and response["headers"].get("connection")
                if connection == "close":
                    result["closed"] = closed_by_peer(sock, 10)
                else:
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
                    following = read_response(sock, 10)
                    result["next_status"] = following and following["status"]
            except OSError as error:
                result["error"] = repr(error)
            result["seconds"] = round(time.monotonic() - started, 3)
            sock.close()
            results.append(result)
    return results


def libraries(url, key):
    import requests  # from the project's venv
    results = {}
    request = urllib.request.Request(url + "/v1/feedback", data=b"x" * BIG, method="POST",
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=30)
        results["urllib"] = 200
    except urllib.error.HTTPError as error:
        results["urllib"] = error.code
        results["urllib_code"] = json.loads(error.read()).get("error", {}).get("code")
    except OSError as error:
        results["urllib"] = repr(error)
    try:
        response = requests.post(url + "/v1/feedback", data=b"x" * BIG, timeout=30,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        results["requests"] = response.status_code
        results["requests_code"] = response.json().get("error", {}).get("code")
    except requests.RequestException as error:
        results["requests"] = repr(error)
    return results


def slow_head(url):
    sock = socket.create_connection(address(url), timeout=30)
    text = b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"s" * 300 + b"\r\n\r\n"
    sent = 0
    started = time.monotonic()
    try:
        for byte in text:
            sock.sendall(bytes([byte]))
            sent += 1
            time.sleep(0.1)
    except OSError:
        pass
    response = None
    try:
        response = read_response(sock, 10)
    except OSError:
        pass
    return {"sent": sent, "total": len(text), "status": response and response["status"],
            "closed": closed_by_peer(sock, 10), "seconds": round(time.monotonic() - started, 3)}


def idle(url):
    sock = socket.create_connection(address(url), timeout=30)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
    response = read_response(sock, 10)
    started = time.monotonic()
    closed = closed_by_peer(sock, 30)
    return {"status": response and response["status"], "closed": closed, "waited": round(time.monotonic() - started, 3)}


def flood(url, count):
    idle_sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.settimeout(30)
        sock.connect(address(url))
        idle_sockets.append(sock)
    # A client like any other, after the flood.
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=20) as response:
            status = response.status
    except Exception as error:  # noqa: BLE001 - reported, not raised
        status = repr(error)
    answered = round(time.monotonic() - started, 3)
    with urllib.request.urlopen(url + "/metrics", timeout=20) as response:
        metrics = response.read().decode()
    figures = {}
    for line in metrics.splitlines():
        if line.startswith("arbiter_http_connections"):
            name, value = line.rsplit(" ", 1)
            figures[name] = float(value)
    closed = 0
    for sock in idle_sockets:
        sock.setblocking(False)
        try:
            if sock.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        sock.close()
    return {"status": status, "answered_in": answered, "flood_closed_by_server": closed, "metrics": figures}


def main():
    scenario, url = sys.argv[1], sys.argv[2].rstrip("/")
    if scenario == "oversized":
        result = oversized(url, sys.argv[3], json.loads(sys.argv[4]))
    elif scenario == "libraries":
        result = libraries(url, sys.argv[3])
    elif scenario == "slow-head":
        result = slow_head(url)
    elif scenario == "idle":
        result = idle(url)
    elif scenario == "flood":
        result = flood(url, int(sys.argv[3]))
    else:
        raise SystemExit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
