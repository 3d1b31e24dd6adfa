import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { assertMatchesSchema, assertValidXml, http, mintAccessToken } from '@heartguard/kit/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFluxQuery } from '../src/flux-query.js';
import { createInfluxStore, toInfluxPoint, type InfluxTimeseriesStore } from '../src/influx-store.js';
import type { SeriesQuery, TimePoint } from '../src/timeseries-store.js';
import { formatMicros } from '../src/time-values.js';
import { annotatedCsv, startFakeInflux, type FakeInflux } from './fake-influx.js';
import { startTimeseries, type TestService } from './support.js';

const TOKEN = 'influx-token-for-tests';
let fake: FakeInflux;
let store: InfluxTimeseriesStore;

beforeAll(async () => {
  fake = await startFakeInflux();
  store = createInfluxStore({ url: fake.url, token: TOKEN, org: 'heartguard', timeoutMs: 1000 });
});

afterAll(async () => {
  await fake?.close();
});

afterEach(() => {
  fake.requests.length = 0;
  fake.writeAnswers.length = 0;
  fake.queryAnswers.length = 0;
  fake.createAnswers.length = 0;
});

const NOW_US = Date.now() * 1000;

function points(n: number): TimePoint[] {
  return Array.from({ length: n }, (_, i) => ({
    measurement: 'heart_rate',
    tags: { user_id: `u${i % 3}` },
    fields: { bpm: 60 + i },
    timeUs: NOW_US - (n - i) * 1000,
  }));
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; status: number; headers?: Record<string, string>; details?: unknown[] }> {
  try {
    await promise;
  } catch (err) {
    return err as never;
  }
  throw new Error('expected a rejection');
}

function writes() {
  return fake.requests.filter((r) => r.path === '/api/v2/write');
}

describe('InfluxStore write path (client WriteApi, explicit flush)', () => {
  it('when a batch is written, then it goes out as one request with our token, org, bucket and microsecond precision', async () => {
    const batch = points(2500);
    expect(await store.writePoints('org_x', batch)).toBe(2500);
    expect(writes()).toHaveLength(1);
    const [request] = writes();
    expect(request!.headers.authorization).toBe(`Token ${TOKEN}`);
    expect(Object.fromEntries(request!.query)).toEqual({ org: 'heartguard', bucket: 'org_x', precision: 'us' });
    const lines = request!.body.split('\n');
    expect(lines).toHaveLength(2500);
    expect(lines[0]).toBe(toInfluxPoint(batch[0]!).toLineProtocol({ convertTime: (t) => String(t) }));
    expect(lines[0]).toBe(`heart_rate,user_id=u0 bpm=60 ${batch[0]!.timeUs}`);
  });

  const mappings: Array<[string, { status: number; body?: string; headers?: Record<string, string> }, { status: number; code: string; retryAfter?: string }]> = [
    ['401 (token refused)', { status: 401, body: '{"code":"unauthorized","message":"unauthorized access"}' }, { status: 502, code: 'TS_502' }],
    ['403', { status: 403, body: '{"code":"forbidden","message":"insufficient permissions"}' }, { status: 502, code: 'TS_502' }],
    ['404 (bucket gone)', { status: 404, body: '{"code":"not found","message":"bucket \\"org_x\\" not found"}' }, { status: 404, code: 'TS_404' }],
    ['413', { status: 413, body: '{"code":"request too large","message":"too large"}' }, { status: 413, code: 'TS_413' }],
    ['422 (partial write)', { status: 422, body: '{"code":"unprocessable entity","message":"partial write: field type conflict dropped=1"}' }, { status: 422, code: 'TS_422' }],
    ['400 (line protocol refused)', { status: 400, body: '{"code":"invalid","message":"unable to parse"}' }, { status: 422, code: 'TS_422' }],
    ['429 with Retry-After', { status: 429, body: '{"code":"too many requests"}', headers: { 'retry-after': '7' } }, { status: 429, code: 'TS_429', retryAfter: '7' }],
    ['500', { status: 500, body: '{"code":"internal error","message":"boom"}' }, { status: 502, code: 'TS_502' }],
    ['503 with Retry-After', { status: 503, body: '{"code":"unavailable"}', headers: { 'retry-after': '3' } }, { status: 503, code: 'TS_503', retryAfter: '3' }],
  ];
  for (const [what, scripted, expected] of mappings) {
    it(`when InfluxDB answers ${what}, then the store throws ${expected.code} (${expected.status}) after exactly one attempt`, async () => {
      fake.writeAnswers.push(scripted);
      const err = await rejection(store.writePoints('org_x', points(3)));
      expect({ status: err.status, code: err.code, retryAfter: err.headers?.['Retry-After'] }).toEqual({ ...expected, retryAfter: expected.retryAfter });
      expect(writes()).toHaveLength(1);
    });
  }

  it('when InfluxDB rejects points, then the envelope carries its one-line reason and nothing of our configuration', async () => {
    fake.writeAnswers.push({ status: 422, body: '{"code":"unprocessable entity","message":"partial write:\\nfield type conflict: input field \\"bpm\\" is type string, already exists as type float dropped=1"}' });
    const err = await rejection(store.writePoints('org_x', points(1)));
    expect(err.details).toEqual([{ field: '/points', problem: 'partial write: field type conflict: input field "bpm" is type string, already exists as type float dropped=1' }]);
  });

  it('when InfluxDB does not answer in time, then the store throws TS_504', async () => {
    fake.writeAnswers.push({ status: 204, hang: true });
    const err = await rejection(store.writePoints('org_x', points(1)));
    expect([err.status, err.code]).toEqual([504, 'TS_504']);
  });

  it('when nothing listens at INFLUX_URL, then the store throws TS_503', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
      });
    });
    const closed = createInfluxStore({ url: `http://127.0.0.1:${port}`, token: TOKEN, org: 'heartguard', timeoutMs: 1000 });
    const err = await rejection(closed.writePoints('org_x', points(1)));
    expect([err.status, err.code]).toEqual([503, 'TS_503']);
  });
});

