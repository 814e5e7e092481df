"""specs/: validity, loopat extraction, the operationId rule, and the CHANGES.md record."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from scripts.import_specs import (
    LOOPAT_DIFF,
    ExtractError,
    dump_json,
    extract_loopat,
    import_specs,
    iter_operations,
    operation_id_for,
    parse_exported_const,
    parse_ts_literal,
    reconstruct_file,
)

SPECS = Path(__file__).resolve().parents[2] / "specs"
UPSTREAM = SPECS / "upstream"
APIS = ("loup", "loopkit", "loopat", "lithtrix", "gvnr")
RULED = ("loopkit", "loopat", "gvnr")  # specs whose operationIds come from the naming rule
# A bullet: "- <api> `<pointer>` — added|changed|removed: <why>"
BULLET = re.compile(r"^- (?P<api>\w+) `(?P<ptr>(?:/[^`]*)?)` — (?:added|changed|removed): \S")


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def corrected(api: str) -> dict[str, Any]:
    return load(SPECS / f"{api}.json")


def upstream(api: str) -> dict[str, Any]:
    return load(UPSTREAM / f"{api}.openapi.json")


def pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def diff_pointers(old: Any, new: Any, at: str = "") -> set[str]:
    """Pointers where two JSON values differ: an added/removed key at that key,
    a changed scalar (or a list whose length changed) at its own pointer."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: set[str] = set()
        for key in old.keys() | new.keys():
            sub = at + pointer(key)
            out |= diff_pointers(old[key], new[key], sub) if key in old and key in new else {sub}
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return set().union(
            *(
                diff_pointers(a, b, f"{at}/{i}")
                for i, (a, b) in enumerate(zip(old, new, strict=True))
            )
        )
    # type() check: in Python True == 1 and 1 == 1.0, in JSON they differ.
    return set() if type(old) is type(new) and old == new else {at}


def rule_added_ids(api: str, old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    """operationId pointers that the naming rule explains (absent upstream, equal to the rule)."""
    if api not in RULED:
        return set()
    return {
        pointer("paths", path, method, "operationId")
        for path, method, op in iter_operations(new)
        if "operationId" not in old.get("paths", {}).get(path, {}).get(method, {})
        and op.get("operationId") == operation_id_for(method, path)
    }


def listed_pointers(text: str) -> dict[str, list[str]]:
    """CHANGES.md bullets per API section; any malformed or misplaced bullet fails."""
    out: dict[str, list[str]] = {api: [] for api in APIS}
    section = None
    for line in text.splitlines():
        if heading := re.match(r"^## (\S+)\s*$", line):
            section = heading.group(1) if heading.group(1) in APIS else None
        elif line.startswith("- "):
            match = BULLET.match(line)
            assert match and section, f"bullet outside an API section or malformed: {line}"
            assert match["api"] == section, f"bullet for {match['api']} under ## {section}: {line}"
            out[section].append(match["ptr"])
    return out


def record_problems(
    api: str, old: dict[str, Any], new: dict[str, Any], listed: list[str]
) -> list[str]:
    """Everything wrong between a spec's differences from upstream and its CHANGES.md entries."""
    diffs = diff_pointers(old, new) - rule_added_ids(api, old, new)

    def covers(p: str, d: str) -> bool:
        return d == p or d.startswith(p + "/")

    problems = [
        f"unrecorded change at {d}" for d in sorted(diffs) if not any(covers(p, d) for p in listed)
    ]
    problems += [
        f"listed but not a difference: {p}" for p in listed if not any(covers(p, d) for d in diffs)
    ]
    problems += [f"listed twice: {p}" for p in sorted(set(listed)) if listed.count(p) > 1]
    return problems


# --------------------------------------------------------------------------- (i) validity


@pytest.mark.parametrize("api", APIS)
def test_spec_is_valid_openapi_31(api: str) -> None:
    spec = corrected(api)
    assert str(spec["openapi"]).startswith("3.1")
    errors = [str(e) for e in OpenAPIV31SpecValidator(spec).iter_errors()]
    assert errors == []


@pytest.mark.parametrize("api", APIS)
def test_spec_file_formatting(api: str) -> None:
    # One formatting everywhere keeps diffs of the specs reviewable.
    path = SPECS / f"{api}.json"
    assert path.read_text(encoding="utf-8") == dump_json(load(path))


# --------------------------------------------------------------------------- (ii) loopat extraction


def test_extract_loopat_matches_upstream_json() -> None:
    extracted = extract_loopat((UPSTREAM / LOOPAT_DIFF).read_text(encoding="utf-8"))
    expected = (UPSTREAM / "loopat.openapi.json").read_text(encoding="utf-8")
    assert extracted == json.loads(expected)
    assert dump_json(extracted) == expected  # same key order and formatting too


def test_import_specs_reproduces_upstream(tmp_path: Path) -> None:
    # specs/upstream holds every seed, so it can stand in for the seed directory.
    for written in import_specs(UPSTREAM, tmp_path):
        assert written.read_bytes() == (UPSTREAM / written.name).read_bytes(), written.name
    assert len(list(tmp_path.iterdir())) == len(list(UPSTREAM.iterdir()))


# --------------------------------------------------------------------------- (iii) operationIds


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/v1/budget/clear", "postBudgetClear"),
        (
            "get",
            "/v1/rate/envelope/{agent_id}/{provider}/{model}",
            "getRateEnvelopeByAgentIdByProviderByModel",
        ),
        ("post", "/loops/{id}/messages", "postLoopsByIdMessages"),
        ("get", "/v1/reports/latest.md", "getReportsLatestMd"),
        ("post", "/approve/{approval_id}/decide", "postApproveByApprovalIdDecide"),
        ("delete", "/me/tokens/{tokenId}", "deleteMeTokensByTokenId"),
        ("post", "/v1/account/topup-verify", "postAccountTopupVerify"),
        ("get", "/api/v1/me", "getMe"),
        ("get", "/health", "getHealth"),
    ],
)
def test_operation_id_rule(method: str, path: str, expected: str) -> None:
    assert operation_id_for(method, path) == expected


