"""The preview server in front of the site engine's: never a gap, and a broken edit shown on the page.

`kb serve` runs the engine's own server (MkDocs or Zensical, with live reload) on a private port and this small
proxy on the address the contributor opens. It passes every request through, and:

- keeps the last good answer for each page: while the engine rebuilds (MkDocs answers 404 then) or restarts,
  the page that was there is served instead of an error;
- adds a banner script to every HTML page, which asks `/__kb/status` every two seconds and shows the errors of the
  last regeneration (a broken edit) over the page, or nothing once it is fixed;
- tunnels WebSocket connections (Zensical's live reload) untouched.

Everything in the banner is the contributor's text or kb's message about it, so it is sent as JSON and set as
text by the script, never as HTML.
"""

from __future__ import annotations

import http.client
import http.server
import json
import select
import socket
import threading
from dataclasses import dataclass, field

STATUS_PATH = "/__kb/status"
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "upgrade"}
UPSTREAM_TIMEOUT = 120  # seconds; MkDocs' live reload holds a request open for up to a minute
MAX_REMEMBERED_BYTES = 200_000_000  # last good answers kept in memory, oldest dropped first

BANNER_SCRIPT = b"""<script>(function () {
  var box = null;
  function show(status) {
    if (!status.problems.length) { if (box) { box.remove(); box = null; } return; }
    if (!box) {
      box = document.createElement("div");
      box.setAttribute("role", "alert");
      box.id = "kb-preview-error";
      box.style.cssText = "position:fixed;z-index:9999;left:0;right:0;bottom:0;max-height:40vh;overflow:auto;" +
        "margin:0;padding:1em;background:#7f1d1d;color:#fff;font:14px/1.4 monospace;white-space:pre-wrap";
      document.body.appendChild(box);
    }
    box.textContent = "kb: the last edit could not be shown (this page is the last good one):\\n\\n" +
      status.problems.join("\\n");
  }
  function ask() {
    fetch("/__kb/status", {cache: "no-store"}).then(function (r) { return r.json(); })
      .then(show).catch(function () {}).finally(function () { setTimeout(ask, 2000); });
  }
  ask();
})();</script>"""


@dataclass
class PreviewState:
    """What the banner shows: the problems of the last regeneration (none when it succeeded)."""

    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, problems: list[str]) -> None:
        with self.lock:
            self.problems = list(problems)

    def as_json(self) -> bytes:
        with self.lock:
            return json.dumps({"problems": self.problems}).encode("utf-8")


@dataclass
class _Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class _Remembered:
    """The last good (200) answer for each path, within a memory budget."""

    def __init__(self, budget: int = MAX_REMEMBERED_BYTES):
        self.answers: dict[str, _Answer] = {}
        self.size, self.budget = 0, budget
        self.lock = threading.Lock()

    def keep(self, path: str, answer: _Answer) -> None:
        with self.lock:
            old = self.answers.pop(path, None)
            self.size += len(answer.body) - (len(old.body) if old else 0)
            self.answers[path] = answer
            while self.size > self.budget and self.answers:
                self.size -= len(self.answers.pop(next(iter(self.answers))).body)

    def get(self, path: str) -> _Answer | None:
        with self.lock:
            return self.answers.get(path)


def make_server(address: tuple[str, int], upstream: tuple[str, int], state: PreviewState):
    """The proxy server (not started): `serve_forever()` in a thread, `shutdown()` to stop."""
    remembered = _Remembered()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass

        def do_GET(self):  # noqa: N802 - the base class's name
            if self.path.split("?", 1)[0] == STATUS_PATH:
                self._send(_Answer(200, [("Content-Type", "application/json")], state.as_json()), cache=False)
            elif self.headers.get("Upgrade", "").lower() == "websocket":
                self._tunnel()
            else:
                self._forward()

        def do_HEAD(self):  # noqa: N802
            self._forward()

        def _forward(self) -> None:
            try:
                answer = _fetch(upstream, self.command, self.path, self.headers)
            except OSError:
                answer = None
            if answer is not None and answer.status == 200 and self.command == "GET":
                remembered.keep(self.path, answer)
            elif answer is None or answer.status == 404 or answer.status >= 500:
                answer = remembered.get(self.path) or answer  # the engine is rebuilding or restarting
            if answer is None:
                answer = _Answer(503, [("Content-Type", "text/plain")], b"The preview is starting; reload soon.")
            self._send(answer)

        def _send(self, answer: _Answer, cache: bool = True) -> None:
            body = _with_banner(answer) if self.command == "GET" else answer.body
            self.send_response(answer.status)
            for name, value in answer.headers:
                if name.lower() not in HOP_HEADERS:
                    self.send_header(name, value)
            if not cache:
                self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _tunnel(self) -> None:
            """Pass a WebSocket connection through, byte for byte, in both directions."""
            try:
                server = socket.create_connection(upstream, timeout=UPSTREAM_TIMEOUT)
            except OSError:
                self.send_error(503)
                return
            request = f"{self.requestline}\r\n{self.headers}".encode("latin-1")
            server.sendall(request if request.endswith(b"\r\n\r\n") else request + b"\r\n")
            _pipe(self.connection, server)
            self.close_connection = True

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        daemon_threads = True  # a held live-reload request must not delay stopping

    return Server(address, Handler)


def _fetch(upstream: tuple[str, int], method: str, path: str, headers) -> _Answer:
    connection = http.client.HTTPConnection(*upstream, timeout=UPSTREAM_TIMEOUT)
    try:
        wanted = {name: value for name, value in headers.items() if name.lower() not in HOP_HEADERS}
        wanted["Accept-Encoding"] = "identity"  # the banner goes into the HTML as it is
        connection.request(method, path, headers=wanted)
        response = connection.getresponse()
        return _Answer(response.status, response.getheaders(), response.read())
    finally:
        connection.close()


def _with_banner(answer: _Answer) -> bytes:
    content_type = next((value for name, value in answer.headers if name.lower() == "content-type"), "")
    if not content_type.startswith("text/html") or b"</body>" not in answer.body:
        return answer.body
    head, _, tail = answer.body.rpartition(b"</body>")
    return head + BANNER_SCRIPT + b"</body>" + tail


def _pipe(client: socket.socket, server: socket.socket) -> None:
    sockets = [client, server]
    try:
        while True:
            readable, _, broken = select.select(sockets, [], sockets, UPSTREAM_TIMEOUT)
            if broken or not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (server if source is client else client).sendall(data)
    except OSError:
        return
    finally:
        server.close()
