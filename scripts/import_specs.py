"""Re-create specs/upstream/ from the seed documents.

Usage: python -m scripts.import_specs [--seeds DIR] [--out DIR]

Four APIs ship plain OpenAPI JSON, copied byte for byte. loopat ships its spec
as a TypeScript object literal (`v1OpenApiSpec` in server/src/api-v1-openapi.ts)
inside a registry package diff; `extract_loopat` rebuilds that file from the
diff and parses the literal with a small recursive-descent parser, so no
JavaScript runtime is needed. Anything outside the expected subset is an error,
never a guess.

`operation_id_for` is the naming rule for the specs that lack operationIds
(documented in specs/CHANGES.md); the tests hold the specs to it.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEEDS = REPO_ROOT.parent / "shared" / "seeds"
DEFAULT_OUT = REPO_ROOT / "specs" / "upstream"

JSON_SEEDS = ("loup", "loopkit", "lithtrix", "gvnr")
LOOPAT_DIFF = "loopat-0.1.0-package-diff.txt"
LOOPAT_TS_PATH = "server/src/api-v1-openapi.ts"
LOOPAT_EXPORT = "v1OpenApiSpec"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class ExtractError(ValueError):
    """The diff or the TypeScript literal is not in the shape we know how to read."""


# --------------------------------------------------------------------------- naming rule


def _pascal(text: str) -> str:
    # Keep inner capitals (tokenId -> TokenId); str.capitalize() would lower them.
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[-_.]", text) if w)


def operation_id_for(method: str, path: str) -> str:
    """lowerCamelCase of the method and each path segment (see specs/CHANGES.md)."""
    segments = [s for s in path.split("/") if s]
    if segments and segments[0] == "api":
        segments = segments[1:]
    if segments and re.fullmatch(r"v\d+", segments[0]):
        segments = segments[1:]
    parts = [method.lower()]
    for seg in segments:
        param = re.fullmatch(r"\{([^{}]+)\}", seg)
        parts.append("By" + _pascal(param.group(1)) if param else _pascal(seg))
    return "".join(parts)


def iter_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation, in document order."""
    return [
        (path, method, op)
        for path, item in spec.get("paths", {}).items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


# --------------------------------------------------------------------------- diff -> file

_HUNK_RE = re.compile(r"^@@ -0,0 \+1,(\d+) @@$")


def reconstruct_file(diff_text: str, path: str) -> str:
    """Rebuild a newly added file from the registry diff.

    The diff is a rendered table, one cell per line: each source line appears as
    `|`, `|`, <line number>, `|`, `+`, <code> (an empty code line has no cell).
    Indentation is not preserved, which is harmless for parsing. Hunks carry no
    file name, so the hunk is found by the line count listed for `path` in the
    file summary at the top; exactly one hunk must match.
    """
    lines = diff_text.split("\n")
    summary = re.compile(r"^- package/" + re.escape(path) + r" \+(\d+) -0$")
    counts = [int(m.group(1)) for m in map(summary.match, lines) if m]
    if len(counts) != 1:
        raise ExtractError(f"expected one summary entry for {path}, found {len(counts)}")
    want = counts[0]
    headers = [i for i, ln in enumerate(lines) if ln.startswith("@@")]
    matching = [i for i in headers if (m := _HUNK_RE.match(lines[i])) and int(m.group(1)) == want]
    if len(matching) != 1:
        raise ExtractError(
            f"expected one hunk '@@ -0,0 +1,{want} @@' for {path}, found {len(matching)}"
        )
    start = matching[0] + 1
    end = next((i for i in headers if i > matching[0]), len(lines))
    return "\n".join(_hunk_rows(lines[start:end], want)) + "\n"


def _hunk_rows(cells: list[str], count: int) -> list[str]:
    """Source lines 1..count from one hunk's cells; any deviation is an error."""
    out: list[str] = []
    i, n = 0, len(cells)
    while i < n and cells[i] == "|":
        i += 1
    for number in range(1, count + 1):
        if cells[i : i + 3] != [str(number), "|", "+"]:
            raise ExtractError(
                f"diff row {number}: expected '{number}', '|', '+' cells, got {cells[i : i + 3]!r}"
            )
        i += 3
        # An empty source line has no code cell: the next row's separators follow directly.
        is_last = number == count
        if cells[i : i + 3] == ["|", "|", str(number + 1)] or (
            is_last and not [c for c in cells[i:] if c not in ("|", "")]
        ):
            out.append("")
        elif i < n:
            out.append(cells[i])
            i += 1
        else:
            raise ExtractError(f"diff row {number}: the hunk ends before its code")
        if number < count:
            if cells[i : i + 2] != ["|", "|"]:
                raise ExtractError(
                    f"diff row {number}: expected '|', '|' after the code, got {cells[i : i + 2]!r}"
                )
            i += 2
    rest = [c for c in cells[i:] if c not in ("|", "")]
    if rest:
        raise ExtractError(f"unexpected content after row {count}: {rest[:3]!r}")
    return out


# --------------------------------------------------------------------------- TS literal parser


class _Parser:
    """Recursive descent over the JSON-like subset of TypeScript used by the spec.

    Supported: object literals (identifier or double-quoted keys), arrays,
    double-quoted strings with JS escapes, numbers, true/false/null, trailing
    commas, // and /* */ comments, and `[<strings>].join(<string>)`.
    """

    _IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
    _NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
    _SIMPLE_ESCAPES = {
        "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v",
        '"': '"', "'": "'", "\\": "\\", "/": "/",
    }  # fmt: skip

    def __init__(self, text: str, pos: int = 0) -> None:
        self.text = text
        self.pos = pos

    def error(self, message: str) -> ExtractError:
        line = self.text.count("\n", 0, self.pos) + 1
        col = self.pos - (self.text.rfind("\n", 0, self.pos) + 1) + 1
        snippet = self.text[self.pos : self.pos + 30].split("\n")[0]
        return ExtractError(f"line {line}, col {col}: {message} (at {snippet!r})")

    def skip(self) -> None:
        """Skip whitespace and comments."""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t\r\n":
                self.pos += 1
            elif self.text.startswith("//", self.pos):
                nl = self.text.find("\n", self.pos)
                self.pos = len(self.text) if nl < 0 else nl + 1
            elif self.text.startswith("/*", self.pos):
                close = self.text.find("*/", self.pos + 2)
                if close < 0:
                    raise self.error("unterminated /* comment")
                self.pos = close + 2
            else:
                return

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos : self.pos + 1]

    def expect(self, token: str) -> None:
        self.skip()
        if not self.text.startswith(token, self.pos):
            raise self.error(f"expected {token!r}")
        self.pos += len(token)

    def value(self) -> Any:
        ch = self.peek()
        if ch == "{":
            return self.object()
        if ch == "[":
            return self.array_or_join()
        if ch == '"':
            return self.string()
        if ch == "-" or ch.isdigit():
            return self.number()
        word = self._IDENT.match(self.text, self.pos)
        if word and word.group() in ("true", "false", "null"):
            self.pos = word.end()
            return {"true": True, "false": False, "null": None}[word.group()]
        raise self.error("unsupported token")

    def object(self) -> dict[str, Any]:
        self.expect("{")
        result: dict[str, Any] = {}
        while self.peek() != "}":
            if self.peek() == '"':
                key = self.string()
            else:
                word = self._IDENT.match(self.text, self.pos)
                if not word:
                    raise self.error("expected a property name")
                key = word.group()
                self.pos = word.end()
            if key in result:
                raise self.error(f"duplicate key {key!r}")
            self.expect(":")
            result[key] = self.value()
            if self.peek() != ",":
                break
            self.expect(",")
        self.expect("}")
        return result

    def array_or_join(self) -> list[Any] | str:
        self.expect("[")
        items: list[Any] = []
        while self.peek() != "]":
            items.append(self.value())
            if self.peek() != ",":
                break
            self.expect(",")
        self.expect("]")
        if self.peek() != ".":
            return items
        # The only call we accept: ["a", "b"].join("sep")
        self.expect(".")
        self.expect("join")
        self.expect("(")
        sep = self.string() if self.peek() == '"' else None
        if sep is None:
            raise self.error(".join() needs one double-quoted string argument")
        self.expect(")")
        if not all(isinstance(item, str) for item in items):
            raise self.error(".join() on an array that is not all strings")
        return sep.join(items)

    def number(self) -> int | float:
        self.skip()
        match = self._NUMBER.match(self.text, self.pos)
        if not match:
            raise self.error("malformed number")
        after = self.text[match.end() : match.end() + 1]
        if after and (after.isalnum() or after in "_$."):
            raise self.error("unsupported number form")
        self.pos = match.end()
        text = match.group()
        return float(text) if match.group(1) or match.group(2) else int(text)

    def string(self) -> str:
        self.expect('"')
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise self.error("unterminated string")
            ch = self.text[self.pos]
            if ch == '"':
                self.pos += 1
                break
            if ch == "\n":
                raise self.error("newline inside a string")
            if ch != "\\":
                out.append(ch)
                self.pos += 1
                continue
            esc = self.text[self.pos + 1 : self.pos + 2]
            self.pos += 2
            if esc in self._SIMPLE_ESCAPES:
                out.append(self._SIMPLE_ESCAPES[esc])
            elif esc == "0" and not self.text[self.pos : self.pos + 1].isdigit():
                out.append("\0")
            elif esc == "x":
                out.append(chr(self._hex(2)))
            elif esc == "u" and self.text.startswith("{", self.pos):
                close = self.text.find("}", self.pos)
                digits = self.text[self.pos + 1 : close] if close > 0 else ""
                if not re.fullmatch(r"[0-9A-Fa-f]{1,6}", digits):
                    raise self.error("bad \\u{...} escape")
                out.append(chr(int(digits, 16)))
                self.pos = close + 1
            elif esc == "u":
                out.append(chr(self._hex(4)))
            else:
                self.pos -= 2
                raise self.error(f"unsupported escape \\{esc}")
        # Join UTF-16 surrogate pairs written as two \u escapes.
        return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16")

    def _hex(self, width: int) -> int:
        digits = self.text[self.pos : self.pos + width]
        if not re.fullmatch(f"[0-9A-Fa-f]{{{width}}}", digits):
            raise self.error("bad hex escape")
        self.pos += width
        return int(digits, 16)


