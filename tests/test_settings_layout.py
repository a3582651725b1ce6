"""config/settings/ holds one module per concern, composed by base.py (docs/architecture.md#settings)."""

import ast
from pathlib import Path

SETTINGS = Path(__file__).resolve().parent.parent / "config" / "settings"
ENVIRONMENTS = {"__init__", "base", "local", "test", "production"}
CONCERNS = sorted(p.stem for p in SETTINGS.glob("*.py") if p.stem not in ENVIRONMENTS)


def _defined_settings(stem):
    """Upper-case names a module assigns (at any depth of its top-level if/else), not those it imports."""
    names = set()
    for node in ast.walk(ast.parse((SETTINGS / f"{stem}.py").read_text())):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        names |= {t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()}
    return names


def test_base_composes_every_concern_module():
    imported = {
        node.module
        for node in ast.parse((SETTINGS / "base.py").read_text()).body
        if isinstance(node, ast.ImportFrom) and node.level == 1
    }
    assert imported == set(CONCERNS)


def test_each_setting_is_defined_in_one_module():
    owner = {}
    for stem in CONCERNS:
        for name in _defined_settings(stem):
            assert name not in owner, f"{name} is set in both {owner[name]}.py and {stem}.py"
            owner[name] = stem
    assert {"SECRET_KEY", "DATABASES", "CELERY_BEAT_SCHEDULE", "REST_FRAMEWORK", "LOGGING"} <= owner.keys()