@pytest.mark.parametrize("api", RULED)
def test_operation_ids_follow_rule(api: str) -> None:
    for path, method, op in iter_operations(corrected(api)):
        assert op.get("operationId") == operation_id_for(method, path), f"{method} {path}"


@pytest.mark.parametrize("api", APIS)
def test_operation_ids_unique(api: str) -> None:
    ids = [op.get("operationId") for _, _, op in iter_operations(corrected(api))]
    assert None not in ids
    assert len(ids) == len(set(ids))


# --------------------------------------------------------------------------- (iv) CHANGES.md record


@pytest.fixture(scope="module")
def listed() -> dict[str, list[str]]:
    return listed_pointers((SPECS / "CHANGES.md").read_text(encoding="utf-8"))


@pytest.mark.parametrize("api", APIS)
def test_every_difference_is_recorded(api: str, listed: dict[str, list[str]]) -> None:
    assert record_problems(api, upstream(api), corrected(api), listed[api]) == []


def test_record_check_catches_unrecorded_edits(listed: dict[str, list[str]]) -> None:
    # Guard the guard: hand edits that CHANGES.md does not mention must be reported.
    old, new = upstream("loopat"), corrected("loopat")
    new["info"]["title"] = "edited"
    new["paths"]["/loops"]["get"]["operationId"] = "listLoops"  # breaks the naming rule
    del new["paths"]["/loops"]["post"]["responses"]["400"]["description"]
    problems = record_problems("loopat", old, new, listed["loopat"])
    assert "unrecorded change at /info/title" in problems
    assert "unrecorded change at /paths/~1loops/get/operationId" in problems
    assert "unrecorded change at /paths/~1loops/post/responses/400/description" in problems
    stale = record_problems("loopat", old, old, ["/components/schemas/Loop/properties/repo"])
    assert stale == ["listed but not a difference: /components/schemas/Loop/properties/repo"]


