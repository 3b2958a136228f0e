// Write holo-host record transforms in JavaScript.
//
// A transform is a class with three methods, built into a WebAssembly component with
// componentize-js (StarlingMonkey) against the WIT of holo-host (wit/transform.wit):
//
// - constructor(config): reads the --set KEY=VALUE settings (a Config);
// - outputSchema(columns): maps the input columns ({name, type}) to the output columns;
// - process(row, emit): turns one record (an array of values: null, boolean, BigInt for
//   int, number for float, string) into zero or more rows with emit.row([...]) or deletes
//   with emit.delete([...]). Throwing sends the record to the dead-letter output with the
//   error's message; the rest of the batch goes on.
//
// In the app module: `export const { configure, outputSchema, process } =
// exportTransform(MyTransform);`. The batch encoding (wit/ENCODING.md) is implemented
// here; authors never see it.

import { log as hostLog, lookup as hostLookup, lookupColumns as hostLookupColumns } from 'holo:transform/host@0.1.0';

export const TEXT = 'text', INT = 'int', FLOAT = 'float', BOOLEAN = 'boolean', JSON_TYPE = 'json';

/** A setting that is missing or malformed; the message names it. */
export class ConfigError extends Error {}

/** Thrown by process() to send the record to the dead-letter output. */
export class Reject extends Error {}

/** The --set KEY=VALUE settings, in command-line order. Errors read as the Rust SDK's. */
export class Config {
  constructor(settings) { this.settings = settings; }

  /** The last value given for key, or undefined. */
  get(key) {
    let found;
    for (const [k, v] of this.settings) if (k === key) found = v;
    return found;
  }

  require(key) {
    const v = this.get(key);
    if (v === undefined) throw new ConfigError(`missing setting \`${key}\`: pass \`--set ${key}=...\``);
    return v;
  }

  checkKeys(known) {
    for (const [k] of this.settings) {
      if (!known.includes(k)) {
        throw new ConfigError(`unknown setting \`${k}\` (settings this transform knows: ${known.join(', ')})`);
      }
    }
  }

  /** A comma list such as a,b,c, items trimmed; undefined if key is not set. */
  list(key) {
    const value = this.get(key);
    if (value === undefined) return undefined;
    if (value.trim() === '') throw new ConfigError(`setting \`${key}\` is empty`);
    const items = value.split(',').map((s) => s.trim());
    if (items.some((s) => s === '')) throw new ConfigError(`setting \`${key}\` has an empty item in \`${value}\``);
    return items;
  }

  /** A comma list of `name` or `name:new` items (split at the last `:`): [name, new|null]. */
  columns(key) {
    return this.#pairs(key, false);
  }

  /** A comma list of `name:value` items (split at the last `:`): [name, value]. */
  pairs(key) {
    return this.#pairs(key, true);
  }

  #pairs(key, required) {
    const items = this.list(key);
    if (items === undefined) return undefined;
    return items.map((item) => {
      const at = item.lastIndexOf(':');
      if (at < 0 && !required) return [item, null];
      const a = item.slice(0, at).trim(), b = item.slice(at + 1).trim();
      if (at < 0 || !a || !b) {
        const form = required ? 'name:value' : 'name or name:value';
        throw new ConfigError(`item \`${item}\` of setting \`${key}\` is not of the form \`${form}\``);
      }
      return [a, b];
    });
  }
}

export function columnNames(columns) {
  return columns.map((c) => c.name).join(', ');
}

/** The index of column `name`; an error naming the setting `key` otherwise. */
export function resolveColumn(key, columns, what, name) {
  const i = columns.findIndex((c) => c.name === name);
  if (i < 0) throw new ConfigError(`setting \`${key}\`: no ${what} \`${name}\` (columns: ${columnNames(columns)})`);
  return i;
}

export function findColumn(columns, name) {
  const i = columns.findIndex((c) => c.name === name);
  if (i < 0) throw new Error(`no column \`${name}\` (columns: ${columnNames(columns)})`);
  return i;
}

/** A float as Rust's `{}` writes it: the shortest digits that read back, never an
 * exponent (`1`, `0.0000001`, `100000000000000000000`, `NaN`, `inf`, `-0`). */
export function rustFloat(x) {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  const [mantissa, exp] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const point = 1 + Number(exp);
  let text;
  if (point <= 0) text = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) text = digits + '0'.repeat(point - digits.length);
  else text = digits.slice(0, point) + '.' + digits.slice(point);
  return sign + text;
}

// Rust's `char::is_whitespace` (White_Space): what `str::trim` removes. JavaScript's own
// trim() also removes U+FEFF.
const WHITE = ' \t\n\v\f\r\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006'
  + '\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

/** `str::trim` of Rust. */
export function rustTrim(s) {
  let a = 0, b = s.length;
  while (a < b && WHITE.includes(s[a])) a++;
  while (b > a && WHITE.includes(s[b - 1])) b--;
  return s.slice(a, b);
}

// --- The batch encoding (wit/ENCODING.md) ---------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8enc = new TextEncoder();

