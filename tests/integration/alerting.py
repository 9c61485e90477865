"""Real Prometheus and Alertmanager for the alerting tests, and a webhook receiver that records notifications.

Each server runs from the Debian packages (``prometheus``, ``prometheus-alertmanager``) on a free loopback
port with its data in the test's temporary directory, and is stopped by the test.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from sidecar_proc import free_port, get
from tools import required_tool

__all__ = ["Alertmanager", "Prometheus", "Webhook"]


class Webhook:
    """Alertmanager's webhook receiver: every notification it POSTs, in order."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        received = self.notifications
        lock = self._lock

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def alerts(self, **labels: str) -> list[dict[str, Any]]:
        """Every alert of every notification whose labels include ``labels``, in arrival order."""
        with self._lock:
            return [a for n in self.notifications for a in n["alerts"]
                    if all(a["labels"].get(k) == v for k, v in labels.items())]

    def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"webhook: no {what} within {timeout}s; received {json.dumps(self.notifications)[:3000]}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Server:
    name = "server"

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.log_path = workdir / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def _start(self, argv: list[str], ready_path: str, timeout: float = 30.0) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.proc.returncode}:\n{self.log()}")
            try:
                if get(self.url + ready_path, timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Alertmanager(_Server):
    """``prometheus-alertmanager`` routing every alert to ``webhook`` at once (1 s group timers)."""

    name = "alertmanager"

    def start(self, webhook: Webhook) -> Alertmanager:
        config = {
            "route": {"receiver": "hook", "group_by": ["alertname", "model", "contract", "check", "feature"],
                      "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
            "receivers": [{"name": "hook", "webhook_configs": [{"url": webhook.url, "send_resolved": True}]}],
        }
        path = self.workdir / "alertmanager.yml"
        path.write_text(yaml.safe_dump(config))
        self._start([required_tool("prometheus-alertmanager"), f"--config.file={path}",
                     f"--storage.path={self.workdir / 'am-data'}", f"--web.listen-address=127.0.0.1:{self.port}",
                     "--cluster.listen-address="], "/-/ready")
        return self


class Prometheus(_Server):
    """``prometheus`` scraping ``targets`` every second, evaluating ``rules_file`` every second."""

    name = "prometheus"

    def start(self, targets: list[str], rules_file: Path, alertmanager: Alertmanager) -> Prometheus:
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
            "rule_files": [str(rules_file)],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager.port}"]}]}]},
            "scrape_configs": [{"job_name": "model-health-sidecar", "static_configs": [{"targets": targets}]}],
        }
        path = self.workdir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        self._start([required_tool("prometheus"), f"--config.file={path}",
                     f"--storage.tsdb.path={self.workdir / 'tsdb'}", f"--web.listen-address=127.0.0.1:{self.port}",
                     "--rules.alert.resend-delay=1s"], "/-/ready")
        return self

    def alerts(self) -> list[dict[str, Any]]:
        """Prometheus' own view of its alerts (pending and firing)."""
        return list(json.loads(get(self.url + "/api/v1/alerts")[1])["data"]["alerts"])
