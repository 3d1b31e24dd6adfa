import { checkDatabase, translateDbError, type Logger } from '@heartguard/kit';
import type { DataSource } from 'typeorm';
import { orgIdOfBucket } from './bucket-names.js';
import { invalidPoints } from './point-validation.js';
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
import { formatMicros } from './time-values.js';

const S = 'heartguard_core';

/** Field value kinds, fixed per series as InfluxDB fixes a field's type. */
const NUMBER = 0;
const BOOLEAN = 1;
const STRING = 2;
const KIND_NAMES = ['number', 'boolean', 'string'];

function kindOf(value: FieldValue): number {
  return typeof value === 'number' ? NUMBER : typeof value === 'boolean' ? BOOLEAN : STRING;
}

// Instants travel as epoch microseconds (int8), never through a float or a Date.
const FROM_MICROS = (param: string) => `('epoch'::timestamptz + ${param}::int8 * interval '1 microsecond')`;
const TO_MICROS = (expr: string) => `(extract(epoch FROM ${expr}) * 1000000)::int8`;

interface BucketRow {
  name: string;
  org_id: string;
  retention_seconds: string;
  created_at: Date;
}

function toBucket(row: BucketRow): BucketRecord {
  return {
    name: row.name,
    org_id: row.org_id,
    retention_seconds: Number(row.retention_seconds),
    created_at: row.created_at.toISOString(),
  };
}

/** A PostgreSQL array literal of numbers; node-postgres would quote and escape every element. */
function numberArray(values: Float64Array, length: number): string {
  return `{${values.subarray(0, length).join(',')}}`;
}

/** NaN marks "no number in this row" (validation never lets a NaN value through). */
function nullableNumberArray(values: Float64Array, length: number): string {
  const out = new Array<string>(length);
  for (let i = 0; i < length; i++) out[i] = Number.isNaN(values[i]!) ? 'NULL' : String(values[i]);
  return `{${out.join(',')}}`;
}

function booleanArray(values: Array<boolean | null>, length: number): string {
  const out = new Array<string>(length);
  for (let i = 0; i < length; i++) out[i] = values[i] == null ? 'NULL' : values[i] ? 't' : 'f';
  return `{${out.join(',')}}`;
}

function textArray(values: Array<string | null>, length: number): Array<string | null> {
  const out = new Array<string | null>(length);
  for (let i = 0; i < length; i++) out[i] = values[i] ?? null;
  return out;
}

/**
 * The tag set as written, in the point's own key order. Tag keys and values cannot contain
 * \u0001 or \u0002 (name patterns, no control characters in values), so it is unambiguous.
 */
function tagSetKey(tags: Record<string, string>): string {
  let key = '';
  for (const k in tags) key += `${k}\u0001${tags[k]}\u0002`;
  return key;
}

function sortedTagSetKey(tags: Record<string, string>): string {
  let key = '';
  for (const k of Object.keys(tags).sort()) key += `${k}\u0001${tags[k]}\u0002`;
  return key;
}

function tagsJson(tags: Record<string, string>): string {
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(tags).sort()) sorted[k] = tags[k]!;
  return JSON.stringify(sorted);
}

interface SeriesBatch {
  measurements: string[];
  fields: string[];
  tags: string[];
  kinds: number[];
  /** Index of the first point that uses each series (for error details). */
  firstPoint: number[];
}

/** The rows of one batch: one per (point, field), pointing at distinct series by index. */
interface RowBatch {
  series: Int32Array;
  times: Float64Array;
  nums: Float64Array;
  /** Only filled once a batch holds a string or boolean value. */
  txts: Array<string | null>;
  bools: Array<boolean | null>;
  allNumeric: boolean;
  length: number;
}

