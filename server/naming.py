"""Where each operation's handler lives: one rule, shared by the resolver and the generator.

module:   the first path segment after an optional `api` and a version segment (`v1`),
          in snake_case; `root` for `/`.        /api/v1/runtime/invoke -> runtime
function: the operationId in snake_case.         invokeRuntimeSkill -> invoke_runtime_skill
"""

from __future__ import annotations

import re

_VERSION = re.compile(r"^v\d+$")


def _snake(text: str) -> str:
    text = re.sub(r"[^0-9A-Za-z]+", "_", text)
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    return text.strip("_").lower()


def module_for(path: str) -> str:
    segments = [s for s in path.split("/") if s]
    if segments and segments[0] == "api":
        segments = segments[1:]
    if segments and _VERSION.match(segments[0]):
        segments = segments[1:]
    static = [s for s in segments if not s.startswith("{")]
    return _snake(static[0]) if static else "root"


def function_for(operation_id: str) -> str:
    name = _snake(operation_id)
    return name if not name[:1].isdigit() else f"op_{name}"


def security_function_for(scheme_name: str) -> str:
    """The function in handlers/<api>/security.py that verifies a security scheme."""
    return _snake(scheme_name)
