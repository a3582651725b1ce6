"""The Helm chart (deploy/helm/practice, docs/deploying.md#cluster).

Static checks always run; the rendered checks need helm-python-sdk (Helm v4's engine as a
library), which .ci/run installs from deploy/helm/requirements-chart.lock before the suites.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from config.queues import QUEUES

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "practice"


def values() -> dict:
    return yaml.safe_load((CHART / "values.yaml").read_text())


def env_example_keys() -> set[str]:
    return {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#") and "=" in line
    }


def test_every_setting_of_env_example_is_wired_into_the_configmap_or_the_secret():
    v = values()
    wired = set(v["config"]) | set(v["secrets"])
    assert env_example_keys() <= wired, env_example_keys() - wired
    assert not set(v["config"]) & set(v["secrets"])
    for secret in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SENTRY_DSN", "METRICS_TOKEN", "STRIPE_SECRET_KEY"):
        assert secret in v["secrets"], secret
    assert v["config"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_one_worker_per_queue_with_the_settings_time_limits():
    from django.conf import settings

    workers = values()["workers"]
    assert set(workers) == set(QUEUES)
    for queue, worker in workers.items():
        assert tuple(worker["timeLimits"]) == settings.CELERY_QUEUE_TIME_LIMITS[queue], queue


@pytest.fixture(scope="module")
def rendered():
    helm = pytest.importorskip("helm_python", reason="helm-python-sdk not installed (.ci/run installs it)")
    manifests = helm.Chart.load(str(CHART)).render(None, name="practice", namespace="practice", is_install=True)
    docs = [d for path, text in manifests.items() if not path.endswith("NOTES.txt") for d in yaml.safe_load_all(text)]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs if d}


def _container(doc):
    return doc["spec"]["template"]["spec"]["containers"][0]


def test_the_migrate_job_is_a_pre_install_and_pre_upgrade_hook_after_its_config(rendered):
    job = rendered[("Job", "practice-migrate")]
    notes = job["metadata"]["annotations"]
    assert notes["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert _container(job)["command"] == ["python", "manage.py", "migrate", "--noinput"]
    for kind in ("ConfigMap", "Secret"):
        hooked = rendered[(kind, "practice-env")]["metadata"]["annotations"]
        assert int(hooked["helm.sh/hook-weight"]) < int(notes["helm.sh/hook-weight"]), kind


def test_web_probes_livez_and_readyz_and_never_migrates(rendered):
    web = _container(rendered[("Deployment", "practice-web")])
    assert web["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["command"][:3] == ["gunicorn", "-c", "config/gunicorn.conf.py"]
    assert "migrate" not in " ".join(web["command"])
    assert ("HorizontalPodAutoscaler", "practice-web") in rendered
    assert ("PodDisruptionBudget", "practice-web") in rendered


def test_each_queue_has_its_own_worker_and_beat_is_single(rendered):
    for queue in QUEUES:
        worker = rendered[("Deployment", f"practice-worker-{queue}")]
        assert f"--queues={queue}" in _container(worker)["command"]
        assert ("PodDisruptionBudget", f"practice-worker-{queue}") in rendered
    beat = rendered[("Deployment", "practice-beat")]
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"] == {"type": "Recreate"}
    assert ("HorizontalPodAutoscaler", "practice-beat") not in rendered


def test_every_pod_runs_as_non_root_on_a_read_only_root(rendered):
    for (kind, name), doc in rendered.items():
        if kind in ("Deployment", "Job"):
            pod = doc["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True, name
            assert _container(doc)["securityContext"]["readOnlyRootFilesystem"] is True, name


def test_the_rendered_chart_passes_the_kubernetes_schemas_and_strict_lint():
    pytest.importorskip("helm_python", reason="helm-python-sdk not installed (.ci/run installs it)")
    pytest.importorskip("kubernetes_validate", reason="kubernetes-validate not installed (.ci/run installs it)")
    sys.path.insert(0, str(ROOT / "deploy" / "helm"))
    import check_chart

    for path in check_chart.VALUE_SETS.values():
        vals = yaml.safe_load(path.read_text()) if path else None
        assert check_chart.lint(vals, "1.30") == []
        problems, docs = check_chart.validate(check_chart.render(vals), "1.30")
        assert problems == [] and len(docs) > 10


def test_traces_are_off_by_default_and_otel_endpoint_wires_the_environment(rendered):
    helm = pytest.importorskip("helm_python", reason="helm-python-sdk not installed (.ci/run installs it)")
    assert not any(k.startswith("OTEL_") for k in rendered[("ConfigMap", "practice-env")]["data"])
    vals = {"otel": {"endpoint": "http://otel-collector.observability:4318", "disabledInstrumentations": "redis"}}
    manifests = helm.Chart.load(str(CHART)).render(vals, name="practice", namespace="practice", is_install=True)
    data = next(
        d["data"]
        for path, text in manifests.items()
        if not path.endswith("NOTES.txt")
        for d in yaml.safe_load_all(text)
        if d and d["kind"] == "ConfigMap" and d["metadata"]["name"] == "practice-env"
    )
    assert data["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.observability:4318"
    assert data["OTEL_SERVICE_NAME"] == "practice" and data["OTEL_DEPLOYMENT_ENVIRONMENT"] == "production"
    assert data["OTEL_SERVICE_VERSION"] == values()["image"]["tag"]
    assert (data["OTEL_TRACES_SAMPLER"], data["OTEL_TRACES_SAMPLER_ARG"]) == ("parentbased_traceidratio", "0.1")
    assert data["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] == "redis"