function prepareBatch(points: readonly TimePoint[]): { series: SeriesBatch; rows: RowBatch } {
  // measurement + tag set -> field -> series index; most points repeat a few tag sets.
  const index = new Map<string, Map<string, number>>();
  const series: SeriesBatch = { measurements: [], fields: [], tags: [], kinds: [], firstPoint: [] };
  let capacity = 0;
  for (const point of points) {
    for (const _ in point.fields) capacity++;
  }
  const rows: RowBatch = {
    series: new Int32Array(capacity),
    times: new Float64Array(capacity),
    nums: new Float64Array(capacity),
    txts: [],
    bools: [],
    allNumeric: true,
    length: 0,
  };
  const lastTime: number[] = [];
  let ordered = true;
  for (let p = 0; p < points.length; p++) {
    const point = points[p]!;
    // Keyed by the tags as written; only an unseen spelling pays for sorting into the canonical
    // key, and every spelling of one tag set shares its series.
    const asWritten = `${point.measurement}\u0000${tagSetKey(point.tags)}`;
    let byField = index.get(asWritten);
    if (!byField) {
      const canonical = `\u0003${point.measurement}\u0000${sortedTagSetKey(point.tags)}`;
      byField = index.get(canonical) ?? new Map<string, number>();
      index.set(canonical, byField);
      index.set(asWritten, byField);
    }
    for (const field in point.fields) {
      const value = point.fields[field]!;
      const kind = kindOf(value);
      let s = byField.get(field);
      if (s === undefined) {
        s = series.measurements.length;
        byField.set(field, s);
        series.measurements.push(point.measurement);
        series.fields.push(field);
        series.tags.push(tagsJson(point.tags));
        series.kinds.push(kind);
        series.firstPoint.push(p);
        lastTime.push(-1);
      } else if (series.kinds[s] !== kind) {
        throw invalidPoints([{ field: `/points/${p}/fields/${field}`, problem: `field type conflict: ${KIND_NAMES[series.kinds[s]!]} earlier in this batch, ${KIND_NAMES[kind]} here` }]);
      }
      // Strictly increasing instants per series cannot repeat one; anything else is checked.
      if (point.timeUs <= lastTime[s]!) ordered = false;
      lastTime[s] = point.timeUs;
      const r = rows.length++;
      rows.series[r] = s;
      rows.times[r] = point.timeUs;
      if (kind === NUMBER) {
        rows.nums[r] = value as number;
      } else {
        rows.nums[r] = Number.NaN;
        rows.allNumeric = false;
        if (kind === STRING) rows.txts[r] = value as string;
        else rows.bools[r] = value as boolean;
      }
    }
  }
  return { series, rows: ordered ? rows : lastWriteWins(rows) };
}

/**
 * A point written twice for the same series and instant replaces the earlier one (InfluxDB's
 * rule). Within a batch that is settled here, so a chunk never holds an instant twice; across
 * batches the query side keeps the newest chunk's value.
 */
function lastWriteWins(rows: RowBatch): RowBatch {
  const keep = new Map<string, number>();
  for (let r = 0; r < rows.length; r++) keep.set(`${rows.series[r]}:${rows.times[r]}`, r);
  if (keep.size === rows.length) return rows;
  const out: RowBatch = {
    series: new Int32Array(keep.size),
    times: new Float64Array(keep.size),
    nums: new Float64Array(keep.size),
    txts: [],
    bools: [],
    allNumeric: rows.allNumeric,
    length: 0,
  };
  for (const r of keep.values()) {
    const o = out.length++;
    out.series[o] = rows.series[r]!;
    out.times[o] = rows.times[r]!;
    out.nums[o] = rows.nums[r]!;
    if (rows.txts[r] !== undefined) out.txts[o] = rows.txts[r]!;
    if (rows.bools[r] !== undefined) out.bools[o] = rows.bools[r]!;
  }
  return out;
}

const LOCK_BUCKET = `SELECT id FROM ${S}.ts_buckets WHERE name = $1 FOR KEY SHARE`;

