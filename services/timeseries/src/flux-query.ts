import { flux, fluxDateTime, fluxDuration, fluxExpression, fluxInteger, type ParameterizedQuery } from '@influxdata/influxdb-client';
import { BUCKET_NAME_PATTERN } from './bucket-names.js';
import { isName, isTagKey } from './name-rules.js';
import { formatMicros, DURATION_PATTERN } from './time-values.js';
import type { Aggregate, SeriesQuery } from './timeseries-store.js';

export class UnsafeQueryError extends Error {
  constructor(part: string) {
    super(`Refusing to build Flux: ${part} is not in its allowed form`);
    this.name = 'UnsafeQueryError';
  }
}

// Flux function names come from this table only; the request's string never reaches the query.
const AGGREGATE_FUNCTIONS: Record<Aggregate, ParameterizedQuery> = {
  mean: flux`${fluxExpression('mean')}`,
  min: flux`${fluxExpression('min')}`,
  max: flux`${fluxExpression('max')}`,
  sum: flux`${fluxExpression('sum')}`,
  count: flux`${fluxExpression('count')}`,
};

/**
 * Builds the Flux text for a series query. Every variable part goes through the client's
 * `flux` template helpers (string, date-time, duration and integer literals, escaped), and
 * every part with structure of its own (names, windows, the function) is checked against a
 * strict pattern first, so no input can add, remove or reorder pipeline stages.
 */
export function buildFluxQuery(spec: SeriesQuery): string {
  if (!BUCKET_NAME_PATTERN.test(spec.bucket)) throw new UnsafeQueryError('bucket');
  if (!isName(spec.measurement)) throw new UnsafeQueryError('measurement');
  if (spec.field !== undefined && !isName(spec.field)) throw new UnsafeQueryError('field');
  if (!Number.isSafeInteger(spec.startUs) || !Number.isSafeInteger(spec.stopUs) || spec.startUs < 0 || spec.stopUs <= spec.startUs) {
    throw new UnsafeQueryError('range');
  }
  if (!Number.isSafeInteger(spec.limit) || spec.limit < 1) throw new UnsafeQueryError('limit');

  let query = flux`from(bucket: ${spec.bucket})
  |> range(start: ${fluxDateTime(formatMicros(spec.startUs))}, stop: ${fluxDateTime(formatMicros(spec.stopUs))})
  |> filter(fn: (r) => r._measurement == ${spec.measurement})`;
  if (spec.field !== undefined) {
    query = flux`${query}
  |> filter(fn: (r) => r._field == ${spec.field})`;
  }
  for (const key of Object.keys(spec.tags).sort()) {
    if (!isTagKey(key)) throw new UnsafeQueryError('tag key');
    const value = spec.tags[key];
    if (typeof value !== 'string') throw new UnsafeQueryError('tag value');
    query = flux`${query}
  |> filter(fn: (r) => r[${key}] == ${value})`;
  }
  if (spec.aggregate) {
    const fn = AGGREGATE_FUNCTIONS[spec.aggregate.fn];
    if (!fn || !Object.hasOwn(AGGREGATE_FUNCTIONS, spec.aggregate.fn)) throw new UnsafeQueryError('aggregate');
    if (!DURATION_PATTERN.test(spec.aggregate.window)) throw new UnsafeQueryError('window');
    // Window start as the point's time, like date_bin in the PostgreSQL store.
    query = flux`${query}
  |> aggregateWindow(every: ${fluxDuration(spec.aggregate.window)}, fn: ${fn}, timeSrc: "_start", createEmpty: false)`;
  }
  // One past the limit per table, so an oversized answer is detected without streaming it all.
  query = flux`${query}
  |> limit(n: ${fluxInteger(spec.limit + 1)})`;
  return query.toString();
}
