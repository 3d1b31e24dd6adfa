import { randomUUID } from 'node:crypto';
import { assertMatchesSchema, assertValidXml, http, mintAccessToken } from '@heartguard/kit/testing';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoAgo, metricValue, newTenant, openDatabase, serviceToken, startTimeseries, type Tenant, type TestService } from './support.js';

let svc: TestService;
/** Tight limits: 5 points per batch, 20 points per answer. */
let small: TestService;
let db: DataSource;

beforeAll(async () => {
  [svc, small, db] = await Promise.all([startTimeseries(), startTimeseries({ TS_MAX_BATCH_POINTS: '5', TS_MAX_QUERY_POINTS: '20' }), openDatabase()]);
});

afterAll(async () => {
  await Promise.all([svc?.stop(), small?.stop()]);
  await db?.destroy();
});

const XML = { accept: 'application/xml', 'content-type': 'application/xml' };
const LP = { 'content-type': 'text/plain; charset=utf-8' };

interface ErrorBody {
  error: { code: string; message: string; details?: Array<{ field: string; problem: string }> };
}
interface QueryBody {
  series: Array<{ tags: Record<string, string>; field: string; points: Array<{ time: string; value: unknown }> }>;
}

async function storedPoints(bucket: string): Promise<number> {
  const [row] = (await db.query(
    `SELECT coalesce(sum(cardinality(c.times)), 0)::int AS n
     FROM heartguard_core.ts_chunks c JOIN heartguard_core.ts_series s ON s.id = c.series_id
     JOIN heartguard_core.ts_buckets b ON b.id = s.bucket_id WHERE b.name = $1`,
    [bucket],
  )) as Array<{ n: number }>;
  return row!.n;
}

async function bucketExists(bucket: string): Promise<boolean> {
  return ((await db.query('SELECT 1 FROM heartguard_core.ts_buckets WHERE name = $1', [bucket])) as unknown[]).length === 1;
}

function write(token: string, body: unknown, on = svc) {
  return http(`${on.url}/timeseries/write`, { token, body });
}

function query(token: string, body: Record<string, unknown>, headers: Record<string, string> = {}, on = svc) {
  return http(`${on.url}/timeseries/query`, { token, body, headers });
}

function hr(value: number, msAgo: number, tags: Record<string, string> = { user_id: 'u1' }) {
  return { measurement: 'heart_rate', tags, fields: { bpm: value }, timestamp: isoAgo(msAgo) };
}

