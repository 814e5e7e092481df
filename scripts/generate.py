"""`pentapi generate` / `python -m scripts.generate [--check] [--root DIR]`.

From specs/*.json this:
1. validates every document as OpenAPI 3.1 (openapi-spec-validator);
2. writes generated/<api>/models.py with datamodel-code-generator (pinned; Pydantic v2),
   including path-level request/response bodies and parameters;
3. records generated/manifest.json (spec sha256, generator version, options);
4. scaffolds a handler for every operationId that has none (appending to, never rewriting,
   handlers/<api>/<module>.py) and a function for every security scheme;
5. rewrites the coverage table in README.md (implemented / pending).

`--check` changes nothing and exits 1 on any drift: stale generated/ or README table,
an operation without a handler, a handler (public function of a route module) without an
operation. Handlers are read with `ast`, never imported, so this is safe on any tree.

A route module is one an operation routes to (server/naming.py). A module of handlers/<api>/
that none routes to is a helper (store.py, ratelimit.py, ...) when the project's code imports
it, and otherwise a route module whose whole path group left the spec: its public functions
are handlers that name no operation. (An orphan that other code still imports is taken for a
helper: the check never flags a module in use.)
"""

from __future__ import annotations

import argparse
import ast
import functools
import hashlib
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from openapi_spec_validator import OpenAPIV31SpecValidator

from server.naming import function_for, module_for, security_function_for

REPO = Path(__file__).resolve().parent.parent
API_NAMES = ("loup", "loopkit", "loopat", "lithtrix", "gvnr")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
GENERATOR_OPTIONS = [
    "--input-file-type", "openapi",
    "--output-model-type", "pydantic_v2.BaseModel",
    "--openapi-scopes", "schemas", "paths", "parameters",
    "--target-python-version", "3.11",
    "--use-annotated",
    "--formatters", "builtin",
    "--disable-timestamp",
    # `format: email` stays a plain str: the request validators check formats already, and
    # pydantic's EmailStr would need the optional email-validator package at import time.
    "--type-mappings", "email=string", "idn-email=string",
]
COVERAGE_START = "<!-- coverage:start (written by `pentapi generate`) -->"
COVERAGE_END = "<!-- coverage:end -->"


@dataclass(frozen=True)
class Operation:
    api: str
    method: str
    path: str
    operation_id: str

    @property
    def module(self) -> str:
        return module_for(self.path)

    @property
    def function(self) -> str:
        return function_for(self.operation_id)


# ----------------------------------------------------------------------------- reading


def load_spec(root: Path, api: str) -> dict:
    return json.loads((root / "specs" / f"{api}.json").read_text(encoding="utf-8"))


def operations(root: Path, api: str) -> list[Operation]:
    found = []
    for path, item in load_spec(root, api).get("paths", {}).items():
        for method in METHODS:
            if method in item:
                found.append(Operation(api, method, path, item[method].get("operationId", "")))
    return found


def defined_functions(file: Path) -> dict[str, bool]:
    """Top-level public functions of a module -> whether it is still a scaffold."""
    if not file.exists():
        return {}
    tree = ast.parse(file.read_text(encoding="utf-8"))
    result = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
            result[node.name] = any(_is_scaffold_decorator(d) for d in node.decorator_list)
    return result


# The project's code that may import a helper module of handlers/<api>/ (tests do not count:
# a module only tests import serves no route and no other module).
IMPORTING_DIRS = ("handlers", "server", "storage", "scripts")


def imported_modules(root: Path) -> set[str]:
    """Every dotted module name imported by the project's code (`import a.b`, `from a import b`
    and `from a.b import c` all count a.b; relative imports resolved)."""
    found: set[str] = set()
    for directory in IMPORTING_DIRS:
        for file in sorted((root / directory).rglob("*.py")):
            package = list(file.relative_to(root).with_suffix("").parts[:-1])
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom):
                    parts = package[:len(package) - node.level + 1] if node.level else []
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                    found.add(base)
                    found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _is_scaffold_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return (isinstance(target, ast.Name) and target.id == "scaffold") or (
        isinstance(target, ast.Attribute) and target.attr == "scaffold"
    )


def coverage(root: Path) -> dict[str, list[tuple[Operation, str]]]:
    """Per API: each operation with its state: implemented, pending (scaffold) or missing."""
    table: dict[str, list[tuple[Operation, str]]] = {}
    for api in API_NAMES:
        rows = []
        for op in operations(root, api):
            functions = defined_functions(root / "handlers" / api / f"{op.module}.py")
            state = "missing" if op.function not in functions else (
                "pending" if functions[op.function] else "implemented")
            rows.append((op, state))
        table[api] = rows
    return table


