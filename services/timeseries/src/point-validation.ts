import { describeErrors, type FieldProblem, type SchemaRegistry } from '@heartguard/kit';
import { TsErrors } from './timeseries-errors.js';
import type { FieldValue, TimePoint } from './timeseries-store.js';
import { formatMicros, parseIsoMicros } from './time-values.js';

export const WRITE_REQUEST_SCHEMA = 'timeseries#/definitions/writeRequest';
const MAX_DETAILS = 20;

/** A point as a request carries it: a JSON/XML timestamp string or a line-protocol instant. */
export interface IncomingPoint {
  measurement: string;
  tags?: Record<string, string>;
  fields: Record<string, FieldValue>;
  timestamp?: string;
  timeUs?: number;
}

export interface TimeLimits {
  nowUs: number;
  /** 0 = infinite retention; then only instants before 1970 are refused. */
  retentionSeconds: number;
  maxFutureSeconds: number;
}

export function invalidPoints(details: FieldProblem[], total = details.length): Error {
  const shown = details.slice(0, MAX_DETAILS);
  const more = total > shown.length ? ` (first ${shown.length} of ${total} problems shown)` : '';
  return TsErrors.invalidPoints(`One or more points are invalid; nothing was written${more}`, { details: shown });
}

/** Runs the write-request JSON Schema on points that did not come through validateBody (line protocol). */
export function assertPointShapes(registry: SchemaRegistry, points: IncomingPoint[]): void {
  const validate = registry.validator(WRITE_REQUEST_SCHEMA);
  const shapes = points.map(({ measurement, tags, fields }) => (tags ? { measurement, tags, fields } : { measurement, fields }));
  if (!validate({ points: shapes })) {
    const details = describeErrors(validate.errors);
    throw invalidPoints(details);
  }
}

const XML_NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * XML carries only text, and field values may be of any type, so the schema cannot say which:
 * a field value is a number when it reads as one, a boolean for exactly true/false, else a string.
 */
export function typeXmlFields(points: IncomingPoint[]): void {
  for (const point of points) {
    for (const [key, value] of Object.entries(point.fields)) {
      if (typeof value !== 'string') continue;
      if (XML_NUMBER.test(value) && Number.isFinite(Number(value))) point.fields[key] = Number(value);
      else if (value === 'true' || value === 'false') point.fields[key] = value === 'true';
    }
  }
}

/**
 * Resolves each point's time and checks it against the bucket's retention and the allowed
 * clock skew. One bad point rejects the batch, with its index in `field`.
 */
export function toTimePoints(points: IncomingPoint[], limits: TimeLimits): TimePoint[] {
  const oldestUs = limits.retentionSeconds > 0 ? limits.nowUs - limits.retentionSeconds * 1_000_000 : 0;
  const newestUs = limits.nowUs + limits.maxFutureSeconds * 1_000_000;
  const problems: FieldProblem[] = [];
  let problemCount = 0;
  for (let i = 0; i < points.length; i++) {
    const point = points[i]!;
    let timeUs = point.timeUs;
    if (timeUs === undefined) timeUs = point.timestamp === undefined ? limits.nowUs : parseIsoMicros(point.timestamp);
    let problem: string | undefined;
    if (timeUs === undefined) problem = 'must be an RFC 3339 date-time';
    else if (timeUs < oldestUs) {
      problem = limits.retentionSeconds > 0 ? `is older than the bucket's retention (before ${formatMicros(oldestUs)})` : 'must not be before 1970';
    } else if (timeUs > newestUs) problem = `is too far in the future (after ${formatMicros(newestUs)})`;
    if (problem) {
      problemCount++;
      if (problems.length < MAX_DETAILS) problems.push({ field: `/points/${i}/timestamp`, problem });
      continue;
    }
    // Completed in place: a batch is thousands of points and new objects would all be garbage.
    point.timeUs = timeUs;
    point.tags ??= {};
  }
  if (problemCount > 0) throw invalidPoints(problems, problemCount);
  return points as TimePoint[];
}

/**
 * A series keeps one value type (as in InfluxDB). Stores check this against stored data inside
 * their write; this pass catches a batch that contradicts itself before anything is created.
 */
export function assertConsistentFieldTypes(points: readonly TimePoint[]): void {
  const kinds = new Map<string, string>();
  for (let i = 0; i < points.length; i++) {
    const point = points[i]!;
    const tags = Object.keys(point.tags)
      .sort()
      .map((k) => `${k}\u0001${point.tags[k]}`)
      .join('\u0002');
    for (const [field, value] of Object.entries(point.fields)) {
      const key = `${point.measurement}\u0000${tags}\u0000${field}`;
      const kind = typeof value;
      const seen = kinds.get(key);
      if (seen === undefined) kinds.set(key, kind);
      else if (seen !== kind) {
        throw invalidPoints([{ field: `/points/${i}/fields/${field}`, problem: `field type conflict: ${seen} earlier in this batch, ${kind} here` }]);
      }
    }
  }
}
