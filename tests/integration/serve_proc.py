"""Run the real ``sidecar serve`` (and ``sidecar token create``) as subprocesses on a loopback port.

The server binds port 0 and the test reads the port it got from its log line, so two tests never race for
a port. Every wait is a condition polled against a deadline.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

SIDECAR = Path(sys.executable).parent / "sidecar"
_SERVING = re.compile(r"control room serving on (http://[0-9.]+:\d+)")

__all__ = ["SIDECAR", "ServeProcess", "create_token", "http_get"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SIDECAR_")}


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """``(status, body)`` of a GET, refusals included."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def create_token(config: Path, scope: str) -> str:
    """A token from the real ``sidecar token create`` (the last line of its stdout)."""
    done = subprocess.run([str(SIDECAR), "token", "create", "--config", str(config), "--scope", scope],
                          capture_output=True, text=True, timeout=60, env=_env(), check=True)
    return done.stdout.splitlines()[-1]


class ServeProcess:
    """``sidecar serve --config <file>`` with ``settings`` (``http`` is set to 127.0.0.1, port 0)."""

    def __init__(self, tmp: Path, settings: dict[str, Any], name: str = "serve") -> None:
        self.config_path = tmp / f"{name}.yaml"
        self.config_path.write_text(yaml.safe_dump({**settings, "http": {"host": "127.0.0.1", "port": 0,
                                                                         **settings.get("http", {})}}))
        self.log_path = tmp / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 60.0) -> ServeProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it for its lifetime
        self.proc = subprocess.Popen([str(SIDECAR), "serve", "--config", str(self.config_path)],
                                     stdout=log, stderr=subprocess.STDOUT, env=_env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sidecar serve exited {self.proc.returncode}:\n{self.log()}")
            found = _SERVING.search(self.log())
            if found:
                self.url = found.group(1)
                return self
            time.sleep(0.05)
        raise TimeoutError(f"sidecar serve did not listen within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self) -> None:
        """Send SIGTERM (the test then waits for the exit)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not go within 30 s; always reaps the process."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