describe('InfluxStore queries (Flux out, annotated CSV in)', () => {
  const org = randomUUID();
  const bucket = `org_${org}`;
  const t0 = Math.floor(NOW_US / 3_600_000_000) * 3_600_000_000 - 3_600_000_000;
  const spec: SeriesQuery = { bucket, measurement: 'heart_rate', field: 'bpm', startUs: t0, stopUs: t0 + 3_600_000_000, tags: { user_id: 'u1' }, limit: 3 };

  beforeAll(async () => {
    await store.createBucket(bucket, 0);
  });

  it('when a query runs, then InfluxDB receives exactly the text buildFluxQuery makes, and tables become series', async () => {
    fake.queryAnswers.push({
      status: 200,
      body: annotatedCsv([
        // InfluxDB writes nanoseconds; they come back at our microsecond resolution.
        { table: 0, time: formatMicros(t0 + 1_500_000).replace('.500Z', '.500000789Z'), value: 72.5, field: 'bpm', tags: { user_id: 'u1', device: 'w' } },
        { table: 0, time: formatMicros(t0 + 2_000_000), value: 73, field: 'bpm', tags: { user_id: 'u1', device: 'w' } },
        { table: 1, time: formatMicros(t0 + 1_000_000), value: 90, field: 'bpm', tags: { user_id: 'u1', device: 'a' } },
      ]),
    });
    const series = await store.query(spec);
    const sent = fake.requests.find((r) => r.path === '/api/v2/query')!;
    expect(sent.query.get('org')).toBe('heartguard');
    expect((JSON.parse(sent.body) as { query: string }).query).toBe(buildFluxQuery(spec));
    expect(series).toEqual([
      { tags: { device: 'a', user_id: 'u1' }, field: 'bpm', points: [{ time: formatMicros(t0 + 1_000_000), value: 90 }] },
      {
        tags: { device: 'w', user_id: 'u1' },
        field: 'bpm',
        points: [
          { time: formatMicros(t0 + 1_500_000), value: 72.5 },
          { time: formatMicros(t0 + 2_000_000), value: 73 },
        ],
      },
    ]);
  });

  it('when InfluxDB returns more rows than the limit, then the store refuses with TS_425', async () => {
    fake.queryAnswers.push({
      status: 200,
      body: annotatedCsv([0, 1, 2, 3].map((i) => ({ table: 0, time: formatMicros(t0 + i * 1_000_000), value: i, field: 'bpm', tags: { user_id: 'u1' } }))),
    });
    expect((await rejection(store.query(spec))).code).toBe('TS_425');
  });

  it('when the bucket has a retention, then the Flux range starts no earlier than now minus retention', async () => {
    const short = `org_${org}_short`;
    await store.createBucket(short, 3600);
    await store.query({ ...spec, bucket: short, startUs: NOW_US - 3 * 3_600_000_000, stopUs: Date.now() * 1000 });
    const sent = JSON.parse(fake.requests.filter((r) => r.path === '/api/v2/query').at(-1)!.body) as { query: string };
    const start = /range\(start: time\(v: "([^"]+)"\)/.exec(sent.query)![1]!;
    expect(Math.abs(Date.parse(start) - (Date.now() - 3_600_000))).toBeLessThan(5000);
  });

  it('when the bucket does not exist, then the store answers TS_404 without sending Flux', async () => {
    expect((await rejection(store.query({ ...spec, bucket: `org_${randomUUID()}` }))).code).toBe('TS_404');
    expect(fake.requests.some((r) => r.path === '/api/v2/query')).toBe(false);
  });

  it('when InfluxDB refuses the Flux, then it is our fault: TS_502', async () => {
    fake.queryAnswers.push({ status: 400, body: '{"code":"invalid","message":"compilation failed"}', headers: { 'content-type': 'application/json' } });
    expect((await rejection(store.query(spec))).code).toBe('TS_502');
  });
});