def parse_ts_literal(text: str) -> Any:
    """Parse one complete literal (no trailing content besides comments)."""
    parser = _Parser(text)
    result = parser.value()
    parser.skip()
    if parser.pos != len(text):
        raise parser.error("unexpected content after the literal")
    return result


def parse_exported_const(source: str, name: str) -> Any:
    """Parse `export const <name> = <literal> as const` in a TypeScript source."""
    decl = re.search(r"^export\s+const\s+" + re.escape(name) + r"\s*=\s*", source, re.M)
    if not decl:
        raise ExtractError(f"no 'export const {name} = ...' in the source")
    parser = _Parser(source, decl.end())
    result = parser.value()
    parser.skip()
    if not re.match(r"as\s+const\b", source[parser.pos :]):
        raise parser.error(f"expected 'as const' after the {name} literal")
    return result


def extract_loopat(diff_text: str) -> dict[str, Any]:
    """The loopat OpenAPI document, from its registry package diff."""
    source = reconstruct_file(diff_text, LOOPAT_TS_PATH)
    spec = parse_exported_const(source, LOOPAT_EXPORT)
    if not isinstance(spec, dict) or not str(spec.get("openapi", "")).startswith("3."):
        raise ExtractError(f"{LOOPAT_EXPORT} is not an OpenAPI document")
    return spec


# --------------------------------------------------------------------------- CLI


def dump_json(data: Any) -> str:
    """The one JSON formatting used for every generated spec file."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def import_specs(seeds: Path, out: Path) -> list[Path]:
    """Copy the JSON seeds and the loopat diff, then write the extracted loopat JSON."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in [f"{api}.openapi.json" for api in JSON_SEEDS] + [LOOPAT_DIFF]:
        src, dst = seeds / name, out / name
        if not src.is_file():
            raise FileNotFoundError(f"seed missing: {src}")
        if not (dst.exists() and src.samefile(dst)):
            shutil.copyfile(src, dst)
        written.append(dst)
    spec = extract_loopat((seeds / LOOPAT_DIFF).read_text(encoding="utf-8"))
    dst = out / "loopat.openapi.json"
    dst.write_text(dump_json(spec), encoding="utf-8")
    written.append(dst)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.import_specs",
        description="Re-create specs/upstream/ from the seed documents.",
    )
    parser.add_argument(
        "--seeds", type=Path, default=DEFAULT_SEEDS, help="seed directory (default: %(default)s)"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        for path in import_specs(args.seeds, args.out):
            print(path)
    except (ExtractError, OSError) as exc:
        print(f"import_specs: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
