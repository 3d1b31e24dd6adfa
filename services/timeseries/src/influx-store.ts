import { HttpError, InfluxDB, Point, RequestTimedOutError, type WriteApi } from '@influxdata/influxdb-client';
import { BucketsAPI, HealthAPI, OrgsAPI, type Bucket } from '@influxdata/influxdb-client-apis';
import { isAppError } from '@heartguard/kit';
import { orgIdOfBucket } from './bucket-names.js';
import { buildFluxQuery } from './flux-query.js';
import { TsErrors } from './timeseries-errors.js';
import {
  sortSeries,
  type BucketRecord,
  type FieldValue,
  type Series,
  type SeriesQuery,
  type TimePoint,
  type TimeseriesStore,
} from './timeseries-store.js';
import { formatMicros, parseIsoMicros } from './time-values.js';

export interface InfluxStoreOptions {
  url: string;
  token: string;
  /** InfluxDB organization (name) that holds every tenant's buckets. */
  org: string;
  timeoutMs?: number;
}

type Operation = 'write' | 'query' | 'buckets' | 'health';

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT']);

function influxMessage(err: HttpError): string {
  const message = typeof err.json?.message === 'string' ? err.json.message : (err.body ?? err.message);
  // Single line, bounded: it names the caller's own points, never our configuration.
  return String(message).replace(/\s+/g, ' ').slice(0, 300);
}

/**
 * Maps what the InfluxDB client throws to this service's envelopes. A refused token or
 * a server fault is ours, not the caller's, so it becomes a 502, never a 401.
 */
export function mapInfluxError(err: unknown, operation: Operation): unknown {
  if (err instanceof HttpError) {
    const status = err.statusCode;
    if (status === 404) return TsErrors.bucketNotFound(undefined, { cause: err });
    if (status === 401 || status === 403) return TsErrors.backendRejected('The time-series backend refused our credentials', { cause: err });
    if (status === 413) return TsErrors.batchTooLarge('The time-series backend refused the batch as too large', { cause: err });
    if (status === 429 || status === 503) {
      // HttpError keeps a numeric Retry-After header as given, in seconds (an HTTP date reads as 0).
      const retrySeconds = err.retryAfter();
      const headers = retrySeconds > 0 ? { 'Retry-After': String(retrySeconds) } : undefined;
      const make = status === 429 ? TsErrors.backendThrottled : TsErrors.backendUnavailable;
      return make(undefined, { cause: err, ...(headers ? { headers } : {}) });
    }
    if ((status === 400 || status === 422) && operation === 'write') {
      return TsErrors.invalidPoints('The time-series backend rejected the points', {
        cause: err,
        details: [{ field: '/points', problem: influxMessage(err) }],
      });
    }
    if (status === 422 && err.code === 'conflict' && operation === 'buckets') return TsErrors.bucketExists(undefined, { cause: err });
    return TsErrors.backendRejected(undefined, { cause: err });
  }
  if (err instanceof RequestTimedOutError) return TsErrors.backendTimeout(undefined, { cause: err });
  const code = (err as { code?: string })?.code;
  if (code && CONNECTION_ERRORS.has(code)) return TsErrors.backendUnavailable(undefined, { cause: err });
  return err;
}

function isAppErrorWithStatus(err: unknown, status: number): boolean {
  return isAppError(err) && err.status === status;
}

/** The client's Point class does the line-protocol encoding (escaping included). */
export function toInfluxPoint(point: TimePoint): Point {
  const out = new Point(point.measurement);
  for (const key of Object.keys(point.tags).sort()) out.tag(key, point.tags[key]!);
  for (const [key, value] of Object.entries(point.fields)) {
    // Numbers are always doubles: JSON cannot tell 72 from 72.0, and a type flip would be a conflict.
    if (typeof value === 'number') out.floatField(key, value);
    else if (typeof value === 'boolean') out.booleanField(key, value);
    else out.stringField(key, value);
  }
  return out.timestamp(String(point.timeUs));
}

function retentionOf(bucket: Bucket): number {
  const rule = bucket.retentionRules?.find((r) => r.type === 'expire' || r.type === undefined);
  return rule?.everySeconds ?? 0;
}

function toRecord(bucket: Bucket): BucketRecord {
  return {
    name: bucket.name,
    org_id: orgIdOfBucket(bucket.name),
    retention_seconds: retentionOf(bucket),
    created_at: bucket.createdAt ? new Date(bucket.createdAt).toISOString() : new Date(0).toISOString(),
  };
}

const SYSTEM_COLUMNS = new Set(['result', 'table', '_start', '_stop', '_time', '_value', '_field', '_measurement']);

export interface InfluxTimeseriesStore extends TimeseriesStore {
  /** Opens a WriteApi set up for one all-or-nothing request: no background batching or retries. */
  writeApiFor(bucket: string, size: number): WriteApi;
}

