"""The `pentapi` command: serve, generate, and each API's admin commands."""

from __future__ import annotations

import argparse
import importlib
import sys

from server.apis import APIS
from server.settings import Settings


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["generate"]:
        from scripts.generate import main as generate_main

        return generate_main(argv[1:])

    parser = argparse.ArgumentParser(prog="pentapi", description="OpenAPI-first server for five APIs")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("generate", help="regenerate models, scaffolds and README coverage (see --help)")

    serve = commands.add_parser("serve", help="run gunicorn with uvicorn workers")
    serve.add_argument("--api", choices=sorted(APIS), help="serve one API at its spec's own paths")
    serve.add_argument("--host", help="bind address (env PENTAPI_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (env PENTAPI_PORT, default 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (env PENTAPI_WORKERS, default 2)")

    for api in APIS:
        # Admin and data commands for what upstream dashboards mint live in scripts/admin_<api>.py.
        try:
            module = importlib.import_module(f"scripts.admin_{api}")
        except ModuleNotFoundError as exc:
            if exc.name != f"scripts.admin_{api}":
                raise
            continue
        module.add_commands(commands.add_parser(api, help=f"{api} admin and data commands"))

    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "serve":
        changes = {k: v for k, v in {"host": args.host, "port": args.port, "workers": args.workers}.items() if v}
        from server.serve import run

        run(settings.replace(**changes), args.api)
        return 0
    return int(args.run(args, settings) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
