"""Shared by the DOI tests: the recorded Crossref responses, a local server that serves them, and the CLI.

Every test points KB_CROSSREF_URL and KB_DOI_URL at pytest-httpserver, so no test touches the real network,
and shrinks the retry waits through KB_HTTP_* so that fault tests stay fast.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "crossref"
SCRIPT = ROOT / "scripts" / "doi_lookup.py"
CSL_JSON = "application/vnd.citationstyles.csl+json"

JOR = "10.1002/jor.1100150407"
ESMO = "10.1136/esmoopen-2020-000776"
DELPHI = "10.1371/journal.pone.0020476"
MICE = "10.1371/journal.pone.0033693"  # carries a correction in `updated-by`


def fixture_body(doi: str) -> bytes:
    return (FIXTURES / f"works_{doi.replace('/', '_')}.json").read_bytes()


def fixture_message(doi: str) -> dict:
    return json.loads(fixture_body(doi))["message"]


def serve_work(server, doi: str, body: bytes | None = None) -> None:
    """Answer /works/{doi} with the recorded Crossref body (or `body`)."""
    server.expect_request(f"/works/{doi}").respond_with_data(
        body if body is not None else fixture_body(doi), content_type="application/json"
    )


def serve_message(server, doi: str, message: dict) -> None:
    envelope = {"status": "ok", "message-type": "work", "message-version": "1.0.0", "message": message}
    serve_work(server, doi, json.dumps(envelope).encode())


def http_env(server, cache_dir: Path) -> dict[str, str]:
    """KB_* settings that send every request to the local server and keep retries short."""
    return {
        "KB_CROSSREF_URL": server.url_for("").rstrip("/"),
        "KB_DOI_URL": server.url_for("/doiorg"),
        "KB_CACHE_DIR": str(cache_dir),
        "KB_MAILTO": "tests@example.org",
        "KB_HTTP_RETRIES": "2",
        "KB_HTTP_BACKOFF": "0.01",
        "KB_HTTP_TIMEOUT": "2",
        "KB_HTTP_MAX_WAIT": "10",
    }


def make_kb(folder: Path) -> Path:
    """A knowledge base folder with an empty entries/ and the project's vocabulary."""
    (folder / "entries").mkdir(parents=True)
    shutil.copy(ROOT / "vocabulary.yml", folder / "vocabulary.yml")
    return folder


def run(args: list[str], env: dict[str, str], cwd: Path, stderr_on_terminal: bool = False):
    """Run a command with the test's KB_* settings, as a user would from the knowledge base folder; with
    `stderr_on_terminal`, its stderr is a pseudo-terminal, as when a person runs it."""
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    full_env.pop("KB_DEBUG", None)
    if not stderr_on_terminal:
        return subprocess.run(args, env=full_env, cwd=cwd, capture_output=True, text=True, timeout=120)
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(args, env=full_env, cwd=cwd, stdout=subprocess.PIPE, stderr=terminal, timeout=120)
    finally:
        os.close(terminal)
    result.stderr = _read_all(controller).decode("utf-8", "replace")
    result.stdout = result.stdout.decode("utf-8")
    return result


def _read_all(fd: int) -> bytes:
    chunks = []
    try:
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
    except OSError:  # EIO: the terminal's other end is closed and everything has been read
        pass
    finally:
        os.close(fd)
    return b"".join(chunks)


def run_script(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, str(SCRIPT), *args], env, cwd)


def run_kb(args: list[str], env: dict[str, str], cwd: Path, stderr_on_terminal: bool = False):
    return run([sys.executable, "-c", "from kb.cli import main; main()", *args], env, cwd, stderr_on_terminal)


def assert_one_line_failure(result: subprocess.CompletedProcess, *needles: str) -> str:
    """Non-zero exit, no traceback, one line on stderr that contains every needle; returns that line."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def use_local_server(httpserver, tmp_path: Path, monkeypatch) -> dict[str, str]:
    """Point a test's lookups (in-process and in subprocesses) at the local server, with a fresh cache."""
    values = http_env(httpserver, tmp_path / "cache")
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values
