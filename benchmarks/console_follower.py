"""A stand-in for a browser on the operator console, as its own process: follows the live stream
(server-sent events) and fetches the newest frame's overlay each time the previous one has arrived,
as the page does. Prints ``streaming`` once connected, and its counts as JSON when sent SIGTERM.

    python benchmarks/console_follower.py http://127.0.0.1:8089/

Used by benchmarks/console_cost.py and benchmarks/soak.py --console-clients N; imports no torch.
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit


def follow(url: str) -> None:
    counts = {"updates": 0, "images": 0, "image_bytes": 0, "image_errors": 0}
    newest: dict[str, str | None] = {"frame_id": None}
    address = urlsplit(url)
    signal.signal(signal.SIGTERM, lambda *_: (print(json.dumps(counts), flush=True), sys.exit(0)))

    def fetch_images() -> None:
        connection, shown = http.client.HTTPConnection(address.hostname, address.port, timeout=10), None
        while True:
            frame_id = newest["frame_id"]
            if frame_id is None or frame_id == shown:
                time.sleep(0.01)
                continue
            connection.request("GET", f"/api/frames/{frame_id}/image")
            response = connection.getresponse()
            body = response.read()
            counts["images" if response.status == 200 else "image_errors"] += 1
            counts["image_bytes"] += len(body) if response.status == 200 else 0
            shown = frame_id

    threading.Thread(target=fetch_images, daemon=True).start()
    stream = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    stream.request("GET", "/api/stream")
    response = stream.getresponse()
    print("streaming", flush=True)
    while line := response.readline():
        if line.startswith(b"data: "):
            update = json.loads(line[6:])
            counts["updates"] += 1
            if update["kind"] == "result":
                newest["frame_id"] = update["data"]["frame_id"]


def start_followers(url: str, count: int) -> list[subprocess.Popen]:
    """``count`` console_follower.py processes, each streaming before this returns."""
    command = [sys.executable, str(Path(__file__).resolve()), url]
    followers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(count)]
    for follower in followers:
        assert follower.stdout.readline().strip() == "streaming", "a console follower did not connect"
    return followers


def stop_followers(followers: list[subprocess.Popen]) -> list[dict]:
    """SIGTERM each follower; what each counted."""
    counts = []
    for follower in followers:
        follower.send_signal(signal.SIGTERM)
        counts.append(json.loads(follower.communicate(timeout=30)[0].strip().splitlines()[-1]))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    follow(parser.parse_args().url)


if __name__ == "__main__":
    main()
