"""alias, in Python: the port of ../src/lib.rs with the same settings, the same
output and the same messages.

Renames, selects and casts columns. Settings, applied in this order:
- ``rename=old:new,…``: input column names to output names;
- ``select=a,b,…``: keep only these columns (names after renaming), in this order;
- ``cast=col:type,…``: convert values (names after renaming; types ``text``, ``int``,
  ``float``, ``boolean``, ``json``).

A name that matches no column is an error before any data flows; a value that does not
convert rejects its record.
"""

import json
import math
import re
from decimal import Decimal

from holo_transform import (
    Column,
    Config,
    ConfigError,
    Emit,
    Reject,
    column_names,
    export,
    resolve_column,
)

SETTINGS = ["rename", "select", "cast"]
TYPES = ["text", "int", "float", "boolean", "json"]
QUOTE_LIMIT = 64
I64 = (-(2**63), 2**63 - 1)

# What Rust's `str::parse` accepts, and no more (Python's int() and float() also take
# underscores and other scripts' digits).
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(
    r"[+-]?(inf|infinity|nan|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)", re.IGNORECASE
)
_TRUE = ("true", "t", "yes", "y", "on", "1")
_FALSE = ("false", "f", "no", "n", "off", "0")


def rust_float(f: float) -> str:
    """A float as Rust's `{}` writes it: the shortest digits that read back, never an
    exponent (`1`, `0.0000001`, `100000000000000000000`, `NaN`, `inf`)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    text = format(Decimal(repr(f)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def rust_trim(s: str) -> str:
    """`str::trim`: Unicode White_Space at both ends."""
    return s.strip(" \t\n\x0b\x0c\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                   "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def quoted(v) -> str:
    if v is None:
        return "null"
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, float):
        return rust_float(v)
    if isinstance(v, int):
        return str(v)
    return v if len(v) <= QUOTE_LIMIT else v[:QUOTE_LIMIT] + "…"


class Failed(Exception):
    """A value that does not convert; the message completes "`value` …"."""


def cast(v, ty: str):
    if v is None:
        return None
    is_bool = v is True or v is False
    if ty in ("text", "json"):
        if is_bool:
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            if ty == "json" and not math.isfinite(v):
                raise Failed("is not valid JSON")
            return rust_float(v)
        if ty == "json":
            try:
                json.loads(v, parse_constant=_no_constant)
            except (ValueError, RecursionError):
                raise Failed("is not valid JSON") from None
        return v
    if ty == "int":
        if is_bool:
            raise Failed("is not an integer")
        if isinstance(v, int):
            return v
        if isinstance(v, float):
            if v.is_integer() and -9.223372036854776e18 <= v < 9.223372036854776e18:
                return int(v)
            raise Failed("is not an integer")
        s = rust_trim(v)
        if _INT.fullmatch(s) and I64[0] <= int(s) <= I64[1]:
            return int(s)
        raise Failed("is not an integer")
    if ty == "float":
        if is_bool:
            raise Failed("is not a number")
        if isinstance(v, (int, float)):
            return float(v)
        s = rust_trim(v)
        if _FLOAT.fullmatch(s):
            return float(s)
        raise Failed("is not a number")
    # boolean
    if is_bool:
        return v
    if isinstance(v, int) and v in (0, 1):
        return v == 1
    if isinstance(v, str):
        s = rust_trim(v).lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    raise Failed("is not a boolean")


def _no_constant(name):
    raise ValueError(name)


def _unique(key: str, names) -> None:
    seen = set()
    for n in names:
        if n in seen:
            raise ConfigError(f"setting `{key}`: column `{n}` appears twice")
        seen.add(n)


class Alias:
    def __init__(self, config: Config):
        config.check_keys(SETTINGS)
        self.rename = config.pairs("rename")
        if self.rename is not None:
            _unique("rename", [a for a, _ in self.rename])
        self.select = config.list("select")
        if self.select is not None:
            _unique("select", self.select)
        self.cast = []
        for name, ty in config.pairs("cast") or []:
            if ty not in TYPES:
                raise ConfigError(
                    f"setting `cast`: column `{name}`: unknown column type `{ty}` "
                    "(types: text, int, float, boolean, json)"
                )
            self.cast.append((name, ty))
        _unique("cast", [n for n, _ in self.cast])
        self.plan = []

    def output_schema(self, columns: list[Column]) -> list[Column]:
        renamed = list(columns)
        for old, new in self.rename or []:
            i = resolve_column("rename", columns, "input column", old)
            renamed[i] = Column(new, renamed[i].type)
        if self.select is None:
            chosen = list(range(len(renamed)))
        else:
            chosen = [resolve_column("select", renamed, "column", n) for n in self.select]
        output = [renamed[i] for i in chosen]
        if len({c.name for c in output}) != len(output):
            raise ValueError(
                "setting `rename`: two output columns would have the same name "
                f"(columns: {column_names(output)})"
            )
        casts = [None] * len(output)
        for name, ty in self.cast:
            o = resolve_column("cast", output, "output column", name)
            casts[o] = ty
            output[o] = Column(output[o].name, ty)
        self.plan = [(i, c.name, t) for i, c, t in zip(chosen, output, casts)]
        return output

    def process(self, row: list, emit: Emit) -> None:
        values = []
        for i, name, ty in self.plan:
            v = row[i]
            if ty is None:
                values.append(v)
                continue
            try:
                values.append(cast(v, ty))
            except Failed as e:
                raise Reject(f"column `{name}`: `{quoted(v)}` {e}") from None
        emit.row(values)


WitWorld = export(Alias)
