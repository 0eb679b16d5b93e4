"""``GET /healthz`` every 50 ms from a process of its own, for ``detection_throughput``.

    python -m bench.health_probe http://127.0.0.1:8080

Prints one line per probe, ``<start, time.monotonic()> <seconds>``, until its stdin
closes. Only the standard library and one keep-alive connection: the probe's own
pauses (a garbage collection over the benchmark's heap, the benchmark's event loop
busy with 64 clients) must not be counted as the gateway's.
"""

from __future__ import annotations

import http.client
import sys
import threading
import time
from urllib.parse import urlsplit


def main() -> int:
    url = urlsplit(sys.argv[1])
    done = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        done.set()
    threading.Thread(target=wait_for_eof, daemon=True).start()
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    while not done.is_set():
        t0 = time.monotonic()
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        print(f"{t0:.6f} {time.monotonic() - t0:.6f}", flush=True)
        done.wait(0.05)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