def pending_operations(root: Path = REPO) -> dict[str, set[str]]:
    """operationIds still scaffolded, per API (the conformance suite leaves these out)."""
    return {api: {op.operation_id for op, state in rows if state != "implemented"}
            for api, rows in coverage(root).items()}


# ----------------------------------------------------------------------------- generating


def generator_version() -> str:
    from datamodel_code_generator import get_version

    return get_version()


def render_models(root: Path, api: str) -> str:
    return _models_for(f"{api}.json", (root / "specs" / f"{api}.json").read_bytes())


@functools.lru_cache(maxsize=32)
def _models_for(file_name: str, spec: bytes) -> str:
    """Models for one spec document (cached by content: codegen takes about a second)."""
    with tempfile.TemporaryDirectory() as tmp:
        source, out = Path(tmp) / file_name, Path(tmp) / "models.py"
        source.write_bytes(spec)
        subprocess.run(
            [sys.executable, "-m", "datamodel_code_generator",
             "--input", str(source), "--output", str(out), *GENERATOR_OPTIONS],
            check=True, capture_output=True, text=True,
        )
        # The header names the input by file name only, so output is the same in any checkout.
        return out.read_text(encoding="utf-8")


def render_manifest(root: Path) -> str:
    apis = {}
    for api in API_NAMES:
        spec_bytes = (root / "specs" / f"{api}.json").read_bytes()
        apis[api] = {"spec": f"specs/{api}.json", "sha256": hashlib.sha256(spec_bytes).hexdigest()}
    manifest = {
        "generator": {"name": "datamodel-code-generator", "version": generator_version()},
        "options": GENERATOR_OPTIONS,
        "apis": apis,
    }
    return json.dumps(manifest, indent=2) + "\n"


def render_coverage(root: Path) -> str:
    table = coverage(root)
    total = sum(len(rows) for rows in table.values())
    done = sum(1 for rows in table.values() for _, state in rows if state == "implemented")
    lines = [COVERAGE_START, "", f"{done} of {total} operations implemented.", "",
             "| API | operation | method and path | handler | state |", "|---|---|---|---|---|"]
    for api, rows in table.items():
        for op, state in rows:
            lines.append(f"| {api} | `{op.operation_id}` | `{op.method.upper()} {op.path}` | "
                         f"`handlers/{api}/{op.module}.py::{op.function}` | {state} |")
    lines += ["", COVERAGE_END]
    return "\n".join(lines)


def readme_with_coverage(root: Path) -> str:
    readme = (root / "README.md").read_text(encoding="utf-8")
    start, end = readme.find(COVERAGE_START), readme.find(COVERAGE_END)
    if start < 0 or end < 0:
        raise SystemExit("README.md lacks the coverage markers")
    return readme[:start] + render_coverage(root) + readme[end + len(COVERAGE_END):]


SCAFFOLD_MODULE_HEADER = '''"""{api}: handlers for {module} operations (see specs/{api}.json)."""

from __future__ import annotations

from server.scaffold import scaffold
'''

SCAFFOLD_FUNCTION = '''

@scaffold("{operation_id}")
def {function}(**kwargs):
    """{method} {path}

    Scaffolded by `pentapi generate`: answers 501 until written.
    """
'''

SCAFFOLD_SECURITY = '''

@scaffold("{scheme}", security=True)
def {function}(token=None, required_scopes=None, api_key=None):
    """Verifies the `{scheme}` security scheme (scaffold: refuses every credential with 401)."""
'''


def scaffold_handlers(root: Path) -> list[str]:
    created = []
    for api in API_NAMES:
        package = root / "handlers" / api
        package.mkdir(parents=True, exist_ok=True)
        init = package / "__init__.py"
        if not init.exists():
            init.write_text(f'"""{api} handlers: one module per route group, one function per operationId."""\n')
        for op in operations(root, api):
            file = package / f"{op.module}.py"
            if op.function in defined_functions(file):
                continue
            if not file.exists():
                file.write_text(SCAFFOLD_MODULE_HEADER.format(api=api, module=op.module))
            with file.open("a", encoding="utf-8") as fh:
                fh.write(SCAFFOLD_FUNCTION.format(operation_id=op.operation_id, function=op.function,
                                                  method=op.method.upper(), path=op.path))
            created.append(f"handlers/{api}/{op.module}.py::{op.function}")
        schemes = load_spec(root, api).get("components", {}).get("securitySchemes", {})
        security = package / "security.py"
        for scheme in schemes:
            function = security_function_for(scheme)
            if function in defined_functions(security):
                continue
            if not security.exists():
                security.write_text(SCAFFOLD_MODULE_HEADER.format(api=api, module="security scheme"))
            with security.open("a", encoding="utf-8") as fh:
                fh.write(SCAFFOLD_SECURITY.format(scheme=scheme, function=function))
            created.append(f"handlers/{api}/security.py::{function}")
    return created


