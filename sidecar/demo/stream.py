"""Streaming demo: local Kafka, the sidecar with demo contracts, and model traffic that drifts.

``python -m sidecar.demo stream [--duration S] [--drift-after S]``. It starts what it needs (a local Kafka
broker via ``scripts/kafka-local`` unless ``--bootstrap`` names one, then ``sidecar run``), produces
synthetic inputs and predictions in real time, and prints each window's verdict. Ctrl-C, SIGTERM or the
end of ``--duration`` stops everything it started (exit 0); when the sidecar dies the demo stops producing,
prints the end of the sidecar's log and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import yaml
from aiokafka import AIOKafkaProducer

from sidecar import DataContract
from sidecar.demo.batch import build_contract, load_bundled
from sidecar.demo.data import churn_frame
from sidecar.demo.model import predict

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[2]
KAFKA_LOCAL = ROOT / "scripts" / "kafka-local"
#: Seconds between a prediction and its real outcome (uniform).
OUTCOME_DELAY = (2.0, 6.0)
#: Weight of the reversed label relationship after --concept-drift-after.
CONCEPT_DRIFT = 0.7


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=3) as resp:
        return bytes(resp.read())


def build_contracts(out: Path) -> tuple[DataContract, DataContract]:
    """The inputs contract (as in the batch demo) and an outputs contract from the reference's predictions."""
    reference = load_bundled("churn_reference")
    inputs = build_contract(reference)
    inputs.save(out)
    outputs = DataContract("churn_outputs", predict(reference))
    outputs.distribution_test.configure(["churn_probability"], threshold=0.2, method="psi")
    outputs.save(out)
    return inputs, outputs


