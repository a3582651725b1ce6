"""The import graph keeps the direction of docs/architecture.md#direction.

Parsed from the source with `ast` (nothing imported), so a new upward import or a cycle fails here
before it fails at start-up or hides in a function:

* no module imports an app above its own (at module level or inside a function), except the
  commented entries of ALLOWED_UPWARD;
* no import cycle between modules through module-level imports;
* imports inside functions do not grow (a ratchet: the count may fall, never rise; lower
  IN_FUNCTION_CEILING when it falls); each is either a start-up cycle breaker or a lazy Celery import;
* services do not import tasks of their app beyond the known list (they enqueue through the outbox);
* no function of the service (its apps, config and the seeds) is longer than a screen, MAX_FUNCTION_LINES,
  beyond the commented entries of LONG_FUNCTIONS: a longer one is split into steps whose names say what
  they do.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# docs/architecture.md#direction: lower ranks never import higher ones; equal ranks never import
# each other (siblings).
RANK = {
    "api": 0,
    "accounts": 1,
    "notifications": 2,
    "billing": 3,
    "practice": 4,
    "patients": 5,
    "scheduling": 6,
    "prescriptions": 7,
    "treatment": 8,
    "outcomes": 8,
    "messaging": 9,
    "careteam": 10,
    "console": 11,
    "interop": 11,
}
TOP = {"config", "seeds", "bench"}  # may import anything; nothing imports them (but config's URLs)

# (importing module, imported module): each a deliberate exception, with the reason.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {}
IN_FUNCTION_CEILING = 14
SERVICES_IMPORTING_TASKS = {
    # The outbox itself enqueues its own sender after commit: that is the mechanism, not a shortcut.
    ("notifications.services", "notifications.tasks"),
    # The eRx submission row is its own outbox (pending -> sending, a beat sweep takes back what a
    # dead worker held); the task is its fast path, carrying the task id the vendor dedupes on.
    ("prescriptions.services.erx", "prescriptions.erx.tasks"),
    # A stored Stripe (or sandbox) event is applied by its task after commit, as the webhook always did.
    ("billing.services.webhooks", "billing.tasks"),
}

# A function a reader must scroll through is split into named steps (docs/architecture.md#conventions).
MAX_FUNCTION_LINES = 60
# "path:qualified name": each an exception with its reason; the list only shrinks.
LONG_FUNCTIONS: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    found = {}
    for app in [*RANK, *TOP]:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _imports(path: Path):
    """(imported module names, line, inside a function?) for every absolute import in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        inside, type_checking, cursor = False, False, node
        while cursor in parents:
            cursor = parents[cursor]
            if isinstance(cursor, ast.FunctionDef | ast.AsyncFunctionDef):
                # AppConfig.ready() is where Django wants imports of models and signals to happen.
                inside = inside or not (path.name == "apps.py" and cursor.name == "ready")
            if isinstance(cursor, ast.If) and "TYPE_CHECKING" in ast.unparse(cursor.test):
                type_checking = True
        if not type_checking:
            yield [n for n in names if n.split(".")[0] in RANK or n.split(".")[0] in TOP], node.lineno, inside


def _target(name: str) -> str:
    """The module a dotted import name refers to (a name imported from a module is that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def test_no_import_against_the_app_direction():
    wrong = []
    for module, path in MODULES.items():
        app = module.split(".")[0]
        if app in TOP:
            continue
        for names, line, _inside in _imports(path):
            for name in names:
                other = name.split(".")[0]
                if other == app:
                    continue
                upward = other in TOP or RANK[other] >= RANK[app]
                if upward and (module, _target(name)) not in ALLOWED_UPWARD:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name} ({app} may not import {other})")
    assert not sorted(set(wrong)), "\n".join(sorted(set(wrong)))


def test_no_import_cycle_between_modules():
    graph = defaultdict(set)
    for module, path in MODULES.items():
        for names, _line, inside in _imports(path):
            if inside:
                continue
            for name in names:
                target = _target(name)
                if target and target != module:
                    graph[module].add(target)
    cycles, index, low, stack, on_stack, counter = [], {}, {}, [], set(), [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in list(MODULES):
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def test_imports_inside_functions_do_not_grow():
    # The service's apps only: the benchmark and the seeds configure Django before importing it.
    count = sum(
        inside
        for module, path in MODULES.items()
        if module.split(".")[0] in RANK
        for names, _l, inside in _imports(path)
        if names
    )
    assert count <= IN_FUNCTION_CEILING, (
        f"{count} project imports inside functions (ceiling {IN_FUNCTION_CEILING}): import at module level, "
        "or comment why a start-up cycle forces it and raise the ceiling in the same change"
    )


def test_services_do_not_import_their_tasks():
    found = set()
    for module, path in MODULES.items():
        if ".services" not in module and not module.endswith("services"):
            continue
        for names, _line, _inside in _imports(path):
            for name in names:
                target = _target(name)
                if target.endswith("tasks"):
                    found.add((module, target))
    assert found <= SERVICES_IMPORTING_TASKS, (
        f"new service -> tasks imports: {sorted(found - SERVICES_IMPORTING_TASKS)}"
    )


def test_the_repository_stands_on_its_own():
    """Code and docs cite docs/<page>.md, never the product owner's notes outside the repository
    or an issue tracker's numbers (a clone has neither)."""
    pattern = re.compile(r"DOMAIN\.md|\.\./shared|\bissues? #?\d+\b", re.IGNORECASE)
    skip = {".venv", "var", ".git", "node_modules", "staticfiles"}
    suffixes = {".example", ".j2", ".py", ".md", ".toml", ".yml", ".yaml", ".txt", ".cfg", ".ini", ".html", ".sh"}
    found = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if any(part in skip or part.startswith(".venv") for part in rel.parts) or not path.is_file():
            continue
        if path.suffix not in suffixes and path.name not in {"Makefile", "Dockerfile", "run"}:
            continue
        if path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{rel}:{number}: {line.strip()[:100]}")
    assert not found, "\n".join(found)


