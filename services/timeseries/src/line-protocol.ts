import { TsErrors } from './timeseries-errors.js';
import type { FieldValue } from './timeseries-store.js';

/** A point as written in line protocol, before the same validation JSON points get. */
export interface LineProtocolPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  /** Epoch microseconds, or undefined when the line had no timestamp (server time). */
  timeUs: number | undefined;
  line: number;
}

export type Precision = 'ns' | 'us' | 'ms' | 's';
export const PRECISIONS: readonly Precision[] = ['ns', 'us', 'ms', 's'];

const TO_MICROS: Record<Precision, (n: bigint) => bigint> = {
  ns: (n) => n / 1000n,
  us: (n) => n,
  ms: (n) => n * 1000n,
  s: (n) => n * 1_000_000n,
};

const FLOAT = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const INTEGER = /^[-+]?\d+i$/;
const UNSIGNED = /^\d+u$/;
const TIMESTAMP = /^-?\d{1,19}$/;
const TRUE = new Set(['t', 'T', 'true', 'True', 'TRUE']);
const FALSE = new Set(['f', 'F', 'false', 'False', 'FALSE']);

const NEWLINE = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const COMMA = 44;
const EQUALS = 61;
const QUOTE = 34;
const BACKSLASH = 92;
const HASH = 35;

// Assigning these as keys would reach the prototype instead of creating a tag or field.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

class LineError extends Error {
  constructor(readonly line: number, problem: string) {
    super(problem);
  }
}

/**
 * Parses InfluxDB line protocol (v2 write API syntax) with its escaping rules:
 * `\,` `\ ` `\=` in measurement and keys/tag values (any other backslash is literal, as the
 * client's Point class writes it), `\"` `\\` in string fields; `#` comments
 * and blank lines are skipped; numbers (`1.5`, `2i`, `3u`) become doubles, as everywhere in
 * this service. Throws TS_400 naming the first bad line, TS_413 past maxPoints.
 */
export function parseLineProtocol(text: string, precision: Precision, maxPoints: number): LineProtocolPoint[] {
  const points: LineProtocolPoint[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;

  const isBreak = (c: number) => c === NEWLINE || c === CR;
  const skipBlanks = () => {
    while (i < n && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
  };

  // Reads an escaped token up to one of the stop characters; returns it unescaped.
  const readToken = (stops: (c: number) => boolean): string => {
    let out = '';
    let start = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === BACKSLASH && i + 1 < n) {
        const next = text.charCodeAt(i + 1);
        if (next === COMMA || next === SPACE || next === EQUALS) {
          out += text.slice(start, i) + text[i + 1];
          i += 2;
          start = i;
          continue;
        }
      }
      if (stops(c)) break;
      i++;
    }
    return out + text.slice(start, i);
  };

  const readStringField = (): string => {
    i++; // opening quote
    let out = '';
    let start = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === BACKSLASH && i + 1 < n && (text.charCodeAt(i + 1) === QUOTE || text.charCodeAt(i + 1) === BACKSLASH)) {
        out += text.slice(start, i) + text[i + 1];
        i += 2;
        start = i;
        continue;
      }
      if (c === QUOTE) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c === NEWLINE) line++;
      i++;
    }
    throw new LineError(line, 'unterminated string field value');
  };

  const fieldValue = (raw: string, at: number): FieldValue => {
    if (FLOAT.test(raw)) {
      const value = Number(raw);
      if (Number.isFinite(value)) return value;
    } else if (INTEGER.test(raw) || UNSIGNED.test(raw)) {
      return Number(raw.slice(0, -1));
    } else if (TRUE.has(raw)) {
      return true;
    } else if (FALSE.has(raw)) {
      return false;
    }
    throw new LineError(at, `invalid field value "${raw.slice(0, 40)}"`);
  };

  try {
    while (i < n) {
      skipBlanks();
      if (i >= n) break;
      const first = text.charCodeAt(i);
      if (isBreak(first)) {
        if (first === NEWLINE) line++;
        i++;
        continue;
      }
      if (first === HASH) {
        while (i < n && text.charCodeAt(i) !== NEWLINE) i++;
        continue;
      }
      const at = line;
      const measurement = readToken((c) => c === COMMA || c === SPACE || isBreak(c));
      if (measurement === '') throw new LineError(at, 'missing measurement');
      const tags: Record<string, string> = {};
      while (i < n && text.charCodeAt(i) === COMMA) {
        i++;
        const key = readToken((c) => c === EQUALS || c === COMMA || c === SPACE || isBreak(c));
        if (text.charCodeAt(i) !== EQUALS || key === '') throw new LineError(at, 'tag must be key=value');
        i++;
        const value = readToken((c) => c === COMMA || c === SPACE || isBreak(c));
        if (value === '') throw new LineError(at, `tag "${key.slice(0, 64)}" has an empty value`);
        if (FORBIDDEN_KEYS.has(key)) throw new LineError(at, `tag key "${key}" is not allowed`);
        if (Object.hasOwn(tags, key)) throw new LineError(at, `duplicate tag "${key.slice(0, 64)}"`);
        tags[key] = value;
      }
      if (text.charCodeAt(i) !== SPACE) throw new LineError(at, 'missing field set');
      skipBlanks();
      const fields: Record<string, FieldValue> = {};
      for (;;) {
        const key = readToken((c) => c === EQUALS || c === COMMA || c === SPACE || isBreak(c));
        if (text.charCodeAt(i) !== EQUALS || key === '') throw new LineError(at, 'field must be key=value');
        i++;
        let value: FieldValue;
        if (text.charCodeAt(i) === QUOTE) {
          value = readStringField();
        } else {
          const start = i;
          while (i < n) {
            const c = text.charCodeAt(i);
            if (c === COMMA || c === SPACE || c === TAB || isBreak(c)) break;
            i++;
          }
          value = fieldValue(text.slice(start, i), at);
        }
        if (FORBIDDEN_KEYS.has(key)) throw new LineError(at, `field key "${key}" is not allowed`);
        if (Object.hasOwn(fields, key)) throw new LineError(at, `duplicate field "${key.slice(0, 64)}"`);
        fields[key] = value;
        if (text.charCodeAt(i) !== COMMA) break;
        i++;
      }
      skipBlanks();
      let timeUs: number | undefined;
      if (i < n && !isBreak(text.charCodeAt(i))) {
        const start = i;
        while (i < n && !isBreak(text.charCodeAt(i)) && text.charCodeAt(i) !== SPACE && text.charCodeAt(i) !== TAB) i++;
        const raw = text.slice(start, i);
        if (!TIMESTAMP.test(raw)) throw new LineError(at, `invalid timestamp "${raw.slice(0, 40)}"`);
        timeUs = Number(TO_MICROS[precision](BigInt(raw)));
        skipBlanks();
        if (i < n && !isBreak(text.charCodeAt(i))) throw new LineError(at, 'unexpected text after the timestamp');
      }
      if (points.length >= maxPoints) throw TsErrors.batchTooLarge(`At most ${maxPoints} points per batch`);
      points.push({ measurement, tags, fields, timeUs, line: at });
    }
  } catch (err) {
    if (err instanceof LineError) {
      throw TsErrors.malformedLineProtocol(`Line protocol error on line ${err.line}: ${err.message}`, {
        details: [{ field: `/lines/${err.line}`, problem: err.message }],
      });
    }
    throw err;
  }
  return points;
}
