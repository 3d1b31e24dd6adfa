import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '@heartguard/kit';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInfluxStore } from '../src/influx-store.js';
import { createPostgresStore, type PostgresTimeseriesStore } from '../src/postgres-store.js';
import { TsErrors } from '../src/timeseries-errors.js';
import type { SeriesQuery, TimePoint, TimeseriesStore } from '../src/timeseries-store.js';
import { formatMicros } from '../src/time-values.js';
import { openDatabase } from './support.js';

/**
 * One contract, every backend. The PostgreSQL store runs it against the real server; the
 * InfluxDB store runs it only when a real InfluxDB 2 is named by TEST_INFLUX_URL/TOKEN/ORG
 * (none can run on this machine). What is verified of the InfluxDB store without one is
 * below the contract: its write path against VictoriaMetrics, which speaks the v2 write API.
 */
interface Harness {
  store: TimeseriesStore;
  /** InfluxDB applies a batch partially on a field-type conflict; the PostgreSQL store does not. */
  atomicTypeConflicts: boolean;
}

const MINUTE_US = 60_000_000;
const HOUR_US = 60 * MINUTE_US;

function newBucket(suffix?: string): string {
  return `org_${randomUUID()}${suffix ? `_${suffix}` : ''}`;
}

/** A whole hour, three hours back, so windows align and every point is inside retention. */
function baseHour(): number {
  const now = Date.now() * 1000;
  return Math.floor((now - 3 * HOUR_US) / HOUR_US) * HOUR_US;
}

function point(timeUs: number, fields: TimePoint['fields'], tags: Record<string, string> = { user_id: 'u1' }, measurement = 'heart_rate'): TimePoint {
  return { measurement, tags, fields, timeUs };
}