def test_the_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < 150, f"README.md has {len(lines)} lines: move detail into docs/"
    for page in ("docs/README.md", "docs/architecture.md"):
        assert (ROOT / page).exists()


def test_links_between_pages_resolve():
    broken = []
    for page in [ROOT / "README.md", ROOT / "SECURITY.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, "\n".join(broken)


def _long_functions(path: Path):
    """(qualified name, lines) of every function in the file longer than MAX_FUNCTION_LINES."""

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    lines = child.end_lineno - child.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        yield name, lines
                yield from walk(child, f"{name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(ast.parse(path.read_text(), filename=str(path)), "")


def test_functions_fit_on_a_screen():
    found = {}
    for module, path in MODULES.items():
        if module.split(".")[0] == "bench" or "tests" in path.relative_to(ROOT).parts:
            continue
        for name, lines in _long_functions(path):
            found[f"{path.relative_to(ROOT).as_posix()}:{name}"] = lines
    new = {key: lines for key, lines in found.items() if key not in LONG_FUNCTIONS}
    assert not new, (
        f"functions over {MAX_FUNCTION_LINES} lines: {new}; split each into steps whose names say what they do"
    )
    stale = sorted(set(LONG_FUNCTIONS) - set(found))
    assert not stale, f"no longer over {MAX_FUNCTION_LINES} lines (or gone): remove from LONG_FUNCTIONS: {stale}"


# The person asking is `viewer`, the first keyword-only parameter of every selector that scopes by
# them (docs/architecture.md#conventions). A parameter named for a user in general, or the person a
# role-suffixed selector (`..._for_physician`, `..._for_patient`) serves, is that person asking.
VIEWER_ALIASES = {"user", "fetched_by", "requester", "requested_by", "asked_by", "actor", "caller", "by"}
VIEWER_SUFFIXES = ("_for_patient", "_for_physician", "_for_staff", "_for_care_team", "_visible_to")
PERSONS = {"patient", "physician", "staff", "user"}
NOT_A_VIEWER = {
    # The notifications app's lookup contract (NOTIFICATIONS_CONTACT_LOOKUP): `user` is the recipient.
    ("patients.selectors", "notification_contact"),
}


def test_selectors_take_the_person_asking_as_viewer():
    wrong = []
    for module, path in MODULES.items():
        if module.split(".")[0] not in RANK or not (module.endswith(".selectors") or ".selectors." in module):
            continue
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_") or not node.args.kwonlyargs:
                continue
            first = node.args.kwonlyargs[0].arg
            names_viewer = first in VIEWER_ALIASES or (node.name.endswith(VIEWER_SUFFIXES) and first in PERSONS)
            if names_viewer and (module, node.name) not in NOT_A_VIEWER:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}(*, {first}, ...): name it viewer")
    assert not wrong, "\n".join(wrong)


# Serializer classes say which side of the wire they are on (docs/architecture.md#conventions).
SERIALIZER_SUFFIXES = ("Input", "Query", "Output")
SHARED_SHAPES = {
    # Nested in the notification preferences' request and answer alike.
    ("notifications.serializers", "GroupChannels"),
    ("notifications.serializers", "ChannelsField"),
}


def test_serializer_names_say_input_query_or_output():
    wrong = []
    for module, path in MODULES.items():
        # api/serializers.py holds the building blocks (mixins, base fields), not request or answer shapes.
        if module.split(".")[0] not in RANK or not module.endswith(".serializers") or module == "api.serializers":
            continue
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                continue
            if not node.name.endswith(SERIALIZER_SUFFIXES) and (module, node.name) not in SHARED_SHAPES:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not wrong, "end serializer names in Input, Query or Output:\n" + "\n".join(wrong)
