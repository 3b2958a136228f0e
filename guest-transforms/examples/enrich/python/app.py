"""enrich, in Python: the port of ../src/lib.rs with the same settings, the
same output and the same messages.

Joins each record with a row of a dimension table (``--lookup NAME=...``) by key, adding
some of that row's columns. Settings:
- ``lookup=NAME``: the dimension table (required);
- ``key=COLUMN``: the input column whose value is looked up, as text; defaults to the
  name of the table's first column;
- ``columns=col[:name],…``: the table's columns to add, optionally renamed; defaults to
  every column but the first. An added column named like an input column fills that
  column instead of adding a second one of the same name.

A record whose key is null or matches no row is rejected.
"""

from holo_transform import (
    Column,
    Config,
    ConfigError,
    Emit,
    Lookup,
    Reject,
    column_names,
    export,
    resolve_column,
)

SETTINGS = ["lookup", "key", "columns"]


def _format_float(f: float) -> str:
    """A float as Rust's `{}` writes it (`1`, not `1.0`; no exponent)."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "inf" if f > 0 else "-inf"
    if f == int(f) and abs(f) < 1e16:
        return str(int(f))
    return repr(f)


class Enrich:
    def __init__(self, config: Config):
        config.check_keys(SETTINGS)
        table = config.require("lookup")
        try:
            self.lookup = Lookup(table)
        except ValueError as e:
            raise ConfigError(f"setting `lookup`: {e}") from None
        columns = self.lookup.columns
        if not columns:
            raise ValueError(f"lookup `{table}` has no columns")
        spec = config.columns("columns")
        if spec is None:
            self.added = [(i, columns[i].name) for i in range(1, len(columns))]
        else:
            self.added = [
                (resolve_column("columns", columns, "lookup column", name), new or name)
                for name, new in spec
            ]
        if not self.added:
            raise ValueError(
                f"lookup `{table}` has only its key column `{columns[0].name}`: nothing to add"
            )
        seen = set()
        for _, name in self.added:
            if name in seen:
                raise ValueError(f"setting `columns`: two added columns are named `{name}`")
            seen.add(name)
        key = config.get("key")
        self.key_name, self.key_set = (key, True) if key is not None else (columns[0].name, False)
        self.key = 0
        self.plan = []

    def output_schema(self, columns: list[Column]) -> list[Column]:
        try:
            self.key = resolve_column("key", columns, "input column", self.key_name)
        except ConfigError:
            if self.key_set:
                raise
            raise ValueError(
                "the key (by default the first column of the lookup; set `key=...`): "
                f"no input column `{self.key_name}` (columns: {column_names(columns)})"
            ) from None
        output = list(columns)
        plan = [("input", i) for i in range(len(columns))]
        for index, name in self.added:
            column = Column(name, self.lookup.columns[index].type)
            at = next((i for i, c in enumerate(columns) if c.name == name), None)
            if at is None:
                output.append(column)
                plan.append(("lookup", index))
            else:
                output[at] = column
                plan[at] = ("lookup", index)
        self.plan = plan
        return output

    def process(self, row: list, emit: Emit) -> None:
        key = row[self.key]
        table = self.lookup.table
        if key is None:
            raise Reject(f"no row in lookup `{table}` for {self.key_name}: the key is null")
        if key is True or key is False:
            key = "true" if key else "false"
        elif isinstance(key, int):
            key = str(key)
        elif isinstance(key, float):
            key = _format_float(key)
        values = self.lookup.get(key)
        if values is None:
            raise Reject(f"no row in lookup `{table}` for {self.key_name} `{key}`")
        emit.row([row[i] if kind == "input" else values[i] for kind, i in self.plan])


WitWorld = export(Enrich)