/** The rows of an input batch of `width` columns. */
export function decodeBatch(buf, width) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const count = dv.getUint32(0, true);
  let pos = 4;
  const rows = [];
  for (let r = 0; r < count; r++) {
    const row = [];
    for (let c = 0; c < width; c++) {
      const tag = buf[pos++];
      switch (tag) {
        case 0: row.push(null); break;
        case 1: row.push(false); break;
        case 2: row.push(true); break;
        case 3: row.push(dv.getBigInt64(pos, true)); pos += 8; break;
        case 4: row.push(dv.getFloat64(pos, true)); pos += 8; break;
        case 5: {
          const n = dv.getUint32(pos, true);
          pos += 4;
          row.push(utf8.decode(buf.subarray(pos, pos + n)));
          pos += n;
          break;
        }
        default: throw new Error(`bad value tag ${tag} at byte ${pos - 1} of the input batch`);
      }
    }
    rows.push(row);
  }
  return rows;
}

class Writer {
  constructor() { this.buf = new Uint8Array(1 << 16); this.len = 0; }
  reserve(n) {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  u8(v) { this.reserve(1); this.buf[this.len++] = v; }
  u32(v) { this.reserve(4); new DataView(this.buf.buffer).setUint32(this.len, v, true); this.len += 4; }
  bytes(b) { this.reserve(b.length); this.buf.set(b, this.len); this.len += b.length; }
  value(v) {
    if (v === null || v === undefined) this.u8(0);
    else if (v === false) this.u8(1);
    else if (v === true) this.u8(2);
    else if (typeof v === 'bigint') { this.u8(3); this.reserve(8); new DataView(this.buf.buffer).setBigInt64(this.len, v, true); this.len += 8; }
    else if (typeof v === 'number') { this.u8(4); this.reserve(8); new DataView(this.buf.buffer).setFloat64(this.len, v, true); this.len += 8; }
    else if (typeof v === 'string') { const b = utf8enc.encode(v); this.u8(5); this.u32(b.length); this.bytes(b); }
    else throw new TypeError(`a value must be null, a boolean, a BigInt, a number or a string, not ${typeof v}`);
  }
  finish() { return this.buf.slice(0, this.len); }
}

/** Where process() writes the rows (and deletes) of one input record. */
export class Emit {
  constructor(width) { this.width = width; this.entries = []; }
  /** Emits a row: one value per output column. */
  row(values) { this.#entry(0, values); }
  /** Deletes the target table's row with the key these values hold. */
  delete(values) { this.#entry(2, values); }
  #entry(kind, values) {
    if (values.length !== this.width) throw new Error(`${values.length} values for ${this.width} output columns`);
    this.entries.push([kind, values]);
  }
}

let batchNumber = 0;

function runBatch(transform, buf, inWidth, outWidth) {
  batchNumber += 1;
  const out = new Writer();
  decodeBatch(buf, inWidth).forEach((row, i) => {
    const emit = new Emit(outWidth);
    try {
      transform.process(row, emit);
    } catch (e) {
      const message = utf8enc.encode(messageOf(e));
      out.u8(1); out.u32(i); out.u32(message.length); out.bytes(message);
      return;
    }
    for (const [kind, values] of emit.entries) {
      out.u8(kind); out.u32(i);
      for (const v of values) out.value(v);
    }
  });
  return out.finish();
}

function messageOf(e) {
  if (e && typeof e === 'object' && 'payload' in e) return String(e.payload);
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

// --- Host imports -----------------------------------------------------------------------

/** Writes a line to the host's log: 'trace', 'debug', 'info', 'warn' or 'error'. */
export function log(level, message) { hostLog(level, message); }

function fromWitValue(v) {
  switch (v.tag) {
    case 'null': return null;
    case 'boolean': return v.val;
    case 'int': return BigInt(v.val);
    case 'float': return v.val;
    default: return v.val;
  }
}

/** A --lookup table: its columns, and rows by key (each key asked once per batch). */
export class Lookup {
  constructor(table) {
    try {
      this.columns = hostLookupColumns(table).map((c) => ({ name: c.name, type: c.type }));
    } catch (e) {
      throw new Error(messageOf(e));
    }
    this.table = table;
    this.cache = new Map();
    this.batch = -1;
  }

  /** The row whose key column equals key, values in `columns` order; null if none. */
  get(key) {
    if (this.batch !== batchNumber) { this.cache.clear(); this.batch = batchNumber; }
    if (!this.cache.has(key)) {
      let found;
      try {
        found = hostLookup(this.table, key);
      } catch (e) {
        throw new Error(messageOf(e));
      }
      this.cache.set(key, found === undefined || found === null ? null : found.map(fromWitValue));
    }
    return this.cache.get(key);
  }
}

// --- The component's exports --------------------------------------------------------------

/** The exports componentize-js looks for, running `Cls`. */
export function exportTransform(Cls) {
  let transform, inWidth = 0, outWidth = 0;
  return {
    configure(settings) {
      try {
        transform = new Cls(new Config(settings));
      } catch (e) {
        throw messageOf(e);
      }
    },
    outputSchema(input) {
      const columns = input.map((c) => ({ name: c.name, type: c.type }));
      let output;
      try {
        output = transform.outputSchema(columns);
      } catch (e) {
        throw messageOf(e);
      }
      inWidth = columns.length;
      outWidth = output.length;
      return output.map((c) => ({ name: c.name, type: c.type }));
    },
    process(batch) {
      try {
        return runBatch(transform, batch, inWidth, outWidth);
      } catch (e) {
        throw messageOf(e);
      }
    },
  };
}
