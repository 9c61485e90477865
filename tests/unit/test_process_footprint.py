"""What the sidecar's main process loads: it never decodes or profiles, so pandas and pyarrow stay out."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

from sidecar import DataContract
from sidecar.demo.data import churn_frame
from sidecar.runtime import tune_malloc


def test_main_process_runs_without_pandas_pyarrow_scipy_optimize_or_faust(tmp_path: Path) -> None:
    DataContract("churn_inputs", churn_frame(500, seed=1)).save(tmp_path)
    code = f"""
import sys
from sidecar.cli import build_parser
from sidecar.config import Settings
from sidecar.run import create_app
settings = Settings(model="m", inputs={{"topic": "t", "contract": {str(tmp_path / "churn_inputs")!r}}})
build_parser()
create_app(settings)
print(sorted(m for m in ("pandas", "pyarrow", "scipy.optimize", "faust") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_malloc_thresholds_apply_on_glibc() -> None:
    assert tune_malloc() is (platform.libc_ver()[0] == "glibc")
