// alias, in JavaScript: the port of ../src/lib.rs with the same settings, the
// same output and the same messages. Settings, applied in this order: rename=old:new,…;
// select=a,b,… (names after renaming); cast=col:type,… (text, int, float, boolean, json).
// A name that matches no column is an error before any data flows; a value that does not
// convert rejects its record. Ints are BigInt, floats are numbers.
import {
  ConfigError, Reject, columnNames, exportTransform, resolveColumn, rustFloat, rustTrim,
} from './holo_transform.js';

const SETTINGS = ['rename', 'select', 'cast'];
const TYPES = ['text', 'int', 'float', 'boolean', 'json'];
const QUOTE_LIMIT = 64;
const I64_MIN = -(2n ** 63n), I64_MAX = 2n ** 63n - 1n;
// What Rust's `str::parse` accepts, and no more.
const INT = /^[+-]?[0-9]+$/;
const FLOAT = /^[+-]?(inf|infinity|nan|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)$/i;
const TRUE = ['true', 't', 'yes', 'y', 'on', '1'];
const FALSE = ['false', 'f', 'no', 'n', 'off', '0'];

class Failed extends Error {}

function quoted(v) {
  if (v === null) return 'null';
  if (typeof v === 'number') return rustFloat(v);
  if (typeof v !== 'string') return String(v);
  const chars = Array.from(v);
  return chars.length <= QUOTE_LIMIT ? v : chars.slice(0, QUOTE_LIMIT).join('') + '…';
}

function parseFloatLikeRust(s) {
  const word = s.replace(/^[+-]/, '').toLowerCase();
  const negative = s.startsWith('-');
  if (word === 'inf' || word === 'infinity') return negative ? -Infinity : Infinity;
  if (word === 'nan') return NaN;
  return Number(s);
}

function cast(v, ty) {
  if (v === null) return null;
  const isBool = typeof v === 'boolean';
  if (ty === 'text' || ty === 'json') {
    if (isBool) return v ? 'true' : 'false';
    if (typeof v === 'bigint') return String(v);
    if (typeof v === 'number') {
      if (ty === 'json' && !Number.isFinite(v)) throw new Failed('is not valid JSON');
      return rustFloat(v);
    }
    if (ty === 'json') {
      try {
        JSON.parse(v);
      } catch {
        throw new Failed('is not valid JSON');
      }
    }
    return v;
  }
  if (ty === 'int') {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= -9.223372036854776e18 && v < 9.223372036854776e18) return BigInt(v);
      throw new Failed('is not an integer');
    }
    if (typeof v === 'string') {
      const s = rustTrim(v);
      if (INT.test(s)) {
        const i = BigInt(s);
        if (i >= I64_MIN && i <= I64_MAX) return i;
      }
    }
    throw new Failed('is not an integer');
  }
  if (ty === 'float') {
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    if (typeof v === 'string') {
      const s = rustTrim(v);
      if (FLOAT.test(s)) return parseFloatLikeRust(s);
    }
    throw new Failed('is not a number');
  }
  // boolean
  if (isBool) return v;
  if (v === 0n || v === 1n) return v === 1n;
  if (typeof v === 'string') {
    const s = rustTrim(v).toLowerCase();
    if (TRUE.includes(s)) return true;
    if (FALSE.includes(s)) return false;
  }
  throw new Failed('is not a boolean');
}

function unique(key, names) {
  const seen = new Set();
  for (const n of names) {
    if (seen.has(n)) throw new ConfigError(`setting \`${key}\`: column \`${n}\` appears twice`);
    seen.add(n);
  }
}

class Alias {
  constructor(config) {
    config.checkKeys(SETTINGS);
    this.rename = config.pairs('rename');
    if (this.rename !== undefined) unique('rename', this.rename.map(([a]) => a));
    this.select = config.list('select');
    if (this.select !== undefined) unique('select', this.select);
    this.cast = (config.pairs('cast') ?? []).map(([name, ty]) => {
      if (!TYPES.includes(ty)) {
        throw new ConfigError(
          `setting \`cast\`: column \`${name}\`: unknown column type \`${ty}\` (types: text, int, float, boolean, json)`,
        );
      }
      return [name, ty];
    });
    unique('cast', this.cast.map(([n]) => n));
    this.plan = [];
  }

  outputSchema(columns) {
    const renamed = columns.map((c) => ({ ...c }));
    for (const [oldName, newName] of this.rename ?? []) {
      const i = resolveColumn('rename', columns, 'input column', oldName);
      renamed[i] = { name: newName, type: renamed[i].type };
    }
    const chosen = this.select === undefined
      ? renamed.map((_, i) => i)
      : this.select.map((n) => resolveColumn('select', renamed, 'column', n));
    const output = chosen.map((i) => ({ ...renamed[i] }));
    if (new Set(output.map((c) => c.name)).size !== output.length) {
      throw new Error(
        `setting \`rename\`: two output columns would have the same name (columns: ${columnNames(output)})`,
      );
    }
    const casts = output.map(() => null);
    for (const [name, ty] of this.cast) {
      const o = resolveColumn('cast', output, 'output column', name);
      casts[o] = ty;
      output[o] = { name: output[o].name, type: ty };
    }
    this.plan = chosen.map((input, o) => [input, output[o].name, casts[o]]);
    return output;
  }

  process(row, emit) {
    const values = this.plan.map(([i, name, ty]) => {
      const v = row[i];
      if (ty === null) return v;
      try {
        return cast(v, ty);
      } catch (e) {
        if (e instanceof Failed) throw new Reject(`column \`${name}\`: \`${quoted(v)}\` ${e.message}`);
        throw e;
      }
    });
    emit.row(values);
  }
}

export const { configure, outputSchema, process } = exportTransform(Alias);
