"""`pentapi generate --check` catches each kind of drift; regeneration is deterministic.

Every case runs on a temporary copy of the project (specs/, generated/, handlers/, the code that
imports handler modules, README.md), never on the real tree.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scripts.generate import defined_functions, drift, generate, main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for name in ("specs", "generated", "handlers", "server", "storage", "scripts"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "README.md", root / "README.md")
    return root


@pytest.fixture
def project(pristine, tmp_path) -> Path:
    root = tmp_path / "copy"
    shutil.copytree(pristine, root)
    return root


def test_the_real_tree_has_no_drift(pristine):
    assert drift(pristine) == []
    assert main(["--check", "--root", str(pristine)]) == 0


def test_stale_models_are_caught(project):
    spec_path = project / "specs" / "gvnr.json"
    spec = json.loads(spec_path.read_text())
    spec["components"]["schemas"]["ErrorResponse"]["properties"]["brand_new"] = {"type": "string"}
    spec_path.write_text(json.dumps(spec, indent=2) + "\n")
    problems = drift(project)
    assert "generated/gvnr/models.py is stale: run `pentapi generate`" in problems
    assert "generated/manifest.json is stale: run `pentapi generate`" in problems
    assert main(["--check", "--root", str(project)]) == 1


def test_operation_without_handler_is_caught(project):
    spec_path = project / "specs" / "loopkit.json"
    spec = json.loads(spec_path.read_text())
    spec["paths"]["/v1/widgets"] = {"get": {"operationId": "getWidgets", "responses": {"200": {"description": "ok"}}}}
    spec_path.write_text(json.dumps(spec, indent=2) + "\n")
    assert any("operation getWidgets has no handler handlers/loopkit/widgets.py::get_widgets" in p
               for p in drift(project))


def test_handler_without_operation_is_caught(project):
    module = project / "handlers" / "loup" / "me.py"
    module.write_text(module.read_text() + "\n\ndef get_everything():\n    return {}\n")
    assert any("handlers/loup/me.py::get_everything names no operation" in p for p in drift(project))


def test_a_route_module_whose_paths_all_left_the_spec_is_caught(project):
    spec_path = project / "specs" / "loopkit.json"
    spec = json.loads(spec_path.read_text())
    del spec["paths"]["/health"]  # the only operation of handlers/loopkit/health.py
    spec_path.write_text(json.dumps(spec, indent=2) + "\n")
    orphan = project / "handlers" / "loup" / "widgets.py"  # a route module for paths never in the spec
    orphan.write_text('"""loup: widgets."""\n\n\ndef get_widgets():\n    return {}\n\n\ndef _helper():\n    return 1\n')
    problems = {p for p in drift(project) if "names no operation" in p}
    assert problems == {
        "loopkit: handlers/loopkit/health.py::get_health names no operation (no operation routes to this "
        "module and no code imports it: delete it, or make it private)",
        "loup: handlers/loup/widgets.py::get_widgets names no operation (no operation routes to this "
        "module and no code imports it: delete it, or make it private)",
    }
    # ...and nothing else: helper modules have public functions too, but code imports them
    # (handlers/loup/demo.py only scripts/admin_loup.py does)
    assert defined_functions(project / "handlers" / "loopkit" / "records.py")
    assert defined_functions(project / "handlers" / "loup" / "demo.py")
    assert main(["--check", "--root", str(project)]) == 1


def test_security_function_drift_is_caught(project):
    security = project / "handlers" / "gvnr" / "security.py"
    security.write_text(security.read_text() + "\n\ndef stray_scheme(token):\n    return None\n")
    assert any("security.py::stray_scheme names no security scheme" in p for p in drift(project))


def test_generate_scaffolds_missing_handlers_without_touching_existing_code(project):
    spec_path = project / "specs" / "loopkit.json"
    spec = json.loads(spec_path.read_text())
    spec["paths"]["/v1/sessions"]["delete"] = {
        "operationId": "deleteSessions", "responses": {"204": {"description": "gone"}}}
    spec_path.write_text(json.dumps(spec, indent=2) + "\n")
    module = project / "handlers" / "loopkit" / "sessions.py"
    before = module.read_text()
    generate(project)
    after = module.read_text()
    assert after.startswith(before)  # only appended
    assert '@scaffold("deleteSessions")\ndef delete_sessions(**kwargs):' in after
    assert drift(project) == []
    assert "| loopkit | `deleteSessions` |" in (project / "README.md").read_text()
    assert "| pending |" in (project / "README.md").read_text()


def test_regeneration_is_deterministic(project):
    generate(project)
    first = {p: p.read_bytes() for p in (project / "generated").rglob("*") if p.is_file()}
    readme = (project / "README.md").read_bytes()
    generate(project)
    second = {p: p.read_bytes() for p in (project / "generated").rglob("*") if p.is_file()}
    assert first == second
    assert readme == (project / "README.md").read_bytes()
