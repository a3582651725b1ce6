"""Lint and render the Helm chart, then validate every rendered object against the Kubernetes
JSON schemas (docs/deploying.md#cluster). Run by .ci/run:

    python deploy/helm/check_chart.py [--kube-version 1.30]

`helm lint --strict` and `helm template` come from helm-python-sdk (Helm v4's Go SDK behind a C
ABI: the same engine as the helm binary, which no registry here ships); kubernetes-validate
checks each object against the schema of its kind at the given Kubernetes version. Two value sets
are rendered: the defaults and deploy/helm/ci-values.yaml (existingSecret, ingress, autoscaling
off), so both branches of every `if` are rendered.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CHART = HERE / "practice"
VALUE_SETS = {"defaults": None, "ci-values.yaml": HERE / "ci-values.yaml"}


def render(values: dict | None) -> dict[str, str]:
    import helm_python as helm

    chart = helm.Chart.load(str(CHART))
    return chart.render(values, name="practice", namespace="practice", is_install=True)


def lint(values: dict | None, kube_version: str) -> list[str]:
    import helm_python as helm

    report = helm.lint(str(CHART), values, strict=True, kube_version=f"v{kube_version}.0")
    problems = [f"{m.get('path')}: {m.get('error')}" for m in report.get("messages", []) if m.get("severity", 0) >= 2]
    return problems + list(report.get("errors") or [])


def objects(manifests: dict[str, str]):
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                yield path, doc


def validate(manifests: dict[str, str], kube_version: str) -> tuple[list[str], list[dict]]:
    import kubernetes_validate

    problems, seen = [], []
    for path, doc in objects(manifests):
        seen.append(doc)
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(
                f"{path} {doc.get('kind')}/{doc['metadata'].get('name')}: {exc.message} at {list(exc.path)}"
            )
    return problems, seen


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kube-version", default="1.30")
    args = parser.parse_args()
    failed = False
    for label, path in VALUE_SETS.items():
        values = yaml.safe_load(path.read_text()) if path else None
        problems = lint(values, args.kube_version)
        manifests = render(values)
        schema_problems, docs = validate(manifests, args.kube_version)
        problems += schema_problems
        kinds = sorted({d["kind"] for d in docs})
        status = "ok" if not problems else "FAILED"
        sys.stdout.write(
            f"chart {label}: helm lint --strict, {len(docs)} objects rendered ({', '.join(kinds)}), "
            f"Kubernetes {args.kube_version} schemas: {status}\n"
        )
        for problem in problems:
            sys.stdout.write(f"  {problem}\n")
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
