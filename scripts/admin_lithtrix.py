"""`pentapi lithtrix ...`: the local search index, the cache, and what an operator does to agents.

    pentapi lithtrix index PAGES.jsonl | FOLDER [--base-url URL]   add pages to the local index
    pentapi lithtrix cache clear                                   drop every cached search
    pentapi lithtrix agent register NAME OWNER                     a new agent and its one-time key
    pentapi lithtrix agent list | show ID
    pentapi lithtrix agent suspend ID | reinstate ID | tier ID free|pro

Every command prints one JSON object on stdout; `index` draws its progress bar on stderr.
"""

from __future__ import annotations

import argparse
import sys
import typing as t
from pathlib import Path

from tqdm import tqdm

from handlers.lithtrix import agents, cache, ingest, local_index, usage_log
from scripts import admin
from server.settings import Settings
from storage.lithtrix import Agent

_REFUSED = (agents.AgentError, agents.AgentExists, FileNotFoundError)


def _command(fn: admin.Action) -> t.Callable:
    return admin.command(fn, _REFUSED)


def _index(a: argparse.Namespace, s: Settings) -> dict:
    source = Path(a.source)
    if not source.exists():
        raise FileNotFoundError(f"no such file or folder: {source}")
    skipped: list[ingest.Skipped] = []
    if source.is_dir():
        total, docs = len(ingest.html_files(source)), ingest.read_html_folder(source, skipped, a.base_url)
    else:
        total, docs = ingest.count_jsonl(source), ingest.read_jsonl(source, skipped)
    path = local_index.default_path(s)
    with tqdm(total=total, unit="page", desc="indexing", file=sys.stderr, disable=a.quiet) as bar:
        written = local_index.add_documents(path, _tracked(docs, skipped, bar), batch=a.batch)
    # Answers cached before the import may now be incomplete.
    cleared = cache.cache_for(s).clear()
    return {
        "index": str(path),
        "indexed": written,
        "skipped": [{"where": k.where, "reason": k.reason} for k in skipped],
        "documents": local_index.count(path),
        "cache_entries_cleared": cleared,
    }


def _tracked(docs: t.Iterable, skipped: list, bar: tqdm) -> t.Iterator:
    """Advance the bar for every entry read, indexed or skipped."""
    done = 0
    for doc in docs:
        done += 1
        bar.update(done + len(skipped) - bar.n)
        yield doc
    bar.update(max(0, done + len(skipped) - bar.n))


def _cache_clear(_a: argparse.Namespace, s: Settings) -> dict:
    store = cache.cache_for(s)
    return {"backend": store.backend, "cleared": store.clear()}


def _agent_register(a: argparse.Namespace, s: Settings) -> dict:
    agent, key = agents.register(s, a.name, a.owner)
    return {"agent_id": agent.id, "api_key": key, "note": "shown once; only its SHA-256 is stored"}


def _agent_list(_a: argparse.Namespace, _s: Settings) -> dict:
    rows = list(Agent.select().order_by(Agent.created_at.desc()))
    counts = usage_log.monthly_counts([r.id for r in rows])
    return {"agents": [{**agents.public_row(r), "calls_this_month": counts.get(r.id, 0)} for r in rows]}


def _found(agent: Agent | None, agent_id: str) -> Agent:
    if agent is None:
        raise agents.AgentError(f"unknown agent: {agent_id}")
    return agent


def _agent_show(a: argparse.Namespace, _s: Settings) -> dict:
    agent = _found(agents.get(a.agent_id), a.agent_id)
    return {**agents.public_row(agent), "calls_this_month": usage_log.calls_this_month(agent.id),
            "daily_breakdown": usage_log.daily_breakdown(agent.id)}


def _agent_status(status: str) -> t.Callable:
    def run(a: argparse.Namespace, _s: Settings) -> dict:
        return agents.public_row(_found(agents.set_status(a.agent_id, status), a.agent_id))

    return run


def _agent_tier(a: argparse.Namespace, _s: Settings) -> dict:
    return agents.public_row(_found(agents.set_tier(a.agent_id, a.tier), a.agent_id))


def add_commands(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="lithtrix_command", required=True)

    index = commands.add_parser("index", help="add pages (JSONL file or folder of HTML files) to the local index")
    index.add_argument("source", help="a .jsonl file (url, title, text, published_date) or a folder of HTML files")
    index.add_argument("--base-url", help="URL prefix for HTML files without a canonical URL")
    index.add_argument("--batch", type=int, default=500, help="pages per transaction (default 500)")
    index.add_argument("--quiet", action="store_true", help="no progress bar")
    index.set_defaults(run=_command(_index))

    cache_cmd = commands.add_parser("cache", help="the search cache").add_subparsers(dest="cache_command",
                                                                                  required=True)
    cache_cmd.add_parser("clear", help="drop every cached search").set_defaults(run=_command(_cache_clear))

    agent = commands.add_parser("agent", help="agents").add_subparsers(dest="agent_command", required=True)
    register = agent.add_parser("register", help="register an agent and print its one-time key")
    register.add_argument("name")
    register.add_argument("owner")
    register.set_defaults(run=_command(_agent_register))
    agent.add_parser("list", help="every agent with this month's calls").set_defaults(run=_command(_agent_list))
    for name, fn in (("show", _agent_show), ("suspend", _agent_status("suspended")),
                     ("reinstate", _agent_status("active"))):
        sub = agent.add_parser(name, help=f"{name} an agent")
        sub.add_argument("agent_id")
        sub.set_defaults(run=_command(fn))
    tier = agent.add_parser("tier", help="set an agent's tier by hand")
    tier.add_argument("agent_id")
    tier.add_argument("tier", choices=("free", "pro"))
    tier.set_defaults(run=_command(_agent_tier))