const RESOLVE_SERIES = `
  WITH input AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::int2[]) WITH ORDINALITY AS i(measurement, field, tags, kind, ord)
  ), found AS (
    SELECT i.ord, s.id, s.kind
    FROM input i
    JOIN ${S}.ts_series s
      ON s.bucket_id = $1 AND s.measurement = i.measurement AND s.field = i.field
     AND md5(s.tags::text) = md5(i.tags::text) AND s.tags = i.tags
  ), created AS (
    INSERT INTO ${S}.ts_series (bucket_id, measurement, field, tags, kind)
    SELECT $1, i.measurement, i.field, i.tags, i.kind
    FROM input i
    WHERE NOT EXISTS (SELECT 1 FROM found f WHERE f.ord = i.ord)
    ORDER BY i.ord
    ON CONFLICT DO NOTHING
    RETURNING id, measurement, field, tags, kind
  )
  SELECT f.ord::int4 AS ord, f.id, f.kind FROM found f
  UNION ALL
  SELECT i.ord::int4, c.id, c.kind
  FROM created c
  JOIN input i ON i.measurement = c.measurement AND i.field = c.field AND i.tags = c.tags`;

// One chunk per series of the batch. Rows name their series by its index in $1 and their time
// as an offset from $7, which keeps the parameters (and their parsing) small. All aggregates of
// one group see the rows in the same order, so times[i] and the value array's [i] stay paired;
// FILTER keeps only the array of the series' kind (every row of a series has that one value).
const INSERT_CHUNKS = `
  INSERT INTO ${S}.ts_chunks (series_id, min_time, max_time, times, nums, txts, bools)
  SELECT ($1::int8[])[u.s + 1], ${FROM_MICROS('min(u.t)')}, ${FROM_MICROS('max(u.t)')}, array_agg(u.t),
         array_agg(u.n) FILTER (WHERE u.n IS NOT NULL),
         array_agg(u.x) FILTER (WHERE u.x IS NOT NULL),
         array_agg(u.b) FILTER (WHERE u.b IS NOT NULL)
  FROM (
    SELECT r.s, $7::int8 + r.d AS t, r.n, r.x, r.b
    FROM unnest($2::int4[], $3::int8[], $4::float8[], $5::text[], $6::bool[]) AS r(s, d, n, x, b)
  ) u
  GROUP BY u.s`;

/**
 * What the chunks in range look like: whether any two of a series overlap in time (then the
 * same instant may be stored twice and the newest must win), and a lower bound of the points
 * inside the range (chunks wholly inside), to refuse oversized raw answers before unnesting.
 */
const CHUNK_SUMMARY = `
  SELECT coalesce(bool_or(prev_max >= min_time), false) AS overlapping,
         coalesce(sum(cardinality(times)) FILTER (WHERE min_time >= ${FROM_MICROS('$2')} AND max_time < ${FROM_MICROS('$3')}), 0)::int8 AS inside
  FROM (
    SELECT min_time, max_time, times,
           max(max_time) OVER (PARTITION BY series_id ORDER BY min_time, seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_max
    FROM ${S}.ts_chunks
    WHERE series_id = ANY($1::int8[]) AND max_time >= ${FROM_MICROS('$2')} AND min_time < ${FROM_MICROS('$3')}
  ) c`;

/** The points of the range: straight from the chunks, or keeping the newest per instant. */
function pointsInRange(overlapping: boolean): string {
  const scan = `
    FROM ${S}.ts_chunks c
    CROSS JOIN LATERAL unnest(c.times, c.nums, c.txts, c.bools) AS u(t, n, x, b)
    WHERE c.series_id = ANY($1::int8[]) AND c.max_time >= ${FROM_MICROS('$2')} AND c.min_time < ${FROM_MICROS('$3')}
      AND u.t >= $2 AND u.t < $3`;
  return overlapping
    ? `(SELECT DISTINCT ON (c.series_id, u.t) c.series_id, u.t, u.n, u.x, u.b ${scan} ORDER BY c.series_id, u.t, c.seq DESC)`
    : `(SELECT c.series_id, u.t, u.n, u.x, u.b ${scan})`;
}

const AGGREGATE_SQL: Record<string, string> = {
  mean: 'avg(p.n)',
  min: 'min(p.n)',
  max: 'max(p.n)',
  sum: 'sum(p.n)',
  count: 'count(*)',
};

