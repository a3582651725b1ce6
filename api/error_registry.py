"""Which error codes each API operation can answer, discovered from the code so it cannot drift.

`operation_errors(view_class, method)` reads the view method's source and follows, statically, every
call it makes into the project's own modules (functions, methods of `self`, module attributes,
classes' `__init__`), collecting each `raise SomeDomainError(...)` (with a literal `code=` override
when one is given) and each `is_valid(raise_exception=True)` (`validation_error`). The codes DRF
and the exception handler add for any protected or throttled route (`not_authenticated`,
`permission_denied`, `throttled`, ...) are added by the schema hook, which knows the route's
security and parameters.

What static reading cannot see (a call through a variable holding an object, an exception built
by a helper and raised elsewhere) is missed, so views may add codes by hand with
`extend_schema(extensions={"x-error-codes-extra": [...]})`; nothing is ever removed.
docs/errors.md lists every code (generated: `manage.py error_catalogue`).
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
import typing
from dataclasses import dataclass
from types import FunctionType, MethodType, ModuleType

from api.errors import DomainError

# Modules whose functions are followed (the project's apps; never Django, DRF or vendors).
PROJECT_PACKAGES = frozenset(
    {
        "api",
        "accounts",
        "notifications",
        "billing",
        "practice",
        "patients",
        "scheduling",
        "prescriptions",
        "treatment",
        "outcomes",
        "careteam",
    }
)


@dataclass(frozen=True, order=True)
class ErrorCode:
    status: int
    code: str
    error_class: str  # dotted path of the DomainError subclass ("" for DRF's validation)
    message: str


VALIDATION_ERROR = ErrorCode(400, "validation_error", "", "Invalid input: `fields` maps each field to its errors.")


def _is_project(obj) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] in PROJECT_PACKAGES


def _domain_error(obj) -> bool:
    return isinstance(obj, type) and issubclass(obj, DomainError)


def _describe(cls: type[DomainError], code: str | None = None, message: str | None = None) -> ErrorCode:
    found = ErrorCode(
        status=int(cls.status_code),
        code=code or cls.code,
        error_class=f"{cls.__module__}.{cls.__qualname__}",
        message=(message if code and message else str(cls.default_message)),
    )
    DISCOVERED.setdefault(found.code, set()).add(found)
    return found


# Every code discovered so far (filled as operations are read; the catalogue reads it after the schema).
DISCOVERED: dict[str, set[ErrorCode]] = {}


def _resolve(node: ast.expr, scope: dict, owner: type | None, types: dict | None = None):
    """The object an expression names (`name`, `module.attr.attr`, `self.method`, `var.method` when
    the variable's class is known from an annotation or an assignment), or None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and types and node.value.id in types:
        return inspect.getattr_static(types[node.value.id], node.attr, None)
    if isinstance(node, ast.Name):
        if node.id in scope:
            return scope[node.id]
        return getattr(__builtins__, node.id, None) if not isinstance(__builtins__, dict) else __builtins__.get(node.id)
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls") and owner is not None:
            return inspect.getattr_static(owner, node.attr, None)
        value = node.value
        own_class = (  # type(self).attr
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "type"
            and len(value.args) == 1
            and isinstance(value.args[0], ast.Name)
            and value.args[0].id == "self"
        )
        if own_class and owner is not None:
            return inspect.getattr_static(owner, node.attr, None)
        base = _resolve(node.value, scope, owner)
        if base is None:
            return None
        try:
            return inspect.getattr_static(base, node.attr, None) if isinstance(base, type) else getattr(base, node.attr)
        except Exception:  # noqa: BLE001 - a lazy attribute may raise: not followable
            return None
    return None


def _function_of(obj):
    """The plain function behind a callable worth following, or None."""
    if isinstance(obj, staticmethod | classmethod):
        obj = obj.__func__
    if isinstance(obj, MethodType):
        obj = obj.__func__
    if isinstance(obj, type):
        if _domain_error(obj) or not _is_project(obj):
            return None
        init = obj.__dict__.get("__init__")
        return _function_of(init) if init is not None else None
    if isinstance(obj, functools.partial):
        obj = obj.func
    if isinstance(obj, FunctionType):
        obj = inspect.unwrap(obj)
        return obj if _is_project(obj) else None
    # Celery tasks and other wrappers: follow what they run.
    run = getattr(obj, "run", None) or getattr(obj, "__wrapped__", None)
    if run is not None and run is not obj and isinstance(run, FunctionType | MethodType):
        return _function_of(run)
    return None


def _owner_of(function) -> type | None:
    qualname = function.__qualname__.split(".")
    if len(qualname) < 2:
        return None
    module = inspect.getmodule(function)
    owner = module
    for part in qualname[:-1]:
        if part == "<locals>":
            return None
        owner = getattr(owner, part, None)
    return owner if isinstance(owner, type) else None


@functools.cache
def _source_tree(function) -> ast.AST | None:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return None


def _literal_message(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def _raised_code_override(call: ast.Call) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == "code" and isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
            return keyword.value.value
    return None


def _project_class(value) -> type | None:
    return value if isinstance(value, type) and _is_project(value) and not _domain_error(value) else None


def _local_types(function, tree: ast.AST, scope: dict, owner: type | None) -> dict[str, type]:
    """Variables whose class is known: annotated parameters, and `x = Class(...)` or `x = f(...)`
    where f's return annotation is a project class (flow-insensitive; good enough to follow calls)."""
    types: dict[str, type] = {}
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # noqa: BLE001 - unresolvable annotations: no hints
        hints = {}
    for name, hint in hints.items():
        if name != "return" and _project_class(hint):
            types[name] = hint
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if isinstance(node.value, ast.Call):
                target = _resolve(node.value.func, scope, owner)
                if _project_class(target):
                    types[node.targets[0].id] = target
                    continue
                followed = _function_of(target) if target is not None else None
                if followed is not None:
                    try:
                        returned = typing.get_type_hints(followed).get("return")
                    except Exception:  # noqa: BLE001
                        returned = None
                    if _project_class(returned):
                        types[node.targets[0].id] = returned
    return types


def _collect(function, owner: type | None, found: set[ErrorCode], seen: set) -> None:
    if function in seen:
        return
    seen.add(function)
    tree = _source_tree(function)
    if tree is None:
        return
    scope = dict(function.__globals__)
    if function.__closure__:
        for name, cell in zip(function.__code__.co_freevars, function.__closure__, strict=False):
            try:
                scope[name] = cell.cell_contents
            except ValueError:
                pass
    types = _local_types(function, tree, scope, owner)
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            cls = _resolve(target, scope, owner)
            if _domain_error(cls):
                call = node.exc if isinstance(node.exc, ast.Call) else None
                override = _raised_code_override(call) if call is not None else None
                found.add(_describe(cls, override, _literal_message(call) if call is not None else None))
        elif isinstance(node, ast.Call):
            if any(k.arg == "raise_exception" for k in node.keywords):
                found.add(VALIDATION_ERROR)
            target = _resolve(node.func, scope, owner, types)
            followed = _function_of(target) if target is not None else None
            if followed is not None:
                next_owner = target if isinstance(target, type) else _owner_of(followed)
                _collect(followed, next_owner or owner, found, seen)


@functools.cache
def operation_errors(view_class: type, method: str) -> tuple[ErrorCode, ...]:
    """Every domain error (and validation) the view's handler for `method` can raise, sorted."""
    handler = getattr(view_class, method.lower(), None)
    function = _function_of(handler) if handler is not None else None
    found: set[ErrorCode] = set()
    if function is not None:
        _collect(function, view_class, found, set())
    # Validation in the view's serializer hooks (initial, get_object) follows too.
    for name in ("get_object", "get_queryset", "initial"):
        hook = view_class.__dict__.get(name)
        hooked = _function_of(hook) if hook is not None else None
        if hooked is not None:
            _collect(hooked, view_class, found, set())
    return tuple(sorted(found))


def every_domain_error(modules: list[ModuleType] | None = None) -> list[type[DomainError]]:
    """Every DomainError subclass defined in the project (for the catalogue)."""
    seen: dict[str, type[DomainError]] = {}
    stack = [DomainError]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if _is_project(sub):
                seen[f"{sub.__module__}.{sub.__qualname__}"] = sub
            stack.append(sub)
    return [seen[k] for k in sorted(seen)]
