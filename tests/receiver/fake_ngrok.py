"""A fake ngrok agent for the tunnel tests: what pyngrok expects of ngrok v3, on loopback, no network.

Run as ``python fake_ngrok.py MODE RECORD_FILE <ngrok arguments>`` (the tests generate a wrapper
script that pyngrok starts as its ``ngrok_path``). MODE picks the behaviour:

- ``ok``: ``start --none --log stdout ...`` serves the agent API on a free loopback port
  (``/api/endpoints`` GET/POST, ``/api/endpoints/<name>`` GET/DELETE 204, ``/api/tunnels`` alike)
  and prints the three logfmt startup lines once it answers.
- ``bad_token``: prints an ``lvl=eror`` authentication failure that quotes the token (as the real
  agent does), then exits 1.
- ``no_network``: prints an ``lvl=eror`` dial failure, then exits 1.
- ``exit``: exits 1 at once without a word.
- ``hang``: prints the web service line, then only heartbeats: it never becomes healthy.

``--version`` prints a version, ``config add-authtoken`` saves nothing but says it did. Every
invocation appends its arguments as one JSON line to RECORD_FILE.
"""
from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def log(level: str, msg: str, **fields: str) -> None:
    extra = " ".join(f'{key}="{value}"' if " " in value or "\n" in value else f"{key}={value}"
                     for key, value in fields.items())
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime())
    print(f't={stamp} lvl={level} msg="{msg}" {extra}'.rstrip(), flush=True)


class AgentApi(BaseHTTPRequestHandler):
    endpoints: dict[str, dict] = {}

    def _send(self, status: int, payload: object | None = None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _collection(self) -> str | None:
        for name in ("endpoints", "tunnels"):
            if self.path.rstrip("/") == f"/api/{name}":
                return name
        return None

    def do_GET(self) -> None:  # noqa: N802
        collection = self._collection()
        if collection:
            self._send(200, {collection: list(self.endpoints.values()), "uri": f"/api/{collection}"})
        elif self.path.rsplit("/", 1)[-1] in self.endpoints:
            self._send(200, self.endpoints[self.path.rsplit("/", 1)[-1]])
        else:
            self._send(404, {"error_code": 100, "msg": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        collection = self._collection()
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if not collection or "name" not in request:
            self._send(400, {"error_code": 102, "msg": "invalid request"})
            return
        name = request["name"]
        endpoint = {"name": name, "public_url": f"https://{uuid.uuid4().hex[:12]}.ngrok-free.app",
                    "uri": f"/api/{collection}/{name}", "proto": "https",
                    "upstream": request.get("upstream") or {"url": request.get("addr")}}
        self.endpoints[name] = endpoint
        self._send(201, endpoint)

    def do_DELETE(self) -> None:  # noqa: N802
        name = self.path.rsplit("/", 1)[-1]
        if self.endpoints.pop(name, None) is None:
            self._send(404, {"error_code": 100, "msg": "not found"})
        else:
            self._send(204)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main(argv: list[str]) -> int:
    mode, record_file, args = argv[0], argv[1], argv[2:]
    with open(record_file, "a", encoding="utf-8") as record:
        record.write(json.dumps(args) + "\n")
    if args[:1] == ["--version"]:
        print("ngrok version 3.99.0-fake")
        return 0
    if args[:2] == ["config", "add-authtoken"]:
        print("Authtoken saved to configuration file: fake")
        return 0
    if args[:1] != ["start"]:
        print(f"fake ngrok: unsupported arguments {args}", file=sys.stderr)
        return 2
    token = args[args.index("--authtoken") + 1] if "--authtoken" in args else ""
    if mode == "exit":
        return 1
    if mode == "bad_token":
        log("eror", "failed to reconnect session", obj="tunnels.session",
            err=("authentication failed: The authtoken you specified does not look like a proper ngrok "
                 f"tunnel authtoken. Your authtoken: {token} ERR_NGROK_105"))
        return 1
    if mode == "no_network":
        log("eror", "failed to reconnect session", obj="tunnels.session",
            err="failed to dial ngrok server with address connect.ngrok-agent.com:443: dial tcp: lookup "
                "connect.ngrok-agent.com: no such host")
        return 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), AgentApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log("info", "starting web service", obj="web", addr=f"127.0.0.1:{server.server_address[1]}")
    if mode == "hang":
        while True:
            time.sleep(0.1)
            log("info", "still connecting", obj="tunnels.session")
    log("info", "client session established", obj="tunnels.session")
    log("info", "tunnel session started", obj="tunnels.session")
    while True:  # the agent runs until pyngrok kills it
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