/** The slice of node-postgres's client the store uses (named statements are prepared once per connection). */
interface PgClient {
  query(config: { name?: string; text: string; values?: unknown[] }): Promise<{ rows: Array<Record<string, unknown>> }>;
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

function errorCode(err: unknown): string | undefined {
  return (err as { driverError?: { code?: string } })?.driverError?.code ?? (err as { code?: string })?.code;
}

export interface PostgresStoreOptions {
  /** How often expired points are deleted (queries hide them regardless). */
  retentionSweepSeconds?: number;
  logger?: Logger;
}

export interface PostgresTimeseriesStore extends TimeseriesStore {
  /** Deletes chunks whose points are all past their bucket's retention; returns how many went. */
  sweepExpired(): Promise<number>;
}

export function createPostgresStore(db: DataSource, options: PostgresStoreOptions = {}): PostgresTimeseriesStore {
  const { logger } = options;

  /**
   * Runs work on one pooled connection inside BEGIN/COMMIT. The hot paths talk to node-postgres
   * directly: named statements skip planning on every batch, which TypeORM's query() cannot do.
   */
  async function inTransaction<T>(begin: string, work: (client: PgClient) => Promise<T>, retries = 0): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const runner = db.createQueryRunner();
      const client = (await runner.connect()) as PgClient;
      let open = false;
      try {
        await client.query(begin);
        open = true;
        const result = await work(client);
        await client.query('COMMIT');
        open = false;
        return result;
      } catch (err) {
        if (open) await client.query('ROLLBACK').catch(() => undefined);
        // Concurrent batches creating the same new series can deadlock; PostgreSQL aborts one,
        // which is safe to run again because that whole batch rolled back.
        const code = errorCode(err);
        if ((code === '40P01' || code === '40001') && attempt < retries) continue;
        throw err;
      } finally {
        await runner.release();
      }
    }
  }

  async function resolveSeries(client: PgClient, bucketId: number, series: SeriesBatch): Promise<number[]> {
    const ids: number[] = new Array(series.measurements.length);
    let missing = series.measurements.length;
    // A series created by a concurrent, not yet committed batch is neither found nor inserted;
    // the next statement sees it once that batch commits.
    for (let round = 0; round < 3 && missing > 0; round++) {
      const { rows } = (await client.query({
        name: 'ts_resolve_series',
        text: RESOLVE_SERIES,
        values: [bucketId, series.measurements, series.fields, series.tags, series.kinds],
      })) as { rows: Array<{ ord: number; id: string; kind: number }> };
      for (const row of rows) {
        const s = row.ord - 1;
        if (ids[s] !== undefined) continue;
        if (row.kind !== series.kinds[s]) {
          throw invalidPoints([
            {
              field: `/points/${series.firstPoint[s]}/fields/${series.fields[s]}`,
              problem: `field type conflict: the series holds ${KIND_NAMES[row.kind]} values, got ${KIND_NAMES[series.kinds[s]!]}`,
            },
          ]);
        }
        ids[s] = Number(row.id);
        missing--;
      }
    }
    if (missing > 0) throw new Error('Could not resolve series ids for a batch');
    return ids;
  }

  async function bucketRow(name: string): Promise<(BucketRow & { id: number }) | undefined> {
    const rows = (await db.query(`SELECT id, name, org_id, retention_seconds, created_at FROM ${S}.ts_buckets WHERE name = $1`, [name])) as Array<
      BucketRow & { id: number }
    >;
    return rows[0];
  }

  let sweeper: NodeJS.Timeout | undefined;

  const store: PostgresTimeseriesStore = {
    kind: 'postgres',

    async ready() {
      return checkDatabase(db);
    },

    async writePoints(bucket, points) {
      if (points.length === 0) return 0;
      const { series, rows } = prepareBatch(points);
      await inTransaction(
        'BEGIN',
        async (client) => {
          // KEY SHARE: a concurrent bucket delete waits for this batch (and then removes it too).
          const found = (await client.query({ name: 'ts_lock_bucket', text: LOCK_BUCKET, values: [bucket] })) as { rows: Array<{ id: number }> };
          if (found.rows.length === 0) throw TsErrors.bucketNotFound();
          const ids = await resolveSeries(client, found.rows[0]!.id, series);
          let base = Number.POSITIVE_INFINITY;
          for (let r = 0; r < rows.length; r++) if (rows.times[r]! < base) base = rows.times[r]!;
          const offsets = new Float64Array(rows.length);
          for (let r = 0; r < rows.length; r++) offsets[r] = rows.times[r]! - base;
          await client.query({
            name: 'ts_insert_chunks',
            text: INSERT_CHUNKS,
            values: [
              `{${ids.join(',')}}`,
              `{${rows.series.subarray(0, rows.length).join(',')}}`,
              numberArray(offsets, rows.length),
              rows.allNumeric ? numberArray(rows.nums, rows.length) : nullableNumberArray(rows.nums, rows.length),
              rows.allNumeric ? '{}' : textArray(rows.txts, rows.length),
              rows.allNumeric ? '{}' : booleanArray(rows.bools, rows.length),
              base,
            ],
          });
        },
        2,
      );
      return points.length;
    },

    async query(spec: SeriesQuery): Promise<Series[]> {
      const bucket = await bucketRow(spec.bucket);
      if (!bucket) throw TsErrors.bucketNotFound();
      const retention = Number(bucket.retention_seconds);
      // Expired points stay invisible even before the sweep deletes their chunk.
      const startUs = retention > 0 ? Math.max(spec.startUs, Date.now() * 1000 - retention * 1_000_000) : spec.startUs;
      if (startUs >= spec.stopUs) return [];
      const numericOnly = spec.aggregate !== undefined && spec.aggregate.fn !== 'count';
      const seriesRows = (await db.query(
        `SELECT id, field, tags, kind FROM ${S}.ts_series
         WHERE bucket_id = $1 AND measurement = $2 AND ($3::text IS NULL OR field = $3) AND tags @> $4::jsonb
           ${numericOnly ? `AND kind = ${NUMBER}` : ''}`,
        [bucket.id, spec.measurement, spec.field ?? null, JSON.stringify(spec.tags)],
      )) as Array<{ id: string; field: string; tags: Record<string, string>; kind: number }>;
      if (seriesRows.length === 0) return [];
      const byId = new Map<string, { series: Series; kind: number }>();
      for (const row of seriesRows) byId.set(String(row.id), { series: { tags: row.tags, field: row.field, points: [] }, kind: row.kind });
      const ids = `{${seriesRows.map((r) => r.id).join(',')}}`;
      const tooLarge = () => TsErrors.resultTooLarge(`The query matches more than ${spec.limit} points; use an aggregate with a window or a shorter range`);

      // One snapshot for the summary and the points, so both describe the same chunks.
      const rows = await inTransaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (client) => {
        const summary = (await client.query({ name: 'ts_chunk_summary', text: CHUNK_SUMMARY, values: [ids, startUs, spec.stopUs] })).rows[0] as {
          overlapping: boolean;
          inside: string;
        };
        const overlapping = summary.overlapping;
        if (spec.aggregate) {
          // Windows from date_bin (epoch origin); only the first can start before the range, and
          // it is cut there after grouping, as aggregateWindow does.
          return (
            await client.query({
              name: `ts_aggregate_${spec.aggregate.fn}_${overlapping ? 'dedup' : 'plain'}`,
              text: `SELECT g.series_id, ${TO_MICROS(`greatest(g.bin, ${FROM_MICROS('$2')})`)} AS t, g.v
                     FROM (
                       SELECT p.series_id, date_bin($5::interval, ${FROM_MICROS('p.t')}, 'epoch'::timestamptz) AS bin,
                              ${AGGREGATE_SQL[spec.aggregate.fn]} AS v
                       FROM ${pointsInRange(overlapping)} p
                       GROUP BY 1, 2
                     ) g
                     ORDER BY g.series_id, g.bin
                     LIMIT $4`,
              values: [ids, startUs, spec.stopUs, spec.limit + 1, `${spec.aggregate.windowSeconds} seconds`],
            })
          ).rows;
        }
        if (!overlapping && Number(summary.inside) > spec.limit) throw tooLarge();
        return (
          await client.query({
            name: `ts_raw_${overlapping ? 'dedup' : 'plain'}`,
            text: `SELECT p.series_id, p.t, p.n, p.x, p.b FROM ${pointsInRange(overlapping)} p ORDER BY p.series_id, p.t LIMIT $4`,
            values: [ids, startUs, spec.stopUs, spec.limit + 1],
          })
        ).rows;
      });
      if (rows.length > spec.limit) throw tooLarge();
      for (const row of rows as Array<{ series_id: string; t: string; n?: number | null; x?: string | null; b?: boolean | null; v?: number | string }>) {
        const entry = byId.get(String(row.series_id))!;
        let value: FieldValue;
        if (spec.aggregate) value = Number(row.v);
        else value = entry.kind === NUMBER ? row.n! : entry.kind === BOOLEAN ? row.b! : row.x!;
        entry.series.points.push({ time: formatMicros(Number(row.t)), value });
      }
      return sortSeries([...byId.values()].map((e) => e.series).filter((s) => s.points.length > 0));
    },

    async createBucket(name, retentionSeconds) {
      try {
        const rows = (await db.query(
          `INSERT INTO ${S}.ts_buckets (name, org_id, retention_seconds) VALUES ($1, $2, $3)
           RETURNING name, org_id, retention_seconds, created_at`,
          [name, orgIdOfBucket(name), retentionSeconds],
        )) as BucketRow[];
        return toBucket(rows[0]!);
      } catch (err) {
        if (errorCode(err) === '23505') throw TsErrors.bucketExists(undefined, { cause: err });
        throw translateDbError(err);
      }
    },

    async getBucket(name) {
      const row = await bucketRow(name);
      return row ? toBucket(row) : undefined;
    },

    async listBuckets(orgPrefix) {
      const rows = (await db.query(
        `SELECT name, org_id, retention_seconds, created_at FROM ${S}.ts_buckets WHERE starts_with(name, $1) ORDER BY name`,
        [orgPrefix],
      )) as BucketRow[];
      return rows.map(toBucket);
    },

    async deleteBucket(name) {
      return inTransaction('BEGIN', async (client) => {
        // FOR UPDATE waits for in-flight batches (they hold KEY SHARE), so their points go too.
        const found = await client.query(`SELECT id FROM ${S}.ts_buckets WHERE name = $1 FOR UPDATE`, [name]);
        if (found.rows.length === 0) return false;
        const id = found.rows[0]!.id;
        await client.query(`DELETE FROM ${S}.ts_chunks WHERE series_id IN (SELECT id FROM ${S}.ts_series WHERE bucket_id = $1)`, [id]);
        await client.query(`DELETE FROM ${S}.ts_buckets WHERE id = $1`, [id]);
        return true;
      });
    },

    async sweepExpired() {
      // A chunk goes once all of its points have expired; queries hide expired points before that.
      const result = (await db.query(
        `DELETE FROM ${S}.ts_chunks c
         USING ${S}.ts_series s, ${S}.ts_buckets b
         WHERE c.series_id = s.id AND s.bucket_id = b.id AND b.retention_seconds > 0
           AND c.max_time < now() - b.retention_seconds * interval '1 second'`,
      )) as [unknown, number];
      return result[1] ?? 0;
    },

    async close() {
      if (sweeper) clearInterval(sweeper);
      sweeper = undefined;
    },
  };

  if (options.retentionSweepSeconds) {
    sweeper = setInterval(() => {
      store.sweepExpired().then(
        (deleted) => {
          if (deleted > 0) logger?.info({ deleted_chunks: deleted }, 'expired time-series chunks deleted');
        },
        (err: unknown) => logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'retention sweep failed'),
      );
    }, options.retentionSweepSeconds * 1000);
    // The sweep is housekeeping; it must never keep a process (or a test run) alive.
    sweeper.unref();
  }
  return store;
}