# ----------------------------------------------------------------------------- checking


def validate_specs(root: Path) -> None:
    for api in API_NAMES:
        spec = load_spec(root, api)
        if not str(spec.get("openapi", "")).startswith("3.1"):
            raise SystemExit(f"specs/{api}.json: not an OpenAPI 3.1 document")
        OpenAPIV31SpecValidator(spec).validate()


def drift(root: Path) -> list[str]:
    """Everything that differs from what `pentapi generate` would produce or require."""
    problems = []
    for api in API_NAMES:
        models = root / "generated" / api / "models.py"
        if not models.exists() or models.read_text(encoding="utf-8") != render_models(root, api):
            problems.append(f"generated/{api}/models.py is stale: run `pentapi generate`")
    manifest = root / "generated" / "manifest.json"
    if not manifest.exists() or manifest.read_text(encoding="utf-8") != render_manifest(root):
        problems.append("generated/manifest.json is stale: run `pentapi generate`")
    imported = imported_modules(root)
    for api, rows in coverage(root).items():
        for op, state in rows:
            if not op.operation_id:
                problems.append(f"{api}: {op.method.upper()} {op.path} has no operationId")
            elif state == "missing":
                problems.append(f"{api}: operation {op.operation_id} has no handler "
                                f"handlers/{api}/{op.module}.py::{op.function}")
        expected: dict[str, set[str]] = {}
        for op, _ in rows:
            expected.setdefault(op.module, set()).add(op.function)
        for module, functions in sorted(expected.items()):
            for name in defined_functions(root / "handlers" / api / f"{module}.py"):
                if name not in functions:
                    problems.append(f"{api}: handlers/{api}/{module}.py::{name} names no operation "
                                    "(make it private with a leading underscore, or move it out of the route module)")
        for file in sorted((root / "handlers" / api).glob("*.py")):
            module = file.stem
            if module in expected or module in ("__init__", "security") or f"handlers.{api}.{module}" in imported:
                continue
            for name in defined_functions(file):
                problems.append(f"{api}: handlers/{api}/{module}.py::{name} names no operation (no operation "
                                "routes to this module and no code imports it: delete it, or make it private)")
        declared = load_spec(root, api).get("components", {}).get("securitySchemes", {})
        schemes = {security_function_for(s) for s in declared}
        security = defined_functions(root / "handlers" / api / "security.py")
        for missing in sorted(schemes - set(security)):
            problems.append(f"{api}: security scheme function handlers/{api}/security.py::{missing} is missing")
        for extra in sorted(set(security) - schemes):
            problems.append(f"{api}: handlers/{api}/security.py::{extra} names no security scheme")
    readme = root / "README.md"
    if readme.exists() and readme.read_text(encoding="utf-8") != readme_with_coverage(root):
        problems.append("README.md coverage table is stale: run `pentapi generate`")
    return problems


def generate(root: Path) -> None:
    validate_specs(root)
    for api in API_NAMES:
        target = root / "generated" / api
        target.mkdir(parents=True, exist_ok=True)
        init = target / "__init__.py"
        if not init.exists():
            init.write_text(f'"""Generated from specs/{api}.json by `pentapi generate`. Do not edit."""\n')
        (target / "models.py").write_text(render_models(root, api), encoding="utf-8")
    (root / "generated" / "__init__.py").write_text('"""Generated code. Do not edit; run `pentapi generate`."""\n')
    (root / "generated" / "manifest.json").write_text(render_manifest(root), encoding="utf-8")
    for created in scaffold_handlers(root):
        print(f"scaffolded {created} (pending)")
    if (root / "README.md").exists():
        (root / "README.md").write_text(readme_with_coverage(root), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pentapi generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail on drift instead of writing")
    parser.add_argument("--root", type=Path, default=REPO, help="project root (default: this checkout)")
    args = parser.parse_args(argv)
    if args.check:
        validate_specs(args.root)
        problems = drift(args.root)
        for problem in problems:
            print(f"drift: {problem}", file=sys.stderr)
        if problems:
            print(f"pentapi generate --check: {len(problems)} problem(s)", file=sys.stderr)
            return 1
        print("pentapi generate --check: generated/, handlers and README are up to date")
        return 0
    generate(args.root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
