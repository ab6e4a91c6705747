"""The architecture test: the import rules of docs/architecture.md, read from the source with ast (no import runs).

Every import counts: module level, inside functions (lazy imports) and under ``TYPE_CHECKING`` — a lazy or
type-only import is still a dependency a reader has to follow, and a cycle hidden behind one is still a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "shared" / "certwright"

CLIENT = ROOT / "client" / "certwright_client"

# The client side (client/certwright_client: the CLI, the agent, diagnose) talks to the API over HTTP and is never
# imported by the layer or the handlers.
CLIENT_MODULES = ("certwright_client",)


@dataclass(frozen=True)
class Import:
    """One import statement: who imports what, and where (for the failure message)."""

    importer: str
    imported: str
    line: int


def module_name(path: Path) -> str:
    """The dotted name a file is imported as: shared/ and client/ are source roots, functions/X/app.py is functions.X.app."""
    root = next((r for r in (ROOT / "shared", ROOT / "client") if path.is_relative_to(r)), ROOT)
    relative = path.relative_to(root)
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> Iterator[Path]:
    """Every module of the layer, the client side, the harness and the handlers."""
    yield from sorted(LAYER.rglob("*.py"))
    yield from sorted(CLIENT.rglob("*.py"))
    yield from sorted((ROOT / "infra").rglob("*.py"))
    yield from sorted((ROOT / "functions").glob("*/app.py"))


def imports_of(path: Path, known: set[str]) -> Iterator[Import]:
    """The modules the file at ``path`` imports."""
    yield from imports_in(module_name(path), path.read_text(encoding="utf-8"), path.name == "__init__.py", known)


def imports_in(importer: str, source: str, is_package: bool, known: set[str]) -> Iterator[Import]:
    """The modules ``source`` imports; ``from pkg import name`` counts as pkg.name when that is a known module."""
    tree = ast.parse(source, filename=importer)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(importer, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = importer.split(".") if is_package else importer.split(".")[:-1]
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield Import(importer, candidate if candidate in known else base, node.lineno)


def all_imports() -> list[Import]:
    files = list(source_files())
    known = {module_name(path) for path in files}
    return [imp for path in files for imp in imports_of(path, known)]


IMPORTS = all_imports()
MODULES = {module_name(path) for path in source_files()}


def within(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def violations(importers: Iterable[str], forbidden: Iterable[str], imports: list[Import] = IMPORTS) -> list[str]:
    importers, forbidden = tuple(importers), tuple(forbidden)
    return [
        f"{imp.importer}:{imp.line} imports {imp.imported}"
        for imp in imports
        if within(imp.importer, importers) and within(imp.imported, forbidden)
    ]


def cycles(imports: list[Import], modules: set[str]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted, between ``modules``."""
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for imp in imports:
        if imp.importer in modules and imp.imported in modules and imp.imported != imp.importer:
            graph[imp.importer].add(imp.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


# --- the rules ------------------------------------------------------------------------------------------------

PURE = ("certwright.domain", "certwright.x509")
AWS_SDKS = ("boto3", "botocore", "pynamodb", "aws_lambda_powertools", "moto")
OUTER = ("certwright.services", "certwright.adapters", "certwright.api", "certwright.bootstrap", "infra")


def test_domain_and_x509_import_nothing_outer_and_no_aws() -> None:
    """Pure code takes its inputs (``now`` included) and imports neither the layers above it nor an AWS SDK."""
    assert violations(PURE, (*OUTER, *CLIENT_MODULES, "certwright.authorization", *AWS_SDKS)) == []


def test_services_do_not_import_adapters() -> None:
    """Services talk to AWS only through the ports (certwright.ports); the composition root wires adapters in."""
    assert (
        violations(
            ("certwright.services",),
            ("certwright.adapters", "certwright.api", "certwright.bootstrap", "infra", "boto3", "botocore", "pynamodb"),
        )
        == []
    )


def test_handlers_do_not_import_adapters() -> None:
    """A handler (functions/*/app.py) gets its services from certwright.bootstrap, never an adapter or a client."""
    assert violations(("functions",), ("certwright.adapters", "boto3", "botocore", "pynamodb", "infra")) == []


def test_the_layer_and_the_handlers_never_import_the_harness() -> None:
    """infra/ (the embedded AWS, the router, the demo) and moto exist only on a developer's machine."""
    layer = sorted(m for m in MODULES if within(m, ("certwright", "functions")))
    assert violations(layer, ("infra", "moto", "tests")) == []


def test_the_layer_never_imports_the_client_side() -> None:
    """The CLI is a client of the HTTP API; nothing in the layer or the handlers depends on it."""
    layer = sorted(m for m in MODULES if within(m, ("certwright", "functions")) and not within(m, CLIENT_MODULES))
    assert violations(layer, CLIENT_MODULES) == []


# The client package (client/certwright_client) may import from the layer only the pure verdicts it shares with the
# scheduled endpoint prober (tests/cli/test_package.py imports every client module with nothing else of the layer).
CLIENT_PACKAGE = ROOT / "client"
CLIENT_MAY_IMPORT = ("certwright.x509.endpoint_checks",)


def client_imports() -> list[Import]:
    found: list[Import] = []
    for path in sorted(CLIENT_PACKAGE.rglob("*.py")):
        relative = path.relative_to(CLIENT_PACKAGE).with_suffix("")
        parts = list(relative.parts[:-1] if relative.name == "__init__" else relative.parts)
        found.extend(imports_in(".".join(parts), path.read_text(encoding="utf-8"), path.name == "__init__.py", MODULES))
    return found


def client_reaching_into_the_layer(imports: list[Import]) -> list[str]:
    return [
        f"{imp.importer}:{imp.line} imports {imp.imported}"
        for imp in imports
        if within(imp.imported, ("certwright",))
        and not within(imp.imported, CLIENT_MODULES)
        and not within(imp.imported, CLIENT_MAY_IMPORT)
    ]


def test_the_client_package_imports_only_the_shared_verdicts_and_wire_models_of_the_layer() -> None:
    imports = client_imports()
    assert any(imp.imported == "certwright.x509.endpoint_checks" for imp in imports), "the rule matches nothing"
    assert client_reaching_into_the_layer(imports) == []
    wrong = list(
        imports_in("certwright_client.x", "from certwright.adapters.tls_endpoint import TlsEndpoint\n", False, MODULES)
    )
    assert client_reaching_into_the_layer(wrong), "a client import of an adapter was not reported"


def test_pyopenssl_is_imported_by_the_prober_adapter_alone_in_the_layer() -> None:
    """Only functions/endpoint_prober carries pyOpenSSL (its requirements.txt); the layer loads it lazily."""
    users = sorted(
        {
            imp.importer
            for imp in IMPORTS
            if within(imp.imported, ("OpenSSL",)) and not within(imp.importer, CLIENT_MODULES)
        }
    )
    assert users == ["certwright.adapters.tls_endpoint"]


def test_dnspython_is_imported_by_the_acme_challenge_adapter_alone_in_the_layer() -> None:
    """dnspython is not in the layer (shared/requirements.txt): the ACME validator function carries it, and
    certwright.adapters.acme_challenges imports it when a DNS question is asked."""
    users = sorted({imp.importer for imp in IMPORTS if within(imp.imported, ("dns",))})
    assert users == ["certwright.adapters.acme_challenges"]
    assert "dnspython" not in (LAYER.parent / "requirements.txt").read_text()


def test_no_import_cycles_between_modules_of_certwright_and_infra() -> None:
    assert cycles(IMPORTS, MODULES) == []


# --- the rules catch what they are written for (so a rule that silently matches nothing would fail here) --------


def imports_from_source(importer_path: str, source: str) -> list[Import]:
    path = ROOT / importer_path
    return list(imports_in(module_name(path), source, path.name == "__init__.py", MODULES))


@pytest.mark.parametrize(
    ("importer_path", "source", "importers", "forbidden"),
    [
        ("shared/certwright/domain/sweep.py", "import boto3\n", PURE, AWS_SDKS),
        (
            "shared/certwright/x509/builder.py",
            "def f():\n    from certwright.adapters.kms import KmsSigner\n",
            PURE,
            OUTER,
        ),
        (
            "shared/certwright/services/crl_publisher.py",
            "from certwright.adapters.s3_objects import StoredObject\n",
            ("certwright.services",),
            ("certwright.adapters",),
        ),
        (
            "functions/renewal_sweep/app.py",
            "from certwright.adapters import dynamodb_store\n",
            ("functions",),
            ("certwright.adapters",),
        ),
        (
            "shared/certwright/bootstrap.py",
            "from certwright_client.cli import Client\n",
            ("certwright",),
            CLIENT_MODULES,
        ),
        ("functions/issuance_api/app.py", "import certwright_client.cli\n", ("functions",), CLIENT_MODULES),
        ("shared/certwright/config.py", "from infra.runtime import local_runtime\n", ("certwright",), ("infra",)),
        (
            "shared/certwright/services/sweep.py",
            "from .. import adapters\nfrom ..adapters.kms import KmsSigner\n",
            ("certwright.services",),
            ("certwright.adapters",),
        ),
    ],
)
def test_a_wrong_way_import_is_reported(
    importer_path: str, source: str, importers: tuple[str, ...], forbidden: tuple[str, ...]
) -> None:
    found = violations(importers, forbidden, imports_from_source(importer_path, source))
    assert found, f"{source!r} in {importer_path} was not reported"


def test_a_cycle_is_reported_even_through_a_lazy_import() -> None:
    added = imports_from_source("infra/runtime.py", "def f():\n    from infra.demo import main\n")
    assert any(component for component in cycles([*IMPORTS, *added], MODULES) if "infra.runtime" in component)


# --- one logger style in the layer and the handlers: Powertools, structured keys ------------------------------


def bare_logging(source: str, filename: str) -> list[str]:
    """Calls of print() and logging.getLogger() (or getLogger imported from logging) in ``source``."""
    found = []
    tree = ast.parse(source, filename=filename)
    imported_get_logger = any(
        isinstance(node, ast.ImportFrom) and node.module == "logging" and any(a.name == "getLogger" for a in node.names)
        for node in ast.walk(tree)
    )
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and (
            function.id == "print" or (function.id == "getLogger" and imported_get_logger)
        ):
            found.append(f"{filename}:{node.lineno} {function.id}()")
        elif (
            isinstance(function, ast.Attribute)
            and function.attr == "getLogger"
            and isinstance(function.value, ast.Name)
            and function.value.id == "logging"
        ):
            found.append(f"{filename}:{node.lineno} logging.getLogger()")
    return found


def test_the_layer_and_the_handlers_log_through_powertools_only() -> None:
    """Lambda code logs JSON with keys (Powertools Logger, ``Logger(child=True)`` in the layer); no print().

    The CLI is exempt: it is a client, and printing is what it is for.
    """
    files = [p for p in source_files() if module_name(p).startswith(("certwright", "functions"))]
    found = [
        hit
        for path in files
        if not within(module_name(path), CLIENT_MODULES)
        for hit in bare_logging(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "import logging\nlog = logging.getLogger(__name__)\n",
        "from logging import getLogger\nlog = getLogger('x')\n",
        "def f():\n    print('sweep finished')\n",
    ],
)
def test_a_bare_logger_is_reported(source: str) -> None:
    assert bare_logging(source, "shared/certwright/services/sweep.py")


# --- no reaching into a library's private attributes, except in the one function that says why ----------------

PRIVATE_REACHES = {"_session", "_algorithm", "_connection", "_get_connection"}
# Where a library leaves no public way; each function's docstring says why.
ISOLATED = {
    "shared/certwright/adapters/kms.py": "_prehashed_with",
    "shared/certwright/adapters/dynamodb_models.py": "_point_model_at",
}


def private_reaches(source: str, filename: str) -> list[str]:
    """``obj._session``-style reads of another object's private attributes, and PynamoDB ``Meta`` mutation
    (assigning to ``X.Meta.attr`` or taking ``X.Meta`` into a variable), outside the isolating function."""
    found = []
    tree = ast.parse(source, filename=filename)
    allowed = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == ISOLATED.get(filename)
        for inner in ast.walk(node)
    }

    def chain_has_meta(node: ast.expr) -> bool:
        while isinstance(node, ast.Attribute):
            if node.attr == "Meta":
                return True
            node = node.value
        return False

    for node in ast.walk(tree):
        if id(node) in allowed:
            continue
        if (
            isinstance(node, ast.Attribute)
            and node.attr in PRIVATE_REACHES
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            found.append(f"{filename}:{node.lineno} .{node.attr}")
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            flat = [e for t in targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
            value = node.value
            if any(isinstance(t, ast.Attribute) and chain_has_meta(t.value) for t in flat) or (
                isinstance(value, ast.Attribute) and value.attr == "Meta"
            ):
                found.append(f"{filename}:{node.lineno} Meta mutation")
    return found


def test_no_reaching_into_private_attributes_outside_the_isolating_functions() -> None:
    files = [p for p in source_files() if module_name(p).startswith(("certwright", "functions"))]
    found = [
        hit for path in files for hit in private_reaches(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "def build(session):\n    bind('t', session._session)\n",
        "def sign(a):\n    return a._algorithm\n",
        "def bind(name):\n    Row.Meta.table_name = name\n",
        "def bind(name):\n    meta: Any = Row.Meta\n    meta.table_name = name\n",
    ],
)
def test_a_private_reach_is_reported(source: str) -> None:
    assert private_reaches(source, "shared/certwright/bootstrap.py")
