"""Bundled demo data: ``churn_reference.csv.gz`` (reference) and ``churn_drifted.csv.gz`` (a drifted batch)."""

__all__: list[str] = []