def _messages(rows: Any, preds: Any, start: float, step: float, offset: int) -> tuple[list[bytes], list[bytes]]:
    inputs, outputs = [], []
    rows = rows.assign(signup_date=rows["signup_date"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    for i, (values, pred) in enumerate(zip(records, preds.to_dict("records"), strict=True)):
        rid, ts = f"req-{offset + i}", start + i * step
        inputs.append(orjson.dumps({"request_id": rid, "timestamp": ts, "values": values}))
        outputs.append(orjson.dumps({"request_id": rid, "timestamp": ts, **pred}))
    return inputs, outputs


def outcome_labels(probability: np.ndarray, concept_drift: float, rng: np.random.Generator) -> np.ndarray:
    """The real outcome of each prediction: churn with the model's probability (the model is calibrated),
    until concept drift mixes in the opposite relationship with weight ``concept_drift`` (inputs unchanged)."""
    p_true = (1.0 - concept_drift) * probability + concept_drift * (1.0 - probability)
    return (rng.random(probability.size) < p_true).astype(np.int8)


async def _traffic(bootstrap: str, args: argparse.Namespace, stop: asyncio.Event) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    await producer.start()
    started, sent, tick = time.time(), 0, 0.5
    rng = np.random.default_rng(7)
    pending: list[tuple[float, bytes]] = []  # outcomes not due yet: (due time, message)
    try:
        while not stop.is_set():
            now = time.time()
            drift = 0.6 if now - started >= args.drift_after else 0.0
            concept = CONCEPT_DRIFT if now - started >= args.concept_drift_after else 0.0
            n = max(int(args.rate * tick), 1)
            rows = churn_frame(n, seed=1000 + sent // max(n, 1), drift=drift)
            preds = predict(rows)
            ins, outs = _messages(rows, preds, now, tick / n, sent)
            for a, b in zip(ins, outs, strict=True):
                await producer.send("churn.inputs", a)
                await producer.send("churn.predictions", b)
            # Real outcomes arrive later, as they do from a CRM: OUTCOME_DELAY seconds after the prediction.
            labels = outcome_labels(preds["churn_probability"].to_numpy(), concept, rng)
            delays = rng.uniform(*OUTCOME_DELAY, size=n)
            for i in range(n):
                body = {"request_id": f"req-{sent + i}", "timestamp": float(now + delays[i]),
                        "churned": int(labels[i])}
                pending.append((now + delays[i], orjson.dumps(body)))
            due = [m for t, m in pending if t <= now]
            pending = [(t, m) for t, m in pending if t > now]
            for message in due:
                await producer.send("churn.outcomes", message)
            sent += n
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(tick - (time.time() - now), 0.01))
        await producer.flush()
    finally:
        await producer.stop()


def _watch(url: str, seen: dict[str, str]) -> None:
    try:
        status = json.loads(_get(url + "/api/v1/status"))
    except OSError:
        return
    for stream in status["streams"]:
        last = stream["last_report"]
        if not last or seen.get(stream["topic"]) == last["window_end"]:
            continue
        seen[stream["topic"]] = last["window_end"]
        findings = ", ".join(f"{f['check']}:{f['column']}={f['value']:.3g}" if f["value"] is not None
                             else f"{f['check']}:{f['column']}" for f in last["findings"][:6])
        print(f"[{time.strftime('%H:%M:%S')}] window ending {last['window_end'][11:19]} {stream['contract']:<14} "
              f"{last['rows']:>5} rows  {last['status'].upper():<8} {findings}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the streaming demo; returns 0 after a clean stop."""
    p = argparse.ArgumentParser(prog="python -m sidecar.demo stream")
    p.add_argument("--duration", type=float, default=None, help="seconds to run (default: until Ctrl-C)")
    p.add_argument("--drift-after", type=float, default=60.0, help="seconds before inputs start to drift")
    p.add_argument("--concept-drift-after", type=float, default=120.0,
                   help="seconds before the outcomes' relationship to the inputs changes (inputs stay put)")
    p.add_argument("--rate", type=float, default=200.0, help="requests per second")
    p.add_argument("--window", type=float, default=15.0, help="window size in seconds")
    p.add_argument("--port", type=int, default=0, help="sidecar HTTP port (default: a free one)")
    p.add_argument("--bootstrap", default=None, help="use this Kafka instead of starting a local one")
    p.add_argument("--out", default="demo-out", help="where contracts, config and reports go")
    args = p.parse_args(argv)
    # SIGTERM (from kill, a CI runner or Kubernetes) takes the same clean-up path as Ctrl-C, from the first
    # line on: a demo stopped while the broker starts must still stop the broker.
    signal.signal(signal.SIGTERM, _interrupt)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    state = out / "kafka"
    procs: list[subprocess.Popen[bytes]] = []
    started_kafka = False
    exit_code = 0
    try:
        bootstrap = args.bootstrap
        if bootstrap is None:
            print("starting local Kafka (first run fetches the broker jars with Maven) ...", flush=True)
            started_kafka = True  # before the call: an interrupt while it starts must still stop it
            bootstrap = _start_kafka(state)
        print(f"Kafka at {bootstrap}")
        asyncio.run(_create_topics(bootstrap, ["churn.inputs", "churn.predictions", "churn.outcomes"]))
        build_contracts(out / "contracts")
        write_outcome_reference(out / "reference-outcomes.csv")
        port = args.port or _free_port()
        join_port = _free_port()
        config = {
            "model": "churn",
            "kafka": {"bootstrap_servers": bootstrap, "group_id": f"demo-{int(time.time())}",
                      "auto_offset_reset": "latest"},
            "inputs": {"topic": "churn.inputs", "contract": str(out / "contracts" / "churn_inputs")},
            "predictions": {"topic": "churn.predictions", "contract": str(out / "contracts" / "churn_outputs")},
            "window": {"size_seconds": args.window, "lateness_seconds": 2, "min_rows": 100},
            "http": {"host": "127.0.0.1", "port": port},
            "store": {"path": str(out / "reports")},
            # sidecar join: predictions joined with the delayed outcomes, accuracy per window by prediction time
            "join": {"outcomes_topic": "churn.outcomes", "score_field": "churn_probability",
                     "label_field": "churned", "window_seconds": args.window, "min_pairs": 50,
                     "ttl_seconds": 300, "sweep_seconds": 1, "reference": str(out / "reference-outcomes.csv"),
                     "data_dir": str(out / "join-data"), "http": {"host": "127.0.0.1", "port": join_port}},
        }
        (out / "sidecar.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        sidecar_bin = Path(sys.executable).parent / "sidecar"
        log = open(out / "sidecar.log", "ab")  # noqa: SIM115 - the child keeps it
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIDECAR_")}
        procs.append(subprocess.Popen([str(sidecar_bin), "run", "--config", str(out / "sidecar.yaml")],
                                      stdout=log, stderr=subprocess.STDOUT, env=env))
        join_log = open(out / "join.log", "ab")  # noqa: SIM115 - the child keeps it
        procs.append(subprocess.Popen([str(sidecar_bin), "join", "--config", str(out / "sidecar.yaml")],
                                      stdout=join_log, stderr=subprocess.STDOUT, env=env))
        url, join_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{join_port}"
        _wait_ready(url + "/readyz", procs[0], out / "sidecar.log", "sidecar")
        _wait_ready(join_url + "/healthz", procs[1], out / "join.log", "joiner")
        print(f"""
The sidecar is running. Watch the numbers change (inputs drift after {args.drift_after:.0f}s):
  metrics:  {url}/metrics        (model_health_feature_drift_score, model_health_check_status, ...)
  status:   {url}/api/v1/status
  health:   {url}/healthz  {url}/readyz
  reports:  {out / 'reports'}   log: {out / 'sidecar.log'}
  sidecar:  pid {procs[0].pid}
The joiner pairs each prediction with its outcome ({OUTCOME_DELAY[0]:.0f}-{OUTCOME_DELAY[1]:.0f}s later); the
outcomes' relationship to the inputs changes after {args.concept_drift_after:.0f}s (concept drift):
  accuracy: {join_url}/metrics   (model_health_production_metric, model_health_estimated_metric)
  joiner:   pid {procs[1].pid}   log: {out / 'join.log'}
Ctrl-C stops everything.
""", flush=True)
        died = asyncio.run(_produce_and_watch(bootstrap, args, url, join_url, procs))
        if died is not None:
            exit_code = 1
            name, code, log_path = died
            tail = log_path.read_text(errors="replace").splitlines()[-15:]
            print("\n".join(["", f"the {name} exited with code {code}; the demo stops. Last lines of "
                              f"{log_path}:", *(f"  {line}" for line in tail)]), file=sys.stderr)
    except KeyboardInterrupt:
        print("\nstopping ...")
    finally:
        # Clean-up runs to the end: a second Ctrl-C or SIGTERM must not leave the broker or sidecar behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if started_kafka:
            subprocess.run([sys.executable, str(KAFKA_LOCAL), "stop", "--state-dir", str(state)],
                           check=False, stdout=subprocess.DEVNULL)
            _wait_gone(state)
    print("demo stopped; everything it started is down.")
    return exit_code


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _start_kafka(state: Path) -> str:
    """``kafka-local start``; interrupted, it gets a Ctrl-C of its own (it then stops a half-started broker
    and its storage formatter) instead of the SIGKILL ``subprocess.run`` would send, which orphans them."""
    proc = subprocess.Popen([sys.executable, str(KAFKA_LOCAL), "start", "--state-dir", str(state)],
                            stdout=subprocess.PIPE, text=True)
    try:
        out, _ = proc.communicate()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(60)
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"kafka-local start failed with exit code {proc.returncode}")
    return out.strip().splitlines()[-1]


def _wait_gone(state: Path, timeout: float = 40.0) -> None:
    """Wait until no process names the broker's state directory (a broker or formatter still exiting);
    SIGKILL what is left at the deadline, so the demo never leaves a JVM behind."""
    deadline = time.monotonic() + timeout
    while (left := _processes_naming(str(state))) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _processes_naming(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                zombie = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
            except OSError:
                continue
            if text in cmdline and not zombie:
                found.append(int(entry.name))
    return found


async def _create_topics(bootstrap: str, names: list[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(n, num_partitions=1, replication_factor=1) for n in names if n not in existing]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
    finally:
        await admin.close()


async def _produce_and_watch(bootstrap: str, args: argparse.Namespace, url: str, join_url: str,
                             procs: list[subprocess.Popen[bytes]]) -> tuple[str, int, Path] | None:
    """Produce and print verdicts until the duration ends or SIGTERM; (name, exit code, log) of a child
    (the sidecar or the joiner) that died."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # A plain handler, not loop.add_signal_handler: removing that one at loop close resets SIGTERM to its
    # default (kill), which would skip the clean-up in main().
    previous = signal.signal(signal.SIGTERM, lambda *_: loop.call_soon_threadsafe(stop.set))
    traffic = asyncio.create_task(_traffic(bootstrap, args, stop))
    seen: dict[str, str] = {}
    started = time.monotonic()
    died: tuple[str, int, Path] | None = None
    out = Path(args.out).resolve()
    children = [("sidecar", procs[0], out / "sidecar.log"), ("joiner", procs[1], out / "join.log")]
    try:
        while not stop.is_set():
            if args.duration is not None and time.monotonic() - started >= args.duration:
                break
            died = next(((name, code, log) for name, p, log in children if (code := p.poll()) is not None), None)
            if died is not None:  # no point producing traffic nobody watches
                break
            await asyncio.to_thread(_watch, url, seen)
            await asyncio.to_thread(_watch_accuracy, join_url, seen)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
    finally:
        stop.set()
        await traffic
        if died is None:
            await asyncio.to_thread(_watch, url, seen)
        signal.signal(signal.SIGTERM, previous)
    return died


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _get(url)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
                raise RuntimeError(f"the {name} did not start") from None
            time.sleep(0.2)


def write_outcome_reference(path: Path) -> Path:
    """Scores and real outcomes of the reference period: the joiner calibrates its estimates on them."""
    import pandas as pd

    reference = load_bundled("churn_reference")
    p = predict(reference)["churn_probability"].to_numpy()
    labels = outcome_labels(p, 0.0, np.random.default_rng(11))
    pd.DataFrame({"churn_probability": p, "churned": labels}).to_csv(path, index=False)
    return path


def _watch_accuracy(url: str, seen: dict[str, str]) -> None:
    """One line when the joiner's realized or estimated accuracy changes."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = _get(url + "/metrics").decode()
    except OSError:
        return
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in ("model_health_production_metric", "model_health_estimated_metric",
                               "model_health_label_coverage") and sample.labels.get("metric", "") in ("accuracy", ""):
                values[sample.name] = sample.value
    if values.get("model_health_label_coverage", 0.0) < 0.5 or values.get("model_health_production_metric") is None:
        return  # the newest window has few outcomes yet: its accuracy is mostly noise
    line = (f"accuracy realized {values.get('model_health_production_metric', float('nan')):.3f}  "
            f"estimated {values.get('model_health_estimated_metric', float('nan')):.3f}  "
            f"label coverage {values.get('model_health_label_coverage', float('nan')):.0%}")
    if seen.get("accuracy") != line:
        seen["accuracy"] = line
        print(f"[{time.strftime('%H:%M:%S')}] {'churn (joiner)':<40} {line}", flush=True)
