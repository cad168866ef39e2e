"""Kill -9 under load: every notification that got a 200 is in the journal afterwards."""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from rchelpers import WebhookReceiver

SERVER = """
import sys, time
from rchelpers import WebhookReceiver
rx = WebhookReceiver(journal=sys.argv[1], verification_token="durable-token-42").start()
print(rx.port, flush=True)
while True:
    time.sleep(1)
"""


def _client(port: int, prefix: str, acked: list[str], stop: threading.Event, keep_alive: bool) -> None:
    connection = None
    for n in range(100_000):
        if stop.is_set():
            break
        event_uuid = f"{prefix}-{n}"
        body = json.dumps({"uuid": event_uuid, "event": "/restapi/v1.0/account/~/extension/1/presence",
                           "subscriptionId": "s", "body": {"presenceStatus": "Busy"}})
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            headers = {"Content-Type": "application/json", "Verification-Token": "durable-token-42"}
            if not keep_alive:
                headers["Connection"] = "close"
            connection.request("POST", "/webhook", body, headers)
            reply = connection.getresponse()
            reply.read()
            if reply.status == 200:
                acked.append(event_uuid)
            if not keep_alive:
                connection.close()
                connection = None
        except OSError:
            break  # the receiver was killed
        except http.client.HTTPException:
            break
    if connection is not None:
        connection.close()


def test_every_acknowledged_notification_survives_sigkill(tmp_path: Path):
    journal = tmp_path / "durable.jsonl"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(journal)], stdout=subprocess.PIPE, env=env, text=True)
    stop = threading.Event()
    acked: list[str] = []
    clients: list[threading.Thread] = []
    try:
        port = int(server.stdout.readline())
        clients = [threading.Thread(target=_client, args=(port, f"c{i}", acked, stop, i % 2 == 0), daemon=True)
                   for i in range(16)]
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 10
        while len(acked) < 1500 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.send_signal(signal.SIGKILL)  # in the middle of the load
        server.wait(10)
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()
            server.wait(10)
        for thread in clients:
            thread.join(10)
        server.stdout.close()
    assert server.returncode == -signal.SIGKILL
    journaled = [event.uuid for event in WebhookReceiver.replay_journal(journal)]
    missing = set(acked) - set(journaled)
    print(f"kill -9 under load: {len(acked)} acknowledged with 200, {len(journaled)} in the journal, "
          f"{len(set(journaled) - set(acked))} journaled but unacknowledged (in flight), {len(missing)} lost")
    assert len(acked) >= 100
    assert not missing
    assert len(journaled) == len(set(journaled)), "no uuid is journaled twice"