describe('InfluxStore buckets (client BucketsAPI and OrgsAPI)', () => {
  it('when a bucket is created, then it is posted under the org id with its retention rule, and a duplicate is TS_409', async () => {
    const org = randomUUID();
    const created = await store.createBucket(`org_${org}_vitals`, 86_400);
    expect(created).toMatchObject({ name: `org_${org}_vitals`, org_id: org, retention_seconds: 86_400 });
    const posted = JSON.parse(fake.requests.find((r) => r.method === 'POST' && r.path === '/api/v2/buckets')!.body) as Record<string, unknown>;
    expect(posted).toEqual({ orgID: '0a1b2c3d4e5f6071', name: `org_${org}_vitals`, retentionRules: [{ type: 'expire', everySeconds: 86_400 }] });
    expect((await rejection(store.createBucket(`org_${org}_vitals`, 86_400))).code).toBe('TS_409');
    const infinite = await store.createBucket(`org_${org}`, 0);
    expect(infinite.retention_seconds).toBe(0);
  });

  it('when buckets are listed, then every page is read and only the org prefix is kept', async () => {
    const org = randomUUID();
    for (let i = 0; i < 120; i++) await store.createBucket(`org_${randomUUID()}`, 3600);
    await store.createBucket(`org_${org}_a`, 3600);
    await store.createBucket(`org_${org}_b`, 7200);
    const listed = await store.listBuckets(`org_${org}`);
    expect(listed.map((b) => b.name)).toEqual([`org_${org}_a`, `org_${org}_b`]);
    expect(fake.requests.filter((r) => r.method === 'GET' && r.path === '/api/v2/buckets').length).toBeGreaterThan(1);
  });

  it('when a bucket is deleted, then it is found by name and deleted by id; a missing one gives false', async () => {
    const name = `org_${randomUUID()}_gone`;
    await store.createBucket(name, 3600);
    expect(await store.deleteBucket(name)).toBe(true);
    expect(await store.getBucket(name)).toBeUndefined();
    expect(await store.deleteBucket(name)).toBe(false);
  });

  it('when /health passes, then the store is ready; when it fails, readiness says why', async () => {
    expect(await store.ready()).toBe('ok');
    fake.health = { status: 503, body: JSON.stringify({ name: 'influxdb', status: 'fail', message: 'starting' }) };
    await expect(store.ready()).rejects.toBeDefined();
    fake.health = { status: 200, body: JSON.stringify({ name: 'influxdb', status: 'pass' }) };
  });
});

describe('the service on the InfluxDB store (INFLUX_URL set, no DATABASE_URL)', () => {
  let service: TestService;
  const org = randomUUID();
  const admin = mintAccessToken({ role: 'admin', org_id: org });

  beforeAll(async () => {
    service = await startTimeseries({ INFLUX_URL: fake.url, INFLUX_TOKEN: TOKEN, INFLUX_ORG: 'heartguard', INFLUX_TIMEOUT_MS: '1000', DATABASE_URL: '' });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('when ready is asked, then it reports the influxdb check', async () => {
    const res = await http(`${service.url}/timeseries/ready`);
    expect(res.status).toBe(200);
    expect(res.json<{ status: string; checks: unknown[] }>().status).toBe('ready');
    expect(res.json<{ checks: unknown[] }>().checks).toContainEqual({ name: 'influxdb', status: 'ok' });
  });

  it('when a JSON batch is written, then the default bucket is created in InfluxDB and the points are sent as line protocol', async () => {
    const res = await http(`${service.url}/timeseries/write`, {
      token: admin,
      body: { points: [{ measurement: 'heart_rate', tags: { user_id: 'u1' }, fields: { bpm: 72 }, timestamp: new Date(Date.now() - 1000).toISOString() }] },
    });
    expect(res.status).toBe(200);
    assertMatchesSchema('timeseries#/definitions/writeResult', res.json());
    expect([...fake.buckets.values()].some((b) => b.name === `org_${org}`)).toBe(true);
    expect(writes().at(-1)!.body).toMatch(/^heart_rate,user_id=u1 bpm=72 \d{16}$/);
  });

  it('when InfluxDB throttles a write, then the client gets 429 TS_429 with Retry-After, in JSON and XML', async () => {
    const body = { points: [{ measurement: 'heart_rate', fields: { bpm: 72 } }] };
    fake.writeAnswers.push({ status: 429, body: '{"code":"too many requests"}', headers: { 'retry-after': '9' } });
    const res = await http(`${service.url}/timeseries/write`, { token: admin, body });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('9');
    assertMatchesSchema('error', res.json());
    expect(res.json<{ error: { code: string } }>().error.code).toBe('TS_429');
    fake.writeAnswers.push({ status: 500, body: '{"code":"internal error","message":"secret internals"}' });
    const xml = await http(`${service.url}/timeseries/write`, { token: admin, body, headers: { accept: 'application/xml' } });
    expect(xml.status).toBe(502);
    assertValidXml('error.xsd', xml.text);
    expect(xml.text).toContain('<code>TS_502</code>');
    expect(xml.text).not.toContain('secret internals');
  });
});
