"""Write holo-host record transforms in Python.

A transform is a class with three methods, built into a WebAssembly component with
componentize-py against the WIT of holo-host (``wit/transform.wit``):

- ``__init__(self, config)``: reads the ``--set KEY=VALUE`` settings (a :class:`Config`);
- ``output_schema(self, columns)``: maps the input columns to the output columns;
- ``process(self, row, emit)``: turns one record (a list of values: ``None``, ``bool``,
  ``int``, ``float`` or ``str``) into zero or more rows with ``emit.row([...])`` or deletes
  with ``emit.delete([...])``. Raising an exception sends the record to the dead-letter
  output with the exception's message; the rest of the batch goes on.

``export(MyTransform)`` returns the class componentize-py looks for: in ``app.py`` write
``WitWorld = export(MyTransform)``. The batch encoding (``wit/ENCODING.md``) is
implemented here; authors never see it.
"""

import struct
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

TEXT, INT, FLOAT, BOOLEAN, JSON = "text", "int", "float", "boolean", "json"
_TYPES = (TEXT, INT, FLOAT, BOOLEAN, JSON)

Value = Any  # None | bool | int | float | str


@dataclass(frozen=True)
class Column:
    """One column: a name and one of ``text``, ``int``, ``float``, ``boolean``, ``json``."""

    name: str
    type: str = TEXT


class Reject(Exception):
    """Raised by ``process`` to send the record to the dead-letter output."""


class ConfigError(ValueError):
    """A setting that is missing or malformed; the message names it."""