describe('POST /timeseries/write', () => {
  it('when a JSON batch is written, then it reports the count, stores every point in the default bucket and counts them in metrics', async () => {
    const t = newTenant();
    const before = await metricValue(svc.url, 'timeseries_points_written_total', 'store="postgres"');
    const res = await write(t.user, { points: [hr(70, 3000), hr(71, 2000), hr(72, 1000, { user_id: 'u2' })] });
    expect(res.status).toBe(200);
    assertMatchesSchema('timeseries#/definitions/writeResult', res.json());
    expect(res.json()).toEqual({ success: true, inserted: 3, bucket: t.bucket });
    expect(await storedPoints(t.bucket)).toBe(3);
    expect(await metricValue(svc.url, 'timeseries_points_written_total', 'store="postgres"')).toBeGreaterThanOrEqual(before + 3);
    const [bucket] = (await db.query('SELECT org_id::text, retention_seconds FROM heartguard_core.ts_buckets WHERE name = $1', [t.bucket])) as Array<Record<string, unknown>>;
    expect(bucket).toEqual({ org_id: t.org, retention_seconds: '2592000' });
  });

  it('when an XML batch is written, then XML answers (XSD-valid) and field text becomes numbers, booleans or strings', async () => {
    const t = newTenant();
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
      <WriteRequest><bucket/><points>
        <point><measurement>heart_rate</measurement><tags><user_id>1</user_id></tags>
          <fields><bpm>72</bpm><rest>true</rest><note>ok &amp; calm</note><code>007x</code></fields><timestamp>${isoAgo(2000)}</timestamp></point>
        <point><measurement>heart_rate</measurement><tags><user_id>1</user_id></tags><fields><bpm>-7.5e1</bpm></fields><timestamp/></point>
      </points></WriteRequest>`;
    const res = await http(`${svc.url}/timeseries/write`, { token: t.user, raw: xml, headers: XML });
    expect(res.status).toBe(200);
    assertValidXml('timeseries.xsd', res.text);
    expect(res.text).toContain('<WriteResult><success>true</success><inserted>2</inserted>');
    const series = (await query(t.user, { measurement: 'heart_rate', range_start: '-1h', range_stop: 'now' })).json<QueryBody>().series;
    expect(Object.fromEntries(series.map((s) => [s.field, s.points.map((p) => p.value)]))).toEqual({
      bpm: [72, -75],
      code: ['007x'],
      note: ['ok & calm'],
      rest: [true],
    });
  });

  it('when line protocol is posted, then its points land in the named bucket with the given precision', async () => {
    const t = newTenant();
    await http(`${svc.url}/timeseries/buckets`, { token: t.admin, body: { name: 'lp', retention: '7d' } });
    const ms = Date.now() - 5000;
    const body = `# from a device\nheart_rate,user_id=u\\ 1 bpm=61i,rest=f ${ms}\nheart_rate,user_id=u\\ 1 bpm=62 ${ms + 1000}\n`;
    const res = await http(`${svc.url}/timeseries/write?bucket=${t.bucket}_lp&precision=ms`, { token: t.user, raw: body, headers: LP });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ success: true, inserted: 2, bucket: `${t.bucket}_lp` });
    const series = (await query(t.user, { bucket: `${t.bucket}_lp`, measurement: 'heart_rate', field: 'bpm', range_start: '-1h', range_stop: 'now' })).json<QueryBody>()
      .series;
    expect(series).toEqual([
      {
        tags: { user_id: 'u 1' },
        field: 'bpm',
        points: [
          { time: new Date(ms).toISOString(), value: 61 },
          { time: new Date(ms + 1000).toISOString(), value: 62 },
        ],
      },
    ]);
  });

  it('when line protocol is malformed, then 400 TS_400 names the line and nothing is stored', async () => {
    const t = newTenant();
    const res = await http(`${svc.url}/timeseries/write`, { token: t.user, raw: 'm v=1\nm v=oops\n', headers: LP });
    expect(res.status).toBe(400);
    assertMatchesSchema('error', res.json());
    expect(res.json<ErrorBody>().error).toMatchObject({ code: 'TS_400', details: [{ field: '/lines/2' }] });
    expect(await bucketExists(t.bucket)).toBe(false);
  });

  it('when a line-protocol point breaks a rule, then 422 TS_422 gives its index and line', async () => {
    const t = newTenant();
    const res = await http(`${svc.url}/timeseries/write`, { token: t.user, raw: 'ok v=1\n\nbad,xmltag=1 v=1\n', headers: LP });
    expect(res.status).toBe(422);
    const detail = res.json<ErrorBody>().error.details![0]!;
    expect(detail.field).toBe('/points/1/tags');
    expect(detail.problem).toContain('(line 3)');
    expect(await bucketExists(t.bucket)).toBe(false);
  });

  it.each([
    ['JSON', () => ({ body: { points: Array.from({ length: 6 }, (_, i) => hr(i, 1000 + i)) } })],
    [
      'XML',
      () => ({
        raw: `<WriteRequest><points>${'<point><measurement>m</measurement><fields><v>1</v></fields></point>'.repeat(6)}</points></WriteRequest>`,
        headers: XML,
      }),
    ],
    ['line protocol', () => ({ raw: 'm v=1\n'.repeat(6), headers: LP })],
  ])('when a %s batch exceeds TS_MAX_BATCH_POINTS, then 413 TS_413 and nothing is stored', async (_format, request) => {
    const t = newTenant();
    const res = await http(`${small.url}/timeseries/write`, { token: t.user, ...request() });
    expect(res.status).toBe(413);
    expect(res.text).toContain('TS_413');
    expect(await bucketExists(t.bucket)).toBe(false);
  });

  it('when one point of a batch is invalid, then 422 TS_422 points at it and none of the batch is stored', async () => {
    const t = newTenant();
    await write(t.user, { points: [hr(1, 5000)] });
    const cases: Array<[unknown, string]> = [
      [{ ...hr(1, 0), timestamp: new Date(Date.now() + 2 * 3_600_000).toISOString() }, '/points/3/timestamp'],
      [{ ...hr(1, 0), timestamp: '2025-02-30T00:00:00Z' }, '/points/3/timestamp'],
      [{ ...hr(1, 0), timestamp: new Date(Date.now() - 40 * 86_400_000).toISOString() }, '/points/3/timestamp'],
      [{ ...hr(1, 0), measurement: 'bad name' }, '/points/3/measurement'],
      [{ ...hr(1, 0), fields: {} }, '/points/3/fields'],
      [{ ...hr(1, 0), fields: { note: 'x'.repeat(1025) } }, '/points/3/fields/note'],
      [{ ...hr(1, 0), tags: { user_id: 'a\nb' } }, '/points/3/tags/user_id'],
      [{ ...hr(1, 0), tags: { time: 'x' } }, '/points/3/tags'],
      [{ ...hr(1, 0), fields: { bpm: 'high' } }, '/points/3/fields/bpm'],
    ];
    for (const [bad, field] of cases) {
      const res = await write(t.user, { points: [hr(2, 4000), hr(3, 3000), hr(4, 2000), bad] });
      expect(res.status, JSON.stringify(bad)).toBe(422);
      assertMatchesSchema('error', res.json());
      expect(res.json<ErrorBody>().error.code).toBe('TS_422');
      expect(res.json<ErrorBody>().error.details!.map((d) => d.field)).toContain(field);
    }
    expect(await storedPoints(t.bucket)).toBe(1);
  });

  it('when the first batch of an org contradicts its own field types, then it is refused and no bucket is created', async () => {
    const t = newTenant();
    const res = await write(t.user, { points: [hr(1, 2000), { ...hr(1, 1000), fields: { bpm: true } }] });
    expect(res.status).toBe(422);
    expect(res.json<ErrorBody>().error.details![0]!.field).toBe('/points/1/fields/bpm');
    expect(await bucketExists(t.bucket)).toBe(false);
  });

  it('when a point is older than a named bucket retention, then it is refused', async () => {
    const t = newTenant();
    expect((await http(`${svc.url}/timeseries/buckets`, { token: t.admin, body: { name: 'short', retention: '1h' } })).status).toBe(201);
    const res = await write(t.user, { bucket: `${t.bucket}_short`, points: [hr(1, 2 * 3_600_000)] });
    expect(res.status).toBe(422);
    expect(res.json<ErrorBody>().error.details![0]).toMatchObject({ field: '/points/0/timestamp' });
    expect(res.json<ErrorBody>().error.details![0]!.problem).toContain('retention');
  });

  it('when bodies are hostile or mistyped, then the kit envelopes answer and nothing is stored', async () => {
    const t = newTenant();
    const proto = await http(`${svc.url}/timeseries/write`, {
      token: t.user,
      raw: '{"points":[{"measurement":"m","fields":{"__proto__":{"polluted":1}}}]}',
      headers: { 'content-type': 'application/json' },
    });
    expect([proto.status, proto.json<ErrorBody>().error.code]).toEqual([400, 'REQ_402']);
    const malformed = await http(`${svc.url}/timeseries/write`, { token: t.user, raw: '{"points":[', headers: { 'content-type': 'application/json' } });
    expect([malformed.status, malformed.json<ErrorBody>().error.code]).toEqual([400, 'REQ_400']);
    const wrongType = await http(`${svc.url}/timeseries/write`, { token: t.user, raw: 'x', headers: { 'content-type': 'text/csv' } });
    expect(wrongType.status).toBe(415);
    const latin1 = await http(`${svc.url}/timeseries/write`, { token: t.user, raw: '{}', headers: { 'content-type': 'application/json; charset=latin1' } });
    expect(latin1.status).toBe(415);
    const doctype = await http(`${svc.url}/timeseries/write`, { token: t.user, raw: '<!DOCTYPE x [<!ENTITY a "b">]><WriteRequest/>', headers: XML });
    expect(doctype.status).toBe(400);
    expect(await bucketExists(t.bucket)).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('POST /timeseries/query', () => {
  let t: Tenant;
  let base: number;
  beforeAll(async () => {
    t = newTenant();
    base = Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000;
    const at = (ms: number) => new Date(base + ms).toISOString();
    const res = await write(t.user, {
      points: [
        { measurement: 'heart_rate', tags: { user_id: 'u1', device: 'w' }, fields: { bpm: 60, spo2: 97 }, timestamp: at(0) },
        { measurement: 'heart_rate', tags: { user_id: 'u1', device: 'w' }, fields: { bpm: 80 }, timestamp: at(30_000) },
        { measurement: 'heart_rate', tags: { user_id: 'u1', device: 'w' }, fields: { bpm: 100 }, timestamp: at(60_000) },
        { measurement: 'heart_rate', tags: { user_id: 'u2', device: 'w' }, fields: { bpm: 50 }, timestamp: at(10_000) },
      ],
    });
    expect(res.status).toBe(200);
  });

  it('when raw points are asked in JSON, then series come back schema-valid with their tags', async () => {
    const res = await query(t.user, { measurement: 'heart_rate', field: 'bpm', tags: { user_id: 'u1' }, range_start: new Date(base).toISOString(), range_stop: 'now' });
    expect(res.status).toBe(200);
    assertMatchesSchema('timeseries#/definitions/queryResult', res.json());
    expect(res.json()).toMatchObject({
      bucket: t.bucket,
      measurement: 'heart_rate',
      range_start: new Date(base).toISOString(),
      series: [{ tags: { device: 'w', user_id: 'u1' }, field: 'bpm', points: [{ value: 60 }, { value: 80 }, { value: 100 }] }],
    });
  });

  it('when a mean per minute is asked in XML, then the XSD-valid answer holds the window means', async () => {
    const res = await query(
      t.user,
      { measurement: 'heart_rate', field: 'bpm', aggregate: 'mean', window: '1m', range_start: new Date(base).toISOString(), range_stop: new Date(base + 120_000).toISOString() },
      { accept: 'application/xml' },
    );
    expect(res.status).toBe(200);
    assertValidXml('timeseries.xsd', res.text);
    expect(res.text).toContain('<aggregate>mean</aggregate><window>1m</window><series><Series><tags><device>w</device><user_id>u1</user_id></tags><field>bpm</field>');
    expect(res.text).toContain(`<points><point><time>${new Date(base).toISOString()}</time><value>70</value></point><point><time>${new Date(base + 60_000).toISOString()}</time><value>100</value></point></points>`);
  });

  it('when the query itself is XML with empty optional elements, then it is read like its JSON twin', async () => {
    const xml = `<QueryRequest><bucket/><measurement>heart_rate</measurement><field>spo2</field><range_start>-1d</range_start><range_stop>now</range_stop><aggregate/><window/><tags><user_id>u1</user_id></tags></QueryRequest>`;
    const res = await http(`${svc.url}/timeseries/query`, { token: t.user, raw: xml, headers: XML });
    expect(res.status).toBe(200);
    assertValidXml('timeseries.xsd', res.text);
    expect(res.text).toContain('<field>spo2</field><points><point>');
    expect(res.text).toContain('<value>97</value>');
  });

  it('when the range is relative, then it is resolved against now and echoed as instants', async () => {
    const res = await query(t.user, { measurement: 'heart_rate', range_start: '-3h', range_stop: 'now', aggregate: 'count', field: 'bpm', window: '1d' });
    expect(res.status).toBe(200);
    const body = res.json<QueryBody & { range_start: string; range_stop: string }>();
    expect(Date.parse(body.range_stop) - Date.parse(body.range_start)).toBe(3 * 3_600_000);
    expect(body.series.map((s) => s.points.reduce((sum, p) => sum + (p.value as number), 0))).toEqual([3, 1]);
  });

  it.each([
    [{ range_start: 'now', range_stop: '-1h' }, 'TS_424', '/range_stop'],
    [{ range_start: '-32d', range_stop: 'now' }, 'TS_424', '/range_start'],
    [{ range_start: 'yesterday', range_stop: 'now' }, 'TS_424', '/range_start'],
    [{ range_start: '2025-02-30T00:00:00Z', range_stop: 'now' }, 'TS_424', '/range_start'],
    [{ range_start: '-1h', range_stop: 'now', aggregate: 'mean', field: 'bpm' }, 'TS_424', '/window'],
    [{ range_start: '-1h', range_stop: 'now', window: '1m' }, 'TS_424', '/aggregate'],
    [{ range_start: '-1h', range_stop: 'now', aggregate: 'sum', window: '1m' }, 'TS_424', '/field'],
    [{ range_start: '-1h', range_stop: 'now', aggregate: 'median', window: '1m', field: 'bpm' }, 'REQ_422', '/aggregate'],
    [{ range_start: '-1h', range_stop: 'now', aggregate: 'mean', window: '1m") |> yield(', field: 'bpm' }, 'REQ_422', '/window'],
    [{ range_start: '-1h', range_stop: 'now', tags: { user_id: 'x', _field: 'y' } }, 'REQ_422', '/tags'],
  ])('when the query is %j, then 422 %s names %s', async (extra, code, field) => {
    const res = await query(t.user, { measurement: 'heart_rate', ...extra });
    expect(res.status).toBe(422);
    assertMatchesSchema('error', res.json());
    expect(res.json<ErrorBody>().error.code).toBe(code);
    expect(res.json<ErrorBody>().error.details!.map((d) => d.field)).toContain(field);
  });

  it('when more points match than TS_MAX_QUERY_POINTS, then 422 TS_425 asks for a window', async () => {
    const u = newTenant();
    const points = Array.from({ length: 5 }, (_, i) => hr(i, 10_000 + i * 1000));
    for (let batch = 0; batch < 5; batch++) {
      expect((await write(u.user, { points: points.map((p, i) => ({ ...p, timestamp: isoAgo(100_000 + batch * 10_000 + i * 1000) })) }, small)).status).toBe(200);
    }
    const res = await query(u.user, { measurement: 'heart_rate', range_start: '-1h', range_stop: 'now' }, {}, small);
    expect(res.status).toBe(422);
    expect(res.json<ErrorBody>().error.code).toBe('TS_425');
    const windowed = await query(u.user, { measurement: 'heart_rate', field: 'bpm', aggregate: 'count', window: '1h', range_start: '-1h', range_stop: 'now' }, {}, small);
    expect(windowed.status).toBe(200);
  });

  it('when a query runs, then the query counter and latency histogram move', async () => {
    const before = await metricValue(svc.url, 'timeseries_queries_total', 'aggregate="none",outcome="ok"');
    await query(t.user, { measurement: 'heart_rate', range_start: '-1h', range_stop: 'now' });
    expect(await metricValue(svc.url, 'timeseries_queries_total', 'aggregate="none",outcome="ok"')).toBe(before + 1);
    expect(await metricValue(svc.url, 'timeseries_query_duration_seconds_count', 'aggregate="none"')).toBeGreaterThan(0);
  });
});

describe('buckets', () => {
  it('when a manager creates a bucket in JSON and an admin in XML, then both are 201 and valid, and audited', async () => {
    const t = newTenant();
    const json = await http(`${svc.url}/timeseries/buckets`, { token: t.manager, body: { name: 'vitals', retention: '90d' } });
    expect(json.status).toBe(201);
    assertMatchesSchema('timeseries#/definitions/bucket', json.json());
    expect(json.json()).toMatchObject({ name: `${t.bucket}_vitals`, org_id: t.org, retention_seconds: 90 * 86_400 });
    const xml = await http(`${svc.url}/timeseries/buckets`, {
      token: t.admin,
      raw: '<CreateBucketRequest><name>forever</name><retention>0</retention></CreateBucketRequest>',
      headers: XML,
    });
    expect(xml.status).toBe(201);
    assertValidXml('timeseries.xsd', xml.text);
    expect(xml.text).toContain(`<Bucket><name>${t.bucket}_forever</name><org_id>${t.org}</org_id><retention_seconds>0</retention_seconds>`);
    expect(svc.audit.events).toContainEqual(
      expect.objectContaining({ action: 'timeseries.bucket.created', org_id: t.org, outcome: 'success', payload: { bucket: `${t.bucket}_vitals`, retention_seconds: 7_776_000 } }),
    );
  });

  it('when a bucket name is taken or a retention is out of bounds, then 409 / 422 and nothing is created', async () => {
    const t = newTenant();
    expect((await http(`${svc.url}/timeseries/buckets`, { token: t.admin, body: { name: 'dup' } })).status).toBe(201);
    const dup = await http(`${svc.url}/timeseries/buckets`, { token: t.admin, body: { name: 'dup', retention: '1d' } });
    expect([dup.status, dup.json<ErrorBody>().error.code]).toEqual([409, 'TS_409']);
    const outOfBounds: Array<[string, string]> = [
      ['30m', 'TS_426'],
      ['3651d', 'TS_426'],
      ['1h30m', 'REQ_422'],
      ['-1d', 'REQ_422'],
    ];
    for (const [retention, code] of outOfBounds) {
      const res = await http(`${svc.url}/timeseries/buckets`, { token: t.admin, body: { name: 'retention-check', retention } });
      expect([res.status, res.json<ErrorBody>().error.code], retention).toEqual([422, code]);
    }
    const badName = await http(`${svc.url}/timeseries/buckets`, { token: t.admin, body: { name: 'Has Spaces' } });
    expect(badName.status).toBe(422);
    const names = ((await db.query('SELECT name FROM heartguard_core.ts_buckets WHERE org_id = $1', [t.org])) as Array<{ name: string }>).map((r) => r.name);
    expect(names).toEqual([`${t.bucket}_dup`]);
  });

  it('when buckets are listed in JSON and XML, then only the caller org buckets appear', async () => {
    const t = newTenant();
    const other = newTenant();
    await http(`${svc.url}/timeseries/buckets`, { token: t.admin, body: { name: 'a' } });
    await write(t.user, { points: [hr(1, 1000)] });
    await http(`${svc.url}/timeseries/buckets`, { token: other.admin, body: { name: 'a' } });
    const res = await http(`${svc.url}/timeseries/buckets`, { token: t.user });
    expect(res.status).toBe(200);
    assertMatchesSchema('timeseries#/definitions/bucketList', res.json());
    expect(res.json<{ buckets: Array<{ name: string; retention_seconds: number }> }>().buckets.map((b) => [b.name, b.retention_seconds])).toEqual([
      [t.bucket, 2_592_000],
      [`${t.bucket}_a`, 2_592_000],
    ]);
    const xml = await http(`${svc.url}/timeseries/buckets`, { token: t.user, headers: { accept: 'application/xml' } });
    assertValidXml('timeseries.xsd', xml.text);
    expect(xml.text.match(/<Bucket>/g)).toHaveLength(2);
    expect(xml.text).not.toContain(other.org);
    const empty = await http(`${svc.url}/timeseries/buckets`, { token: newTenant().user, headers: { accept: 'application/xml' } });
    assertValidXml('timeseries.xsd', empty.text);
  });

  it('when an admin deletes a bucket, then it and its points are gone (204, then 404), and it is audited', async () => {
    const t = newTenant();
    await http(`${svc.url}/timeseries/buckets`, { token: t.admin, body: { name: 'tmp' } });
    await write(t.user, { bucket: `${t.bucket}_tmp`, points: [hr(1, 1000), hr(2, 500)] });
    expect(await storedPoints(`${t.bucket}_tmp`)).toBe(2);
    const series = (await db.query('SELECT count(*)::int AS n FROM heartguard_core.ts_series s JOIN heartguard_core.ts_buckets b ON b.id = s.bucket_id WHERE b.name = $1', [`${t.bucket}_tmp`])) as Array<{ n: number }>;
    expect(series[0]!.n).toBe(1);
    const res = await http(`${svc.url}/timeseries/buckets/${t.bucket}_tmp`, { method: 'DELETE', token: t.admin });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await bucketExists(`${t.bucket}_tmp`)).toBe(false);
    expect(((await db.query('SELECT count(*)::int AS n FROM heartguard_core.ts_chunks c LEFT JOIN heartguard_core.ts_series s ON s.id = c.series_id WHERE s.id IS NULL')) as Array<{ n: number }>)[0]!.n).toBe(0);
    const again = await http(`${svc.url}/timeseries/buckets/${t.bucket}_tmp`, { method: 'DELETE', token: t.admin, headers: { accept: 'application/xml' } });
    expect(again.status).toBe(404);
    assertValidXml('error.xsd', again.text);
    expect(svc.audit.events).toContainEqual(expect.objectContaining({ action: 'timeseries.bucket.deleted', org_id: t.org, payload: { bucket: `${t.bucket}_tmp` } }));
  });
});

describe('tenant isolation', () => {
  it("when an org names another org's bucket, then write, query and delete all answer 404 and the data is untouched", async () => {
    const a = newTenant();
    const b = newTenant();
    await http(`${svc.url}/timeseries/buckets`, { token: a.admin, body: { name: 'private' } });
    await write(a.user, { bucket: `${a.bucket}_private`, points: [hr(1, 1000)] });
    await write(a.user, { points: [hr(1, 1000)] });
    for (const target of [a.bucket, `${a.bucket}_private`]) {
      const w = await write(b.admin, { bucket: target, points: [hr(99, 500)] });
      expect([w.status, w.json<ErrorBody>().error.code]).toEqual([404, 'TS_404']);
      const lp = await http(`${svc.url}/timeseries/write?bucket=${target}`, { token: b.admin, raw: 'heart_rate bpm=99', headers: LP });
      expect(lp.status).toBe(404);
      const q = await query(b.admin, { bucket: target, measurement: 'heart_rate', range_start: '-1h', range_stop: 'now' });
      expect([q.status, q.json<ErrorBody>().error.code]).toEqual([404, 'TS_404']);
      const d = await http(`${svc.url}/timeseries/buckets/${target}`, { method: 'DELETE', token: b.admin });
      expect(d.status).toBe(404);
      expect(await storedPoints(target)).toBe(1);
    }
    for (const name of ['telegraf', `org_${a.org}_`, `org_${a.org}_PRIVATE`, `org_${a.org}/../x`, '_internal']) {
      const d = await http(`${svc.url}/timeseries/buckets/${encodeURIComponent(name)}`, { method: 'DELETE', token: a.admin });
      expect(d.status, name).toBe(404);
    }
  });

  it('when an org queries a bucket it never wrote to, then 404 (not an empty answer that would reveal nothing either way)', async () => {
    const t = newTenant();
    const res = await query(t.user, { measurement: 'heart_rate', range_start: '-1h', range_stop: 'now' });
    expect(res.status).toBe(404);
  });
});

describe('RBAC inside the service', () => {
  const t = newTenant();
  const roles: Record<string, string | undefined> = {
    anonymous: undefined,
    user: t.user,
    manager: t.manager,
    admin: t.admin,
    service: serviceToken('gateway'),
    'admin without org': mintAccessToken({ role: 'admin', org_id: null }),
  };
  const routes: Array<{ name: string; request: (token?: string) => Promise<{ status: number }>; expected: Record<string, number> }> = [
    {
      name: 'POST /timeseries/write',
      request: (token) => http(`${svc.url}/timeseries/write`, { token, body: { points: [hr(1, 1000)] } }),
      expected: { anonymous: 401, user: 200, manager: 200, admin: 200, service: 403, 'admin without org': 403 },
    },
    {
      name: 'POST /timeseries/query',
      request: (token) => http(`${svc.url}/timeseries/query`, { token, body: { measurement: 'heart_rate', range_start: '-1h', range_stop: 'now' } }),
      expected: { anonymous: 401, user: 200, manager: 200, admin: 200, service: 403, 'admin without org': 403 },
    },
    {
      name: 'GET /timeseries/buckets',
      request: (token) => http(`${svc.url}/timeseries/buckets`, { token }),
      expected: { anonymous: 401, user: 200, manager: 200, admin: 200, service: 403, 'admin without org': 403 },
    },
    {
      name: 'POST /timeseries/buckets',
      request: (token) => http(`${svc.url}/timeseries/buckets`, { token, body: { name: `b${randomUUID().slice(0, 8)}` } }),
      expected: { anonymous: 401, user: 403, manager: 201, admin: 201, service: 403, 'admin without org': 403 },
    },
    {
      name: 'DELETE /timeseries/buckets/{bucket}',
      request: async (token) => {
        const name = `d${randomUUID().slice(0, 8)}`;
        await http(`${svc.url}/timeseries/buckets`, { token: t.admin, body: { name } });
        return http(`${svc.url}/timeseries/buckets/${t.bucket}_${name}`, { method: 'DELETE', token });
      },
      expected: { anonymous: 401, user: 403, manager: 403, admin: 204, service: 403, 'admin without org': 403 },
    },
  ];
  for (const route of routes) {
    for (const [role, status] of Object.entries(route.expected)) {
      it(`when ${role} calls ${route.name}, then ${status}`, async () => {
        // Ordered so the first write creates the default bucket the query then reads.
        if (route.name === 'POST /timeseries/query') await write(t.admin, { points: [hr(1, 2000)] });
        expect((await route.request(roles[role])).status).toBe(status);
      });
    }
  }
});

describe('health, readiness and metrics', () => {
  it('when health and readiness are asked under the prefix, then both answer with the store (and Redis when set)', async () => {
    const health = await http(`${svc.url}/timeseries/health`);
    expect(health.status).toBe(200);
    assertMatchesSchema('health', health.json());
    const ready = await http(`${svc.url}/timeseries/ready`, { headers: { accept: 'application/xml' } });
    expect(ready.status).toBe(200);
    assertValidXml('health.xsd', ready.text);
    expect(ready.text).toContain('<name>postgres</name><status>ok</status>');
    if (process.env.REDIS_URL) expect(ready.text).toContain('<name>redis</name><status>ok</status>');
  });

  it('when /timeseries/metrics is scraped, then the service counters are exposed in Prometheus text format', async () => {
    const res = await http(`${svc.url}/timeseries/metrics`, { headers: { accept: 'text/plain' } });
    expect(res.status).toBe(200);
    for (const name of ['timeseries_points_written_total', 'timeseries_write_batches_total', 'timeseries_queries_total', 'timeseries_query_duration_seconds_bucket', 'http_requests_total']) {
      expect(res.text).toContain(`# TYPE ${name.replace(/_bucket$/, '')}`);
    }
  });
});