def test_diff_pointers_shape() -> None:
    old = {"a": {"x": 1, "y": [1, 2]}, "b/c": True, "gone": 0}
    new = {"a": {"x": 2, "y": [1]}, "b/c": 1, "new": {"deep": 1}}
    assert diff_pointers(old, new) == {"/a/x", "/a/y", "/b~1c", "/gone", "/new"}


def test_changes_md_rejects_malformed_bullets() -> None:
    with pytest.raises(AssertionError):
        listed_pointers("## loopat\n- loopat /paths/~1loops — added: no backticks\n")
    with pytest.raises(AssertionError):
        listed_pointers("## loup\n- loopat `/x` — added: wrong section\n")


# --------------------------------------------------------------------------- (v) parser units


def test_parse_join() -> None:
    assert parse_ts_literal('["a ", "b", ""].join("\\n")') == "a \nb\n"
    assert parse_ts_literal('{ d: ["x", "y"].join(" ") }') == {"d": "x y"}


def test_parse_comments_and_trailing_commas() -> None:
    text = '{ // line\n a: 1, /* block\n */ "b-c": [true, false, null,], $ref: -2.5e1, }'
    assert parse_ts_literal(text) == {"a": 1, "b-c": [True, False, None], "$ref": -25.0}


def test_parse_string_escapes() -> None:
    text = r'"q\" \\ \/ \u00e9 \x41 \u{1F600} \ud83d\ude00 \t\0"'
    assert parse_ts_literal(text) == 'q" \\ / é A 😀 😀 \t\0'


def test_parse_keeps_key_order_and_int_vs_float() -> None:
    result = parse_ts_literal("{ z: 1, a: 1.0, m: 0 }")
    assert list(result) == ["z", "a", "m"]
    assert [type(v) for v in result.values()] == [int, float, int]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{ a: someIdentifier }", "unsupported token"),
        ("{ a: 'single' }", "unsupported token"),
        ("{ a: `template` }", "unsupported token"),
        ("{ ...spread }", "expected a property name"),
        ("{ a: 1, a: 2 }", "duplicate key 'a'"),
        (r'"bad \q"', r"unsupported escape \\q"),
        ('[1, 2].join(",")', "not all strings"),
        ('["a"].map(",")', "expected 'join'"),
        ("{ a: 1 /* open", "unterminated /\\* comment"),
        ("{ a: 0x10 }", "unsupported number form"),
        ("{ a: 1 } extra", "unexpected content after the literal"),
    ],
)
def test_parse_errors_are_clear(text: str, message: str) -> None:
    with pytest.raises(ExtractError, match=message) as info:
        parse_ts_literal(text)
    assert re.search(r"line \d+, col \d+", str(info.value))


def test_exported_const_needs_as_const() -> None:
    assert parse_exported_const("export const spec = { a: 1 } as const\n", "spec") == {"a": 1}
    with pytest.raises(ExtractError, match="as const"):
        parse_exported_const("export const spec = { a: 1 };\n", "spec")
    with pytest.raises(ExtractError, match="no 'export const other"):
        parse_exported_const("export const spec = {}", "other")


def _diff(rows: list[str], count: int | None = None) -> str:
    """A tiny registry diff in the seed's one-cell-per-line layout."""
    cells = ["|"]
    for number, code in enumerate(rows, 1):
        cells += ["|", "|", str(number), "|", "+"] + ([code] if code else [])
    n = len(rows) if count is None else count
    return "\n".join(["pkg 1.0", f"- package/src/a.ts +{n} -0", f"@@ -0,0 +1,{n} @@", *cells, "|"])


def test_reconstruct_file_with_blank_lines() -> None:
    text = reconstruct_file(_diff(["const a = {", "", "} as const"]), "src/a.ts")
    assert text == "const a = {\n\n} as const\n"


def test_reconstruct_file_fails_loudly() -> None:
    with pytest.raises(ExtractError, match=r"diff row \d"):
        reconstruct_file(_diff(["a", "b"], count=3), "src/a.ts")
    with pytest.raises(ExtractError, match="expected one summary entry"):
        reconstruct_file(_diff(["a"]), "src/other.ts")