class Config:
    """The ``--set KEY=VALUE`` settings, in command-line order. Errors read as the Rust
    SDK's, so a transform ported from Rust fails with the same words."""

    def __init__(self, settings: Sequence[Tuple[str, str]]):
        self._settings = list(settings)

    def get(self, key: str, default: Optional[str] = None) -> Optional[str]:
        """The last value given for ``key``."""
        found = default
        for k, v in self._settings:
            if k == key:
                found = v
        return found

    def require(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise ConfigError(f"missing setting `{key}`: pass `--set {key}=...`")
        return value

    def check_keys(self, known: Sequence[str]) -> None:
        for k, _ in self._settings:
            if k not in known:
                raise ConfigError(
                    f"unknown setting `{k}` (settings this transform knows: {', '.join(known)})"
                )

    def list(self, key: str) -> Optional[List[str]]:
        """A comma list such as ``a,b,c``, items trimmed; None if ``key`` is not set."""
        value = self.get(key)
        if value is None:
            return None
        if not value.strip():
            raise ConfigError(f"setting `{key}` is empty")
        items = [item.strip() for item in value.split(",")]
        if any(not item for item in items):
            raise ConfigError(f"setting `{key}` has an empty item in `{value}`")
        return items

    def columns(self, key: str) -> Optional[List[Tuple[str, Optional[str]]]]:
        """A comma list of ``name`` or ``name:new`` items (split at the last ``:``)."""
        return self._pairs(key, required=False)

    def pairs(self, key: str) -> Optional[List[Tuple[str, str]]]:
        """A comma list of ``name:value`` items (split at the last ``:``)."""
        return self._pairs(key, required=True)

    def _pairs(self, key: str, required: bool):
        items = self.list(key)
        if items is None:
            return None
        form = "name:value" if required else "name or name:value"
        out = []
        for item in items:
            pair = _split_pair(item)
            if pair is None or (required and pair[1] is None):
                raise ConfigError(f"item `{item}` of setting `{key}` is not of the form `{form}`")
            out.append(pair)
        return out


def _split_pair(item: str) -> Optional[Tuple[str, Optional[str]]]:
    if ":" not in item:
        return item, None
    a, b = item.rsplit(":", 1)
    a, b = a.strip(), b.strip()
    return (a, b) if a and b else None


def column_names(columns: Sequence[Column]) -> str:
    return ", ".join(c.name for c in columns)


def resolve_column(key: str, columns: Sequence[Column], what: str, name: str) -> int:
    """The index of column ``name``; an error naming the setting ``key`` otherwise."""
    for i, c in enumerate(columns):
        if c.name == name:
            return i
    raise ConfigError(f"setting `{key}`: no {what} `{name}` (columns: {column_names(columns)})")


def find_column(columns: Sequence[Column], name: str) -> int:
    for i, c in enumerate(columns):
        if c.name == name:
            return i
    raise ValueError(f"no column `{name}` (columns: {column_names(columns)})")


# --- The batch encoding (wit/ENCODING.md) -------------------------------------------------


def _read_value(buf: bytes, pos: int) -> Tuple[Value, int]:
    tag = buf[pos]
    pos += 1
    if tag == 0x00:
        return None, pos
    if tag == 0x01:
        return False, pos
    if tag == 0x02:
        return True, pos
    if tag == 0x03:
        return struct.unpack_from("<q", buf, pos)[0], pos + 8
    if tag == 0x04:
        return struct.unpack_from("<d", buf, pos)[0], pos + 8
    if tag == 0x05:
        (n,) = struct.unpack_from("<I", buf, pos)
        pos += 4
        return bytes(buf[pos : pos + n]).decode("utf-8"), pos + n
    raise ValueError(f"bad value tag {tag:#04x} at byte {pos - 1} of the input batch")


def _write_value(out: bytearray, v: Value) -> None:
    if v is None:
        out.append(0x00)
    elif v is True:
        out.append(0x02)
    elif v is False:
        out.append(0x01)
    elif isinstance(v, int):
        out.append(0x03)
        out += struct.pack("<q", v)
    elif isinstance(v, float):
        out.append(0x04)
        out += struct.pack("<d", v)
    elif isinstance(v, str):
        b = v.encode("utf-8")
        out.append(0x05)
        out += struct.pack("<I", len(b))
        out += b
    else:
        raise TypeError(f"a value must be None, bool, int, float or str, not {type(v).__name__}")


def decode_batch(buf: bytes, width: int) -> List[List[Value]]:
    """The rows of an input batch of ``width`` columns."""
    (count,) = struct.unpack_from("<I", buf, 0)
    pos, rows = 4, []
    for _ in range(count):
        row = []
        for _ in range(width):
            v, pos = _read_value(buf, pos)
            row.append(v)
        rows.append(row)
    return rows


class Emit:
    """Where ``process`` writes the rows (and deletes) of one input record."""

    def __init__(self, width: int):
        self._width = width
        self._entries: List[Tuple[int, List[Value]]] = []

    def row(self, values: Sequence[Value]) -> None:
        """Emits a row: one value per output column."""
        self._entry(0x00, values)

    def delete(self, values: Sequence[Value]) -> None:
        """Deletes the target table's row with the key these values hold (one value per
        output column; only the key columns are read)."""
        self._entry(0x02, values)

    def _entry(self, kind: int, values: Sequence[Value]) -> None:
        if len(values) != self._width:
            raise ValueError(f"{len(values)} values for {self._width} output columns")
        self._entries.append((kind, list(values)))


_batch_number = 0


def _run_batch(transform: Any, buf: bytes, in_width: int, out_width: int) -> bytes:
    global _batch_number
    _batch_number += 1
    out = bytearray()
    for i, row in enumerate(decode_batch(buf, in_width)):
        emit = Emit(out_width)
        try:
            transform.process(row, emit)
        except Exception as e:  # the record goes to the dead-letter output
            message = str(e) or type(e).__name__
            b = message.encode("utf-8")
            out += struct.pack("<BII", 0x01, i, len(b))
            out += b
            continue
        for kind, values in emit._entries:
            out += struct.pack("<BI", kind, i)
            for v in values:
                _write_value(out, v)
    return bytes(out)


# --- Host imports ---------------------------------------------------------------------


def log(level: str, message: str) -> None:
    """Writes a line to the host's log: ``trace``, ``debug``, ``info``, ``warn`` or ``error``."""
    from wit_world.imports import host

    levels = {
        "trace": host.Level.TRACE,
        "debug": host.Level.DEBUG,
        "info": host.Level.INFO,
        "warn": host.Level.WARN,
        "error": host.Level.ERROR,
    }
    host.log(levels[level], message)


def _host_error(e: Exception) -> str:
    return str(getattr(e, "value", e))


class Lookup:
    """A ``--lookup`` table: its columns, and rows by key (each key asked of the host once
    per batch)."""

    def __init__(self, table: str):
        from wit_world.imports import host

        try:
            wit_columns = host.lookup_columns(table)
        except Exception as e:
            raise ValueError(_host_error(e)) from None
        self.table = table
        self.columns = [Column(c.name, _from_wit_type(c.type)) for c in wit_columns]
        self._cache: Dict[str, Optional[List[Value]]] = {}
        self._batch = -1

    def get(self, key: str) -> Optional[List[Value]]:
        """The row whose key column equals ``key``, values in ``columns`` order; None if there
        is none."""
        from wit_world.imports import host

        if self._batch != _batch_number:
            self._cache.clear()
            self._batch = _batch_number
        if key not in self._cache:
            try:
                found = host.lookup(self.table, key)
            except Exception as e:
                raise ValueError(_host_error(e)) from None
            self._cache[key] = None if found is None else [_from_wit_value(v) for v in found]
        return self._cache[key]


def lookup(table: str, key: str) -> Optional[Dict[str, Value]]:
    """The row of ``--lookup`` table ``table`` whose key is ``key``, by column name; None if
    there is none."""
    t = Lookup(table)
    row = t.get(key)
    return None if row is None else {c.name: v for c, v in zip(t.columns, row)}


def _from_wit_type(t: Any) -> str:
    return _TYPES[t.value] if hasattr(t, "value") else str(t)


def _from_wit_value(v: Any) -> Value:
    return getattr(v, "value", None)


# --- The component's exports ------------------------------------------------------------


def export(cls: Any) -> Any:
    """The ``WitWorld`` class componentize-py exports, running ``cls``."""
    from componentize_py_types import Err
    from wit_world import WitWorld
    from wit_world.imports import types as wit

    wit_types = {
        TEXT: wit.ColumnType.TEXT,
        INT: wit.ColumnType.INT,
        FLOAT: wit.ColumnType.FLOAT,
        BOOLEAN: wit.ColumnType.BOOLEAN,
        JSON: wit.ColumnType.JSON,
    }

    class Exported(WitWorld):
        transform = None
        in_width = 0
        out_width = 0

        def configure(self, settings):
            try:
                Exported.transform = cls(Config(settings))
            except Exception as e:
                raise Err(str(e) or type(e).__name__)

        def output_schema(self, input):
            columns = [Column(c.name, _from_wit_type(c.type)) for c in input]
            try:
                output = Exported.transform.output_schema(columns)
            except Exception as e:
                raise Err(str(e) or type(e).__name__)
            Exported.in_width, Exported.out_width = len(columns), len(output)
            return [wit.Column(c.name, wit_types[c.type]) for c in output]

        def process(self, batch):
            try:
                return _run_batch(Exported.transform, batch, Exported.in_width, Exported.out_width)
            except Exception as e:
                raise Err(str(e) or type(e).__name__)

    return Exported
