import { Errors, isAppError, validateBody, type Platform, type SchemaRegistry } from '@heartguard/kit';
import type { RequestHandler } from 'express';
import { parseLineProtocol, PRECISIONS, type Precision } from './line-protocol.js';
import { assertPointShapes, invalidPoints, WRITE_REQUEST_SCHEMA, type IncomingPoint } from './point-validation.js';
import { TsErrors } from './timeseries-errors.js';

/**
 * Reading a write request in any of its three forms (JSON, XML, line protocol) into points that
 * passed the same schema, with the batch limit applied before any schema work.
 */

/** Counts points before the schema runs, so an oversized batch costs no validation work. */
export function limitBatch(maxPoints: number): RequestHandler {
  return (req, _res, next) => {
    if (req.bodyFormat === 'text') return next();
    const points = (req.body as { points?: unknown } | undefined)?.points;
    let count = 0;
    if (Array.isArray(points)) count = points.length;
    else if (points && typeof points === 'object') {
      for (const inner of Object.values(points)) count += Array.isArray(inner) ? inner.length : 1;
    }
    if (count > maxPoints) throw TsErrors.batchTooLarge(`At most ${maxPoints} points per batch, got ${count}`);
    next();
  };
}

/** Schema validation for JSON/XML writes, reporting at most a screenful of problems. */
export function validateWriteBody(platform: Platform): RequestHandler {
  const validate = validateBody(platform.schemas, WRITE_REQUEST_SCHEMA);
  return (req, res, next) => {
    if (req.bodyFormat === 'text') return next();
    let valid = false;
    try {
      validate(req, res, () => {
        valid = true;
      });
    } catch (err) {
      if (isAppError(err) && err.status === 422) throw invalidPoints(err.details ?? [], err.details?.length);
      throw err;
    }
    if (valid) next();
  };
}

export function singleQueryValue(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw Errors.badQuery(`Query parameter ${name} must be given once`);
  return value;
}

/** Points from line protocol get the JSON schema too; their problems also name the line. */
export function readLinePoints(schemas: SchemaRegistry, text: string, precision: Precision, maxPoints: number): IncomingPoint[] {
  const parsed = parseLineProtocol(text, precision, maxPoints);
  if (parsed.length === 0) throw TsErrors.malformedLineProtocol('The body holds no points');
  try {
    assertPointShapes(schemas, parsed);
  } catch (err) {
    if (!isAppError(err) || !err.details) throw err;
    const details = err.details.map((d) => {
      const index = /^\/points\/(\d+)/.exec(d.field)?.[1];
      const line = index === undefined ? undefined : parsed[Number(index)]?.line;
      return line === undefined ? d : { field: d.field, problem: `${d.problem} (line ${line})` };
    });
    throw invalidPoints(details);
  }
  return parsed.map(({ measurement, tags, fields, timeUs }) => ({ measurement, tags, fields, ...(timeUs !== undefined ? { timeUs } : {}) }));
}

/** The line-protocol options of a write: ?precision= (default ns). */
export function precisionOf(value: unknown): Precision {
  const precision = singleQueryValue(value, 'precision') ?? 'ns';
  if (!PRECISIONS.includes(precision as Precision)) throw Errors.badQuery('precision must be one of ns, us, ms, s');
  return precision as Precision;
}
