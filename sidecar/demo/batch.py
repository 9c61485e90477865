"""Batch demo: learn a contract from the bundled reference data, validate a drifted batch, print the report."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sidecar import DataContract, ValidationReport

__all__ = ["build_contract", "load_bundled", "run"]


def load_bundled(name: str) -> pd.DataFrame:
    """One of the bundled CSV files (``churn_reference`` or ``churn_drifted``)."""
    with resources.as_file(resources.files("sidecar.demo.datasets") / f"{name}.csv.gz") as path:
        return pd.read_csv(path, parse_dates=["signup_date"])


def build_contract(reference: pd.DataFrame) -> DataContract:
    """The demo contract: defaults plus the checks a churn model's owner would add."""
    contract = DataContract("churn_inputs", reference)
    contract.distribution_test.configure(["monthly_spend"], threshold=0.2, method="psi")
    contract.distribution_test.configure(["plan", "country"], threshold=0.1, method="l-infinity")
    contract.special_value_test.configure(["monthly_spend"], thresholds={np.nan: 0.05, -1: 0.05})
    contract.min_max_test.configure(["age"], lower_bound=18, upper_bound=100)
    contract.domain_test.configure(["plan", "country"])
    contract.uniqueness_test.configure(["customer_id"])
    return contract


def run(out_dir: str | Path = "demo-out") -> ValidationReport:
    """Build, save and validate; prints what happens and returns the report."""
    reference, drifted = load_bundled("churn_reference"), load_bundled("churn_drifted")
    print(f"reference: {len(reference):,} rows x {reference.shape[1]} columns (bundled churn_reference.csv.gz)")
    contract = build_contract(reference)
    path = contract.save(Path(out_dir) / "contracts")
    print(f"contract saved: {path} (sha256 {contract.sha256[:12] if contract.sha256 else '?'}...)")
    print(f"validating a drifted batch of {len(drifted):,} rows\n")
    report = contract.validate(drifted)
    print(report.to_text())
    report_path = Path(out_dir) / "report.json"
    report_path.write_text(report.to_json(indent=2), encoding="utf-8")
    html_path = report.to_html(Path(out_dir) / "report.html")
    spec_path = Path(out_dir) / "churn_inputs.spec.yaml"
    spec_path.write_text(yaml.safe_dump(contract.to_spec(), sort_keys=False), encoding="utf-8")
    print(f"\nfull report: {report_path}\nfor people:  {html_path.resolve().as_uri()} (opens offline in a browser)"
          f"\nthe contract as a reviewable spec: {spec_path}")
    return report


if __name__ == "__main__":
    run()
