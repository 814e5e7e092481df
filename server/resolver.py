"""The one resolver: operationId -> function in handlers/<api>/<module>.py (see server.naming)."""

from __future__ import annotations

import importlib
import inspect
import typing as t

from connexion.exceptions import ResolverError
from connexion.resolver import Resolution, Resolver

from server.naming import function_for, module_for


def handler_location(package: str, path: str, operation_id: str) -> tuple[str, str]:
    return f"{package}.{module_for(path)}", function_for(operation_id)


def find_handler(package: str, path: str, operation_id: str) -> t.Callable | None:
    module_name, function_name = handler_location(package, path, operation_id)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    return getattr(module, function_name, None)


class HandlerResolver(Resolver):
    """Resolves one API's operations; records `async def` handlers for NativeAsync."""

    def __init__(self, api: str, package: str, base_path: str, async_handlers: dict[tuple[str, str], t.Callable]):
        super().__init__()
        self.api = api
        self.package = package
        self.base_path = base_path
        self.async_handlers = async_handlers

    def resolve(self, operation) -> Resolution:  # noqa: ANN001 - Connexion's operation type
        operation_id = operation.operation_id
        if not operation_id:
            raise ResolverError(f"{self.api}: {operation.method.upper()} {operation.path} has no operationId")
        function = find_handler(self.package, operation.path, operation_id)
        if function is None:
            module_name, function_name = handler_location(self.package, operation.path, operation_id)
            raise ResolverError(
                f"{self.api}: no handler {module_name}.{function_name} for {operation_id}; "
                "run `pentapi generate` to scaffold it"
            )
        if inspect.iscoroutinefunction(function):
            self.async_handlers[(self.base_path, operation_id)] = function
        return Resolution(function, operation_id)
