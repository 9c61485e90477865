"""What the service is built from: the streams and their contracts, and where the engine runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar import DataContract
from sidecar.config import Settings
from sidecar.demo.data import churn_frame
from sidecar.errors import ContractNotFoundError
from sidecar.stream.streams import load_streams
from sidecar.stream.worker import LocalIngest, ProcessIngest, make_ingest


def _settings(tmp_path: Path, **ingest: object) -> Settings:
    return Settings(model="m", inputs={"topic": "m.inputs", "contract": str(tmp_path / "contracts" / "inputs")},
                    predictions={"topic": "m.predictions", "contract": str(tmp_path / "missing" / "outputs")},
                    ingest=ingest or {"worker_process": False})


def test_streams_use_a_given_contract_and_load_the_others_from_their_path(tmp_path: Path) -> None:
    saved = DataContract("inputs", churn_frame(300, seed=1))
    saved.save(tmp_path / "contracts")
    given = DataContract("outputs", churn_frame(300, seed=2))
    streams = load_streams(_settings(tmp_path), {"predictions": given})
    assert {t: (s.role, s.contract.name) for t, s in streams.items()} == {
        "m.inputs": ("inputs", "inputs"), "m.predictions": ("predictions", "outputs")}
    assert streams["m.predictions"].contract is given
    assert streams["m.inputs"].contract.sha256 == saved.sha256
    with pytest.raises(ContractNotFoundError, match="outputs"):
        load_streams(_settings(tmp_path))


@pytest.mark.parametrize(("worker_process", "kind"), [(False, LocalIngest), (True, ProcessIngest)])
def test_the_ingest_backend_follows_the_setting(tmp_path: Path, worker_process: bool, kind: type,
                                                caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings(tmp_path, worker_process=worker_process)
    contracts = {role: DataContract(role, churn_frame(300, seed=1)) for role in ("inputs", "predictions")}
    with caplog.at_level("INFO", logger="sidecar.stream.service"):
        ingest = make_ingest(settings, contracts)
    assert type(ingest) is kind  # built, not started: no worker process runs yet
    where = "worker process" if worker_process else "in the main process"
    assert f"ingest: {where} (ingest.worker_process: {worker_process})" in caplog.text
