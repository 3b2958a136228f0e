// enrich, in JavaScript: the port of ../src/lib.rs with the same settings, the
// same output and the same messages. Joins each record with a row of a dimension table
// (--lookup NAME=...) by key, adding some of that row's columns. Settings: lookup=NAME
// (required); key=COLUMN (default: the name of the table's first column);
// columns=col[:name],… (default: every column but the first). An added column named like
// an input column fills that column. A record whose key is null or matches no row is
// rejected.
import {
  ConfigError, Lookup, Reject, columnNames, exportTransform, resolveColumn, rustFloat,
} from './holo_transform.js';

const SETTINGS = ['lookup', 'key', 'columns'];

class Enrich {
  constructor(config) {
    config.checkKeys(SETTINGS);
    const table = config.require('lookup');
    try {
      this.lookup = new Lookup(table);
    } catch (e) {
      throw new ConfigError(`setting \`lookup\`: ${e.message}`);
    }
    const columns = this.lookup.columns;
    if (columns.length === 0) throw new Error(`lookup \`${table}\` has no columns`);
    const spec = config.columns('columns');
    this.added = spec === undefined
      ? columns.slice(1).map((c, i) => [i + 1, c.name])
      : spec.map(([name, renamed]) => [resolveColumn('columns', columns, 'lookup column', name), renamed ?? name]);
    if (this.added.length === 0) {
      throw new Error(`lookup \`${table}\` has only its key column \`${columns[0].name}\`: nothing to add`);
    }
    const seen = new Set();
    for (const [, name] of this.added) {
      if (seen.has(name)) throw new Error(`setting \`columns\`: two added columns are named \`${name}\``);
      seen.add(name);
    }
    const key = config.get('key');
    this.keyName = key ?? columns[0].name;
    this.keySet = key !== undefined;
    this.key = 0;
    this.plan = [];
  }

  outputSchema(columns) {
    try {
      this.key = resolveColumn('key', columns, 'input column', this.keyName);
    } catch (e) {
      if (this.keySet) throw e;
      throw new Error(
        'the key (by default the first column of the lookup; set `key=...`): '
        + `no input column \`${this.keyName}\` (columns: ${columnNames(columns)})`,
      );
    }
    const output = [...columns];
    const plan = columns.map((_, i) => ['input', i]);
    for (const [index, name] of this.added) {
      const column = { name, type: this.lookup.columns[index].type };
      const at = columns.findIndex((c) => c.name === name);
      if (at < 0) {
        output.push(column);
        plan.push(['lookup', index]);
      } else {
        output[at] = column;
        plan[at] = ['lookup', index];
      }
    }
    this.plan = plan;
    return output;
  }

  process(row, emit) {
    let key = row[this.key];
    const table = this.lookup.table;
    if (key === null) throw new Reject(`no row in lookup \`${table}\` for ${this.keyName}: the key is null`);
    if (typeof key === 'boolean' || typeof key === 'bigint') key = String(key);
    else if (typeof key === 'number') key = rustFloat(key);
    const values = this.lookup.get(key);
    if (values === null) throw new Reject(`no row in lookup \`${table}\` for ${this.keyName} \`${key}\``);
    emit.row(this.plan.map(([kind, i]) => (kind === 'input' ? row[i] : values[i])));
  }
}

export const { configure, outputSchema, process } = exportTransform(Enrich);
