import type { FieldProblem } from '@heartguard/kit';
import { resolveOwnBucket } from './bucket-names.js';
import { TsErrors } from './timeseries-errors.js';
import type { TimeseriesMetrics } from './timeseries-metrics.js';
import type { Aggregate, Series, SeriesQuery, TimeseriesStore } from './timeseries-store.js';
import { formatMicros, nowMicros, parseDurationSeconds, parseTimeBound } from './time-values.js';

export interface QueryDeps {
  store: TimeseriesStore;
  metrics: TimeseriesMetrics;
  maxQueryRangeSeconds: number;
  maxQueryPoints: number;
}

/** The body of POST /timeseries/query after schema validation. */
export interface QueryRequest {
  bucket?: string;
  measurement: string;
  field?: string;
  range_start: string;
  range_stop: string;
  aggregate?: Aggregate;
  window?: string;
  tags?: Record<string, string>;
}

export interface QueryResult {
  bucket: string;
  measurement: string;
  range_start: string;
  range_stop: string;
  aggregate?: Aggregate;
  window?: string;
  series: Series[];
}

function humanSeconds(seconds: number): string {
  return seconds % 86_400 === 0 ? `${seconds / 86_400}d` : seconds % 3600 === 0 ? `${seconds / 3600}h` : `${seconds}s`;
}

/** Turns a request into a bounded store query, or explains every problem with it at once. */
export function toSeriesQuery(request: QueryRequest, bucket: string, nowUs: number, limits: Pick<QueryDeps, 'maxQueryRangeSeconds' | 'maxQueryPoints'>): SeriesQuery {
  const problems: FieldProblem[] = [];
  const startUs = parseTimeBound(request.range_start, nowUs);
  const stopUs = parseTimeBound(request.range_stop, nowUs);
  const boundForm = 'must be an RFC 3339 date-time, "now" or a relative offset such as -1h';
  if (startUs === undefined) problems.push({ field: '/range_start', problem: boundForm });
  if (stopUs === undefined) problems.push({ field: '/range_stop', problem: boundForm });
  if (startUs !== undefined && stopUs !== undefined) {
    if (startUs < 0) problems.push({ field: '/range_start', problem: 'must not be before 1970' });
    if (stopUs <= startUs) problems.push({ field: '/range_stop', problem: 'must be after range_start' });
    else if (stopUs - startUs > limits.maxQueryRangeSeconds * 1_000_000) {
      problems.push({ field: '/range_start', problem: `the range may span at most ${humanSeconds(limits.maxQueryRangeSeconds)}` });
    }
  }
  let windowSeconds: number | undefined;
  if (request.window !== undefined) {
    windowSeconds = parseDurationSeconds(request.window);
    if (windowSeconds === undefined) problems.push({ field: '/window', problem: 'must be a duration such as 1m, 5m or 1h' });
  }
  if (request.aggregate && request.window === undefined) problems.push({ field: '/window', problem: 'is required with aggregate' });
  if (request.window !== undefined && !request.aggregate) problems.push({ field: '/aggregate', problem: 'is required with window' });
  if (request.aggregate && request.field === undefined) problems.push({ field: '/field', problem: 'is required with aggregate' });
  if (problems.length > 0) throw TsErrors.invalidQuery(undefined, { details: problems });
  return {
    bucket,
    measurement: request.measurement,
    ...(request.field !== undefined ? { field: request.field } : {}),
    startUs: startUs!,
    stopUs: stopUs!,
    tags: request.tags ?? {},
    ...(request.aggregate ? { aggregate: { fn: request.aggregate, window: request.window!, windowSeconds: windowSeconds! } } : {}),
    limit: limits.maxQueryPoints,
  };
}

export async function querySeries(deps: QueryDeps, orgId: string, request: QueryRequest): Promise<QueryResult> {
  const bucket = resolveOwnBucket(orgId, request.bucket);
  const spec = toSeriesQuery(request, bucket, nowMicros(), deps);
  const aggregate = spec.aggregate?.fn ?? 'none';
  const stopTimer = deps.metrics.queryLatency.startTimer({ aggregate });
  let series: Series[];
  try {
    series = await deps.store.query(spec);
    deps.metrics.queries.inc({ aggregate, outcome: 'ok' });
  } catch (err) {
    deps.metrics.queries.inc({ aggregate, outcome: 'error' });
    throw err;
  } finally {
    stopTimer();
  }
  return {
    bucket,
    measurement: spec.measurement,
    range_start: formatMicros(spec.startUs),
    range_stop: formatMicros(spec.stopUs),
    ...(spec.aggregate ? { aggregate: spec.aggregate.fn, window: spec.aggregate.window } : {}),
    series,
  };
}