function query(bucket: string, startUs: number, stopUs: number, extra: Partial<SeriesQuery> = {}): SeriesQuery {
  return { bucket, measurement: 'heart_rate', startUs, stopUs, tags: {}, limit: 10_000, ...extra };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

function defineContract(name: string, open: () => Promise<Harness>, close: () => Promise<void>): void {
  describe(`${name}: the TimeseriesStore contract`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(close);

    it('when a bucket is created, then it can be read and listed by its org prefix, and a second create is TS_409', async () => {
      const org = randomUUID();
      const created = await h.store.createBucket(`org_${org}_vitals`, 7 * 86_400);
      expect(created).toMatchObject({ name: `org_${org}_vitals`, org_id: org, retention_seconds: 604_800 });
      expect(Date.now() - Date.parse(created.created_at)).toBeLessThan(60_000);
      await h.store.createBucket(`org_${org}`, 0);
      await h.store.createBucket(`org_${randomUUID()}`, 3600);
      expect(await h.store.getBucket(`org_${org}_vitals`)).toEqual(created);
      expect((await h.store.listBuckets(`org_${org}`)).map((b) => [b.name, b.retention_seconds])).toEqual([
        [`org_${org}`, 0],
        [`org_${org}_vitals`, 604_800],
      ]);
      expect(hasCode(await rejection(h.store.createBucket(`org_${org}_vitals`, 3600)), TsErrors.bucketExists)).toBe(true);
    });

    it('when points with number, boolean and string fields are written, then a raw query returns one series per field and tag set, typed', async () => {
      const bucket = newBucket();
      await h.store.createBucket(bucket, 0);
      const t0 = baseHour();
      const inserted = await h.store.writePoints(bucket, [
        point(t0 + 1_000_000, { bpm: 61.5, rest: true, note: 'calm "really"' }),
        point(t0 + 2_000_123, { bpm: 62 }),
        point(t0 + 1_000_000, { bpm: 90 }, { user_id: 'u2', device: 'watch' }),
        point(t0 + 1_000_000, { bpm: 999 }, { user_id: 'u1' }, 'other_measurement'),
      ]);
      expect(inserted).toBe(4);
      const series = await h.store.query(query(bucket, t0, t0 + HOUR_US));
      // Series come ordered by field, then by tag set (its sorted key/value pairs).
      expect(series).toEqual([
        { tags: { device: 'watch', user_id: 'u2' }, field: 'bpm', points: [{ time: formatMicros(t0 + 1_000_000), value: 90 }] },
        {
          tags: { user_id: 'u1' },
          field: 'bpm',
          points: [
            { time: formatMicros(t0 + 1_000_000), value: 61.5 },
            { time: formatMicros(t0 + 2_000_123), value: 62 },
          ],
        },
        { tags: { user_id: 'u1' }, field: 'note', points: [{ time: formatMicros(t0 + 1_000_000), value: 'calm "really"' }] },
        { tags: { user_id: 'u1' }, field: 'rest', points: [{ time: formatMicros(t0 + 1_000_000), value: true }] },
      ]);
    });

    it('when a field or tags are given, then only matching series come back (tags match by containment)', async () => {
      const bucket = newBucket();
      await h.store.createBucket(bucket, 0);
      const t0 = baseHour();
      await h.store.writePoints(bucket, [
        point(t0, { bpm: 1, spo2: 97 }, { user_id: 'u1', device: 'd1' }),
        point(t0, { bpm: 2 }, { user_id: 'u2', device: 'd1' }),
        point(t0, { bpm: 3 }, { user_id: 'u3', device: 'd2' }),
      ]);
      const values = async (extra: Partial<SeriesQuery>) =>
        (await h.store.query(query(bucket, t0, t0 + HOUR_US, extra))).map((s) => `${s.field}:${s.points[0]!.value}`);
      expect(await values({ field: 'bpm' })).toEqual(['bpm:1', 'bpm:2', 'bpm:3']);
      expect(await values({ field: 'bpm', tags: { device: 'd1' } })).toEqual(['bpm:1', 'bpm:2']);
      expect(await values({ tags: { device: 'd1', user_id: 'u1' } })).toEqual(['bpm:1', 'spo2:97']);
      expect(await values({ tags: { user_id: 'nobody' } })).toEqual([]);
      expect(await values({ field: 'missing' })).toEqual([]);
    });

    describe('aggregates by window', () => {
      let bucket: string;
      let t0: number;
      beforeAll(async () => {
        bucket = newBucket();
        await h.store.createBucket(bucket, 0);
        t0 = baseHour();
        // Minute 0: 10, 20 · minute 1: 30, 40 · minute 2: 60 — and another user at 0:10.
        await h.store.writePoints(bucket, [
          point(t0, { bpm: 10 }),
          point(t0 + 30_000_000, { bpm: 20 }),
          point(t0 + 60_000_000, { bpm: 30 }),
          point(t0 + 90_000_000, { bpm: 40 }),
          point(t0 + 150_000_000, { bpm: 60 }),
          point(t0 + 10_000_000, { bpm: 100 }, { user_id: 'u2' }),
        ]);
      });

      const expected: Record<string, number[]> = {
        mean: [15, 35, 60],
        min: [10, 30, 60],
        max: [20, 40, 60],
        sum: [30, 70, 60],
        count: [2, 2, 1],
      };
      for (const [fn, values] of Object.entries(expected)) {
        it(`when ${fn} is asked per 1m window, then each window holds the ${fn} of its points, at the window start`, async () => {
          const series = await h.store.query(
            query(bucket, t0, t0 + 3 * MINUTE_US, { field: 'bpm', tags: { user_id: 'u1' }, aggregate: { fn: fn as never, window: '1m', windowSeconds: 60 } }),
          );
          expect(series).toEqual([
            {
              tags: { user_id: 'u1' },
              field: 'bpm',
              points: values.map((value, i) => ({ time: formatMicros(t0 + i * MINUTE_US), value })),
            },
          ]);
        });
      }

      it('when the range starts inside a window, then that window is cut at the range start (as aggregateWindow does)', async () => {
        const series = await h.store.query(
          query(bucket, t0 + 15_000_000, t0 + 2 * MINUTE_US, { field: 'bpm', aggregate: { fn: 'sum', window: '1m', windowSeconds: 60 } }),
        );
        // u2's only point (0:10) lies before the range start, so u2 has no series at all.
        expect(series).toEqual([
          {
            tags: { user_id: 'u1' },
            field: 'bpm',
            points: [
              { time: formatMicros(t0 + 15_000_000), value: 20 },
              { time: formatMicros(t0 + MINUTE_US), value: 70 },
            ],
          },
        ]);
      });

      it('when an hour window covers everything, then one value per series remains', async () => {
        const series = await h.store.query(query(bucket, t0, t0 + HOUR_US, { field: 'bpm', aggregate: { fn: 'mean', window: '1h', windowSeconds: 3600 } }));
        expect(series.map((s) => [s.tags.user_id, s.points.map((p) => p.value)])).toEqual([
          ['u1', [32]],
          ['u2', [100]],
        ]);
      });
    });

    it('when the same series and instant are written again, then the last value wins (in one batch and across batches)', async () => {
      const bucket = newBucket();
      await h.store.createBucket(bucket, 0);
      const t0 = baseHour();
      await h.store.writePoints(bucket, [point(t0, { bpm: 1 }), point(t0 + 1_000_000, { bpm: 2 }), point(t0, { bpm: 3 })]);
      await h.store.writePoints(bucket, [point(t0 + 1_000_000, { bpm: 20 }), point(t0 + 500_000, { bpm: 5 })]);
      const raw = await h.store.query(query(bucket, t0, t0 + HOUR_US));
      expect(raw[0]!.points.map((p) => p.value)).toEqual([3, 5, 20]);
      const counted = await h.store.query(query(bucket, t0, t0 + HOUR_US, { field: 'bpm', aggregate: { fn: 'count', window: '1h', windowSeconds: 3600 } }));
      expect(counted[0]!.points[0]!.value).toBe(3);
    });

    it('when batches interleave in time without repeating instants, then every point is returned once, in time order', async () => {
      const bucket = newBucket();
      await h.store.createBucket(bucket, 0);
      const t0 = baseHour();
      await h.store.writePoints(bucket, [0, 2, 4, 6].map((i) => point(t0 + i * 1_000_000, { bpm: i })));
      await h.store.writePoints(bucket, [1, 3, 5].map((i) => point(t0 + i * 1_000_000, { bpm: i })));
      const raw = await h.store.query(query(bucket, t0, t0 + HOUR_US));
      expect(raw[0]!.points.map((p) => p.value)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    });

    it('when a query would return more points than its limit, then it is refused with TS_425 rather than truncated', async () => {
      const bucket = newBucket();
      await h.store.createBucket(bucket, 0);
      const t0 = baseHour();
      await h.store.writePoints(bucket, Array.from({ length: 30 }, (_, i) => point(t0 + i * 1_000_000, { bpm: i })));
      expect(hasCode(await rejection(h.store.query(query(bucket, t0, t0 + HOUR_US, { limit: 20 }))), TsErrors.resultTooLarge)).toBe(true);
      const windows = query(bucket, t0, t0 + HOUR_US, { limit: 20, field: 'bpm', aggregate: { fn: 'max', window: '1s', windowSeconds: 1 } });
      expect(hasCode(await rejection(h.store.query(windows)), TsErrors.resultTooLarge)).toBe(true);
      expect((await h.store.query({ ...windows, aggregate: { fn: 'max', window: '10s', windowSeconds: 10 } }))[0]!.points.map((p) => p.value)).toEqual([9, 19, 29]);
    });

    it('when points are older than the bucket retention, then queries do not see them', async () => {
      const bucket = newBucket();
      await h.store.createBucket(bucket, 3600);
      const now = Date.now() * 1000;
      await h.store.writePoints(bucket, [point(now - 2 * HOUR_US, { bpm: 1 })]);
      await h.store.writePoints(bucket, [point(now - 10 * MINUTE_US, { bpm: 2 })]);
      const series = await h.store.query(query(bucket, now - 3 * HOUR_US, now));
      expect(series.map((s) => s.points.map((p) => p.value))).toEqual([[2]]);
      const counted = await h.store.query(query(bucket, now - 3 * HOUR_US, now, { field: 'bpm', aggregate: { fn: 'count', window: '1d', windowSeconds: 86_400 } }));
      expect(counted[0]!.points.map((p) => p.value)).toEqual([1]);
    });

    it('when a batch conflicts with a stored field type, then it is refused with TS_422 naming the point', async () => {
      const bucket = newBucket();
      await h.store.createBucket(bucket, 0);
      const t0 = baseHour();
      await h.store.writePoints(bucket, [point(t0, { bpm: 60 })]);
      const err = (await rejection(h.store.writePoints(bucket, [point(t0 + 1_000_000, { spo2: 98 }), point(t0 + 2_000_000, { bpm: 'high' })]))) as {
        code: string;
        details: Array<{ field: string }>;
      };
      expect(err.code).toBe('TS_422');
      if (h.atomicTypeConflicts) {
        expect(err.details[0]!.field).toBe('/points/1/fields/bpm');
        // All or nothing: the valid spo2 point of that batch was not stored either.
        expect((await h.store.query(query(bucket, t0, t0 + HOUR_US))).map((s) => s.field)).toEqual(['bpm']);
      }
    });

    it('when a bucket is deleted, then its points go with it and the name no longer resolves (TS_404)', async () => {
      const bucket = newBucket('tmp');
      await h.store.createBucket(bucket, 0);
      const t0 = baseHour();
      await h.store.writePoints(bucket, [point(t0, { bpm: 1 })]);
      expect(await h.store.deleteBucket(bucket)).toBe(true);
      expect(await h.store.getBucket(bucket)).toBeUndefined();
      expect(await h.store.deleteBucket(bucket)).toBe(false);
      expect(hasCode(await rejection(h.store.writePoints(bucket, [point(t0, { bpm: 1 })])), TsErrors.bucketNotFound)).toBe(true);
      expect(hasCode(await rejection(h.store.query(query(bucket, t0, t0 + HOUR_US))), TsErrors.bucketNotFound)).toBe(true);
      await h.store.createBucket(bucket, 0);
      expect(await h.store.query(query(bucket, t0, t0 + HOUR_US))).toEqual([]);
    });

    it('when several batches create the same new series at once, then all succeed and each point is stored once', async () => {
      const bucket = newBucket();
      await h.store.createBucket(bucket, 0);
      const t0 = baseHour();
      const batches = Array.from({ length: 4 }, (_, b) =>
        Array.from({ length: 200 }, (_, i) => point(t0 + (b * 200 + i) * 1000, { bpm: b, spo2: i }, { user_id: `u${i % 20}` })),
      );
      expect(await Promise.all(batches.map((batch) => h.store.writePoints(bucket, batch)))).toEqual([200, 200, 200, 200]);
      const series = await h.store.query(query(bucket, t0, t0 + HOUR_US, { field: 'bpm', aggregate: { fn: 'count', window: '1h', windowSeconds: 3600 } }));
      expect(series).toHaveLength(20);
      expect(series.every((s) => s.points[0]!.value === 40)).toBe(true);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: the whole contract, plus what only this store has (the retention sweep).

let db: DataSource;
let pgStore: PostgresTimeseriesStore;

defineContract(
  'PostgresStore',
  async () => {
    db = await openDatabase();
    pgStore = createPostgresStore(db);
    return { store: pgStore, atomicTypeConflicts: true };
  },
  async () => {
    await pgStore?.close();
    await db?.destroy();
  },
);

describe('PostgresStore storage', () => {
  let own: DataSource;
  let store: PostgresTimeseriesStore;
  beforeAll(async () => {
    own = await openDatabase();
    store = createPostgresStore(own);
  });
  afterAll(async () => {
    await store?.close();
    await own?.destroy();
  });

  it('when a batch is written, then it becomes one chunk per series, holding every instant and value', async () => {
    const bucket = newBucket();
    await store.createBucket(bucket, 0);
    const t0 = baseHour();
    await store.writePoints(bucket, [point(t0, { bpm: 1, note: 'a' }), point(t0 + 5, { bpm: 2, note: 'b' }), point(t0, { bpm: 3 }, { user_id: 'u2' })]);
    const rows = (await own.query(
      `SELECT s.field, s.tags, c.times, c.nums, c.txts, c.bools
       FROM heartguard_core.ts_chunks c JOIN heartguard_core.ts_series s ON s.id = c.series_id
       JOIN heartguard_core.ts_buckets b ON b.id = s.bucket_id WHERE b.name = $1 ORDER BY s.field, s.tags::text`,
      [bucket],
    )) as Array<{ field: string; tags: object; times: string[]; nums: number[] | null; txts: string[] | null; bools: boolean[] | null }>;
    expect(rows.map((r) => ({ ...r, times: r.times.map(Number) }))).toEqual([
      { field: 'bpm', tags: { user_id: 'u1' }, times: [t0, t0 + 5], nums: [1, 2], txts: null, bools: null },
      { field: 'bpm', tags: { user_id: 'u2' }, times: [t0], nums: [3], txts: null, bools: null },
      { field: 'note', tags: { user_id: 'u1' }, times: [t0, t0 + 5], nums: null, txts: ['a', 'b'], bools: null },
    ]);
  });

  it('when the retention sweep runs, then chunks whose points all expired are deleted and fresh ones stay', async () => {
    const bucket = newBucket();
    await store.createBucket(bucket, 3600);
    const now = Date.now() * 1000;
    await store.writePoints(bucket, [point(now - 3 * HOUR_US, { bpm: 1 }), point(now - 2 * HOUR_US, { bpm: 2 })]);
    await store.writePoints(bucket, [point(now - 5 * MINUTE_US, { bpm: 3 })]);
    expect(await store.sweepExpired()).toBeGreaterThanOrEqual(1);
    const left = (await own.query(
      `SELECT c.nums FROM heartguard_core.ts_chunks c JOIN heartguard_core.ts_series s ON s.id = c.series_id
       JOIN heartguard_core.ts_buckets b ON b.id = s.bucket_id WHERE b.name = $1`,
      [bucket],
    )) as Array<{ nums: number[] }>;
    expect(left).toEqual([{ nums: [3] }]);
  });
});

// ---------------------------------------------------------------------------------------------
// InfluxDB 2: the same contract when a real server is configured; none runs on this machine.

const influxEnv = {
  url: process.env.TEST_INFLUX_URL,
  token: process.env.TEST_INFLUX_TOKEN,
  org: process.env.TEST_INFLUX_ORG,
};
if (influxEnv.url && influxEnv.token && influxEnv.org) {
  defineContract(
    'InfluxStore (TEST_INFLUX_URL)',
    async () => ({ store: createInfluxStore({ url: influxEnv.url!, token: influxEnv.token!, org: influxEnv.org! }), atomicTypeConflicts: false }),
    async () => undefined,
  );
} else {
  describe.skip('InfluxStore contract — skipped: no InfluxDB 2 on this machine; set TEST_INFLUX_URL, TEST_INFLUX_TOKEN and TEST_INFLUX_ORG to run it', () => {
    it('runs the TimeseriesStore contract against InfluxDB 2', () => undefined);
  });
}

// ---------------------------------------------------------------------------------------------
// InfluxStore's write path against a real server of the InfluxDB v2 write API.

const VM_BINARY = 'victoria-metrics';
const haveVictoriaMetrics = spawnSync('sh', ['-c', `command -v ${VM_BINARY}`]).status === 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Exported {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

describe.skipIf(!haveVictoriaMetrics)(
  `InfluxStore write path against VictoriaMetrics (/api/v2/write)${haveVictoriaMetrics ? '' : ' — skipped: victoria-metrics is not installed (apt-get install victoria-metrics)'}`,
  () => {
    let vm: ChildProcess | undefined;
    let dataDir: string;
    let url: string;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'hg-vm-'));
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      vm = spawn(VM_BINARY, [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dataDir}`, '-retentionPeriod=100y', '-loggerLevel=ERROR'], {
        stdio: 'ignore',
      });
      const deadline = Date.now() + 15_000;
      for (;;) {
        const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error('victoria-metrics did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    });

    afterAll(async () => {
      if (vm && vm.exitCode === null) {
        const exited = new Promise((r) => vm!.once('exit', r));
        vm.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** VictoriaMetrics makes new series searchable within a second or two; poll its export API. */
    async function exported(match: string, expectedSeries: number): Promise<Exported[]> {
      const deadline = Date.now() + 15_000;
      for (;;) {
        // Moves freshly ingested rows from memory into searchable parts.
        await fetch(`${url}/internal/force_flush`).catch(() => undefined);
        const res = await fetch(`${url}/api/v1/export`, { method: 'POST', body: new URLSearchParams({ 'match[]': match }) });
        const lines = (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Exported);
        if (lines.length >= expectedSeries || Date.now() > deadline) return lines;
        await new Promise((r) => setTimeout(r, 200));
      }
    }

    it('when points are written through InfluxStore, then the server holds every value at its timestamp with its tags', async () => {
      const store = createInfluxStore({ url, token: 'not-checked-by-victoria-metrics', org: 'heartguard' });
      const measurement = `hg_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const now = Date.now() * 1000;
      const written = await store.writePoints(newBucket(), [
        point(now - 3_000_123, { bpm: 61.5, rest: true }, { user_id: 'u 1', device: 'watch,2' }, measurement),
        point(now - 2_000_000, { bpm: 62, rest: false }, { user_id: 'u 1', device: 'watch,2' }, measurement),
        point(now - 1_000_000, { bpm: 90 }, { user_id: 'u2' }, measurement),
      ]);
      expect(written).toBe(3);
      const series = await exported(`{__name__=~"${measurement}_.*"}`, 3);
      const byKey = Object.fromEntries(
        series.map((s) => [`${s.metric.__name__}|${s.metric.user_id}|${s.metric.device ?? ''}`, s.values.map((v, i) => [s.timestamps[i], v])]),
      );
      const ms = (us: number) => Math.floor(us / 1000);
      expect(byKey).toEqual({
        [`${measurement}_bpm|u 1|watch,2`]: [
          [ms(now - 3_000_123), 61.5],
          [ms(now - 2_000_000), 62],
        ],
        [`${measurement}_rest|u 1|watch,2`]: [
          [ms(now - 3_000_123), 1],
          [ms(now - 2_000_000), 0],
        ],
        [`${measurement}_bpm|u2|`]: [[ms(now - 1_000_000), 90]],
      });
    });

    it('when a 10,000-point batch is written, then all of it arrives', async () => {
      const store = createInfluxStore({ url, token: 'x', org: 'heartguard' });
      const measurement = `hg_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const start = Date.now() * 1000 - 30 * MINUTE_US;
      const points = Array.from({ length: 10_000 }, (_, i) => point(start + i * 1000, { v: i }, { user_id: `u${i % 10}` }, measurement));
      expect(await store.writePoints(newBucket(), points)).toBe(10_000);
      let total = 0;
      for (let attempt = 0; attempt < 50 && total < 10_000; attempt++) {
        total = (await exported(`{__name__="${measurement}_v"}`, 10)).reduce((sum, s) => sum + s.values.length, 0);
        if (total < 10_000) await new Promise((r) => setTimeout(r, 200));
      }
      expect(total).toBe(10_000);
    });
  },
);