export function createInfluxStore(options: InfluxStoreOptions): InfluxTimeseriesStore {
  const influx = new InfluxDB({ url: options.url, token: options.token, timeout: options.timeoutMs ?? 10_000 });
  const buckets = new BucketsAPI(influx);
  const orgs = new OrgsAPI(influx);
  const health = new HealthAPI(influx);
  const queryApi = influx.getQueryApi(options.org);

  let orgIdPromise: Promise<string> | undefined;
  function orgId(): Promise<string> {
    orgIdPromise ??= orgs.getOrgs({ org: options.org }).then((answer) => {
      const id = answer.orgs?.[0]?.id;
      if (!id) throw TsErrors.backendRejected(`InfluxDB organization "${options.org}" does not exist`);
      return id;
    });
    // A failed lookup is retried on the next call instead of being cached forever.
    orgIdPromise.catch(() => {
      orgIdPromise = undefined;
    });
    return orgIdPromise;
  }

  async function findBucket(name: string): Promise<Bucket | undefined> {
    try {
      const answer = await buckets.getBuckets({ orgID: await orgId(), name });
      return answer.buckets?.find((b) => b.name === name);
    } catch (err) {
      const mapped = mapInfluxError(err, 'buckets');
      if (isAppErrorWithStatus(mapped, 404)) return undefined;
      throw mapped;
    }
  }

  const store: InfluxTimeseriesStore = {
    kind: 'influxdb',

    writeApiFor(bucket, size) {
      return influx.getWriteApi(options.org, bucket, 'us', {
        // Larger than the request, so the client never flushes (and swallows errors) on its own.
        batchSize: size + 1,
        maxBatchBytes: Number.MAX_SAFE_INTEGER,
        flushInterval: 0,
        maxRetries: 0,
        // Returning a rejection makes flush() fail with the server's error instead of logging it.
        writeFailed: (error: Error) => Promise.reject(error),
      });
    },

    async ready() {
      const answer = await health.getHealth();
      return answer.status === 'pass' ? 'ok' : { status: 'down', detail: `influxdb: ${answer.message ?? answer.status}` };
    },

    async writePoints(bucket, points) {
      if (points.length === 0) return 0;
      const writeApi = store.writeApiFor(bucket, points.length);
      try {
        writeApi.writePoints(points.map(toInfluxPoint));
        await writeApi.flush();
      } catch (err) {
        throw mapInfluxError(err, 'write');
      } finally {
        writeApi.dispose();
      }
      return points.length;
    },

    async query(spec: SeriesQuery): Promise<Series[]> {
      const bucket = await findBucket(spec.bucket);
      if (!bucket) throw TsErrors.bucketNotFound();
      // InfluxDB drops expired data a whole shard group at a time; hide the remainder exactly.
      const retention = retentionOf(bucket);
      const startUs = retention > 0 ? Math.max(spec.startUs, Date.now() * 1000 - retention * 1_000_000) : spec.startUs;
      if (startUs >= spec.stopUs) return [];
      const text = buildFluxQuery({ ...spec, startUs });
      const tables = new Map<string, Series>();
      let count = 0;
      try {
        for await (const { values, tableMeta } of queryApi.iterateRows(text)) {
          const row = tableMeta.toObject(values);
          const value = row._value as FieldValue | null | undefined;
          if (value === null || value === undefined) continue;
          if (++count > spec.limit) throw TsErrors.resultTooLarge(`The query matches more than ${spec.limit} points; use an aggregate with a window or a shorter range`);
          const tableKey = String(row.table);
          let series = tables.get(tableKey);
          if (!series) {
            const tags: Record<string, string> = {};
            for (const column of tableMeta.columns) {
              if (!SYSTEM_COLUMNS.has(column.label) && !column.label.startsWith('_') && typeof row[column.label] === 'string') {
                tags[column.label] = row[column.label] as string;
              }
            }
            series = { tags, field: String(row._field), points: [] };
            tables.set(tableKey, series);
          }
          const timeUs = parseIsoMicros(String(row._time));
          series.points.push({ time: timeUs === undefined ? String(row._time) : formatMicros(timeUs), value });
        }
      } catch (err) {
        throw mapInfluxError(err, 'query');
      }
      return sortSeries([...tables.values()]);
    },

    async createBucket(name, retentionSeconds) {
      try {
        const created = await buckets.postBuckets({
          body: {
            orgID: await orgId(),
            name,
            retentionRules: retentionSeconds > 0 ? [{ type: 'expire', everySeconds: retentionSeconds }] : [],
          },
        });
        return toRecord(created);
      } catch (err) {
        throw mapInfluxError(err, 'buckets');
      }
    },

    async getBucket(name) {
      const bucket = await findBucket(name);
      return bucket ? toRecord(bucket) : undefined;
    },

    async listBuckets(orgPrefix) {
      const out: BucketRecord[] = [];
      try {
        const orgID = await orgId();
        // The buckets API filters by exact name only; page through the org and keep the prefix.
        for (let after: string | undefined, page = 0; page < 1000; page++) {
          const answer = await buckets.getBuckets({ orgID, limit: 100, ...(after ? { after } : {}) });
          const list = answer.buckets ?? [];
          for (const bucket of list) if (bucket.name.startsWith(orgPrefix)) out.push(toRecord(bucket));
          if (list.length < 100) break;
          after = list[list.length - 1]!.id;
        }
      } catch (err) {
        throw mapInfluxError(err, 'buckets');
      }
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },

    async deleteBucket(name) {
      const bucket = await findBucket(name);
      if (!bucket?.id) return false;
      try {
        await buckets.deleteBucketsID({ bucketID: bucket.id });
        return true;
      } catch (err) {
        const mapped = mapInfluxError(err, 'buckets');
        if (isAppErrorWithStatus(mapped, 404)) return false;
        throw mapped;
      }
    },

    async close() {
      // The client holds no pooled resources beyond Node's global agent.
    },
  };
  return store;
}
