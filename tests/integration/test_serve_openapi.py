"""schemathesis against the live ``sidecar serve``: every answer to generated requests, valid and invalid, is a
status ``schemas/openapi.yaml`` documents for the operation, with a body that matches its schema, and never
a 5xx. The server is the real process on 127.0.0.1 (a free port) with a SQLite store, called with a write
token made by ``sidecar token create``; the document is the one the server serves.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import DataGenerationMethod, GenerationConfig, HeaderConfig
from schemathesis.checks import negative_data_rejection
from serve_proc import ServeProcess, create_token

from sidecar import DataContract
from sidecar.report.event import ReportEvent
from sidecar.report.model import ValidationReport

pytestmark = pytest.mark.timeout(900)


class Served:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("serve-openapi")
    from frames import make_frame

    reference: pd.DataFrame = make_frame(500, seed=0)
    DataContract("churn_inputs", reference).save(tmp / "contracts")
    server = ServeProcess(tmp, {"store": {"url": f"sqlite:///{tmp}/control.sqlite"},
                                "contracts": {"path": str(tmp / "contracts")}})
    token = create_token(server.config_path, "write")
    server.start()
    try:
        import urllib.request

        # One report, so a detail and the models have something to show.
        event = ReportEvent(id="seed", model="churn", report=ValidationReport(contract="churn_inputs"))
        request = urllib.request.Request(server.url + "/api/v1/reports", data=event.model_dump_json().encode(),
                                         headers={"Authorization": f"Bearer {token}"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 201
        yield Served(server.url, token)
        server.terminate()
        assert server.wait() == 0, server.log()
        assert "Traceback" not in server.log(), server.log()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def api_schema(served: Served) -> schemathesis.schemas.BaseSchema:
    # Header values schemathesis makes up stay printable ASCII: a control character in a header is refused by
    # aiohttp's HTTP parser (a plain-text 400) before the app sees the request, which is HTTP, not this API.
    header_values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=64)
    return schemathesis.from_uri(
        f"{served.url}/api/v1/openapi.json", base_url=f"{served.url}/api/v1", validate_schema=True,
        data_generation_methods=[DataGenerationMethod.positive, DataGenerationMethod.negative],
        generation_config=GenerationConfig(headers=HeaderConfig(strategy=header_values)))


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_conforms_to_the_document(case: schemathesis.Case, served: Served) -> None:
    # Every check, negative_data_rejection included (what the document calls invalid is refused), except for
    # the operations without parameters or body: there schemathesis' only "invalid" request is one with a
    # broken Authorization header, which our valid one replaces, so its 200 would be counted as accepting it.
    operation = case.operation
    takes_input = bool(operation.query or operation.path_parameters or operation.body)
    case.call_and_validate(headers={"Authorization": f"Bearer {served.token}"}, timeout=30,
                           excluded_checks=() if takes_input else (negative_data_rejection,))


def test_the_served_document_is_the_committed_one(served: Served) -> None:
    import json
    import urllib.request

    import yaml

    with urllib.request.urlopen(served.url + "/api/v1/openapi.json", timeout=10) as resp:
        served_doc = json.loads(resp.read())
    committed = yaml.safe_load((Path(__file__).resolve().parents[2] / "schemas" / "openapi.yaml").read_text())
    assert served_doc == committed
