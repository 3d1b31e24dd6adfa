import { randomUUID } from 'node:crypto';
import type { StartedService } from '@heartguard/kit';
import { assertMatchesSchema, assertValidXml, http, mintAccessToken } from '@heartguard/kit/testing';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, serviceToken, startAudit } from './support.js';

let audit: StartedService;
let db: DataSource;
const authToken = () => serviceToken('auth');

interface EventPage {
  items: Array<Record<string, unknown> & { id: string; seq: number; actor: string; payload: Record<string, unknown> }>;
  next_cursor: string | null;
}

function adminOf(org: string): string {
  return mintAccessToken({ role: 'admin', org_id: org });
}

async function post(body: unknown, token = authToken(), headers: Record<string, string> = {}) {
  return http(`${audit.url}/audit/events`, { method: 'POST', body, token, headers });
}

async function metricValue(name: string, labels: string): Promise<number> {
  const text = (await http(`${audit.url}/metrics`, { headers: { accept: 'text/plain' } })).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

beforeAll(async () => {
  audit = await startAudit();
  db = await openDatabase();
});

afterAll(async () => {
  await audit?.stop();
  await db?.destroy();
});

describe('POST /audit/events', () => {
  it('when a service posts one event, then it is stored once with the service name from its token, masked', async () => {
    const org = randomUUID();
    const id = randomUUID();
    const before = await metricValue('audit_events_recorded_total', 'service="auth"');
    const res = await post({
      id,
      actor: 'alice@example.com',
      action: 'auth.login',
      outcome: 'failure',
      org_id: org,
      request_id: 'req-12345678',
      payload: { email: 'alice@example.com', password: 'hunter2', ip: '10.0.0.1' },
    });
    expect(res.status).toBe(201);
    assertMatchesSchema('audit#/definitions/record_result', res.json());
    expect(res.json()).toEqual({ id, status: 'recorded' });

    const [row] = (await db.query('SELECT service, actor, action, outcome, org_id::text, request_id, payload FROM heartguard_core.audit_events WHERE id = $1', [id])) as Array<Record<string, unknown>>;
    expect(row).toEqual({
      service: 'auth',
      actor: 'a***@example.com',
      action: 'auth.login',
      outcome: 'failure',
      org_id: org,
      request_id: 'req-12345678',
      payload: { email: 'a***@example.com', password: '[REDACTED]', ip: '10.0.0.1' },
    });
    expect(await metricValue('audit_events_recorded_total', 'service="auth"')).toBe(before + 1);
  });

  it('when the same event id is posted again, then it is not stored twice and the answer says duplicate', async () => {
    const id = randomUUID();
    const event = { id, actor: 'u', action: 'user.updated', org_id: randomUUID() };
    expect((await post(event)).status).toBe(201);
    const again = await post(event);
    expect(again.status).toBe(200);
    expect(again.json()).toEqual({ id, status: 'duplicate' });
    const [{ count }] = (await db.query('SELECT count(*)::int AS count FROM heartguard_core.audit_events WHERE id = $1', [id])) as [{ count: number }];
    expect(count).toBe(1);
  });

  it('when a batch is posted twice, then the second answer counts duplicates and nothing new is stored', async () => {
    const org = randomUUID();
    const events = Array.from({ length: 25 }, (_, i) => ({ id: randomUUID(), actor: `u${i}`, action: 'media.uploaded', org_id: org }));
    const first = await post({ events });
    expect(first.status).toBe(201);
    assertMatchesSchema('audit#/definitions/batch_result', first.json());
    expect(first.json()).toEqual({ recorded: 25, duplicates: 0 });
    const second = await post({ events: [...events, { id: events[0]!.id, actor: 'u0', action: 'media.uploaded', org_id: org }] });
    expect(second.json()).toEqual({ recorded: 0, duplicates: 26 });
    const [{ count }] = (await db.query('SELECT count(*)::int AS count FROM heartguard_core.audit_events WHERE org_id = $1', [org])) as [{ count: number }];
    expect(count).toBe(25);
  });

  it('when an XML event and an XML batch are posted, then they are stored like JSON ones and the answers validate against the XSD', async () => {
    const org = randomUUID();
    const id = randomUUID();
    const singleXml = `<NewAuditEvent><id>${id}</id><actor>bob@example.com</actor><action>org.updated</action><org_id>${org}</org_id><payload><field>name</field><by>bob@example.com</by></payload></NewAuditEvent>`;
    // The request documents themselves are what the XSD describes.
    assertValidXml('audit.xsd', singleXml);
    const xml = await http(`${audit.url}/audit/events`, {
      method: 'POST',
      token: authToken(),
      headers: { 'content-type': 'application/xml', accept: 'application/xml' },
      raw: singleXml,
    });
    expect(xml.status).toBe(201);
    assertValidXml('audit.xsd', xml.text);
    expect(xml.text).toContain(`<AuditEvent><id>${id}</id><status>recorded</status></AuditEvent>`);

    const batchXml = `<AuditEventBatch><events><event><actor>x</actor><action>a.one</action><org_id>${org}</org_id></event><event><actor>y</actor><action>a.two</action><org_id>${org}</org_id><outcome>denied</outcome></event></events></AuditEventBatch>`;
    assertValidXml('audit.xsd', batchXml);
    const batch = await http(`${audit.url}/audit/events`, {
      method: 'POST',
      token: authToken(),
      headers: { 'content-type': 'application/xml', accept: 'application/xml' },
      raw: batchXml,
    });
    expect(batch.status).toBe(201);
    assertValidXml('audit.xsd', batch.text);
    expect(batch.text).toContain('<recorded>2</recorded><duplicates>0</duplicates>');
    const rows = (await db.query('SELECT actor, action, outcome, payload FROM heartguard_core.audit_events WHERE org_id = $1 ORDER BY seq', [org])) as Array<Record<string, unknown>>;
    expect(rows).toEqual([
      { actor: 'b***@example.com', action: 'org.updated', outcome: 'success', payload: { field: 'name', by: 'b***@example.com' } },
      { actor: 'x', action: 'a.one', outcome: 'success', payload: {} },
      { actor: 'y', action: 'a.two', outcome: 'denied', payload: {} },
    ]);
  });

  it('when a user token is used, even an admin one, then POST is refused with 403 and nothing is stored', async () => {
    const org = randomUUID();
    for (const role of ['user', 'admin'] as const) {
      const res = await post({ actor: 'x', action: 'forged.event', org_id: org }, mintAccessToken({ role, org_id: org }));
      expect(res.status).toBe(403);
      assertMatchesSchema('error', res.json());
      expect(res.json<{ error: { code: string } }>().error.code).toBe('AUTH_005');
    }
    expect((await post({ actor: 'x', action: 'forged.event' }, '')).status).toBe(401);
    const [{ count }] = (await db.query('SELECT count(*)::int AS count FROM heartguard_core.audit_events WHERE org_id = $1', [org])) as [{ count: number }];
    expect(count).toBe(0);
  });

  it('when a service names another service in the event, then it is refused with AUDIT_004', async () => {
    const org = randomUUID();
    const res = await post({ events: [{ actor: 'x', action: 'a.b', org_id: org, service: 'auth' }, { actor: 'x', action: 'a.b', org_id: org, service: 'gateway' }] });
    expect(res.status).toBe(403);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('AUDIT_004');
    const [{ count }] = (await db.query('SELECT count(*)::int AS count FROM heartguard_core.audit_events WHERE org_id = $1', [org])) as [{ count: number }];
    expect(count).toBe(0);
  });

  it('when bodies are invalid, then 422 names the fields and nothing is stored', async () => {
    const org = randomUUID();
    const cases: Array<[unknown, string]> = [
      [{ action: 'a.b', org_id: org }, '/actor'],
      [{ actor: 'x', action: 'has space', org_id: org }, '/action'],
      [{ actor: 'x', action: 'a.b', org_id: 'not-a-uuid' }, '/org_id'],
      [{ actor: 'x', action: 'a.b', org_id: org, extra: 1 }, '/extra'],
      [{ events: [] }, '/events'],
      [{ events: Array.from({ length: 1001 }, () => ({ actor: 'x', action: 'a.b', org_id: org })) }, '/events'],
      [{ actor: 'x', action: 'a.b', org_id: org, payload: { blob: 'x'.repeat(17_000) } }, '/payload'],
      [{ events: [{ actor: 'x', action: 'a.b', org_id: org }, { actor: 'x', action: 'a.b', org_id: org, occurred_at: '2999-01-01T00:00:00Z' }] }, '/events/1/occurred_at'],
    ];
    for (const [body, field] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      assertMatchesSchema('error', res.json());
      const details = res.json<{ error: { details: Array<{ field: string }> } }>().error.details;
      expect(details.map((d) => d.field)).toContain(field);
    }
    const empty = await post(undefined);
    expect(empty.status).toBe(422);
    const [{ count }] = (await db.query('SELECT count(*)::int AS count FROM heartguard_core.audit_events WHERE org_id = $1', [org])) as [{ count: number }];
    expect(count).toBe(0);
  });
});

describe('GET /audit/events', () => {
  const org = randomUUID();
  const otherOrg = randomUUID();
  const ids: string[] = [];

  beforeAll(async () => {
    // 57 events across services/actors/actions and two days, plus noise in another org.
    const events = Array.from({ length: 57 }, (_, i) => {
      const id = randomUUID();
      ids.push(id);
      return {
        id,
        actor: i % 3 === 0 ? 'carol@example.com' : `user-${i % 5}`,
        action: i % 2 === 0 ? 'auth.login' : 'auth.logout',
        org_id: org,
        occurred_at: new Date(Date.UTC(2025, 0, i < 30 ? 1 : 2, 12, 0, i)).toISOString(),
        payload: { i },
      };
    });
    expect((await post({ events: events.slice(0, 40) })).status).toBe(201);
    expect((await post({ events: events.slice(40) }, serviceToken('gateway'))).status).toBe(201);
    expect((await post({ events: [{ actor: 'carol@example.com', action: 'auth.login', org_id: otherOrg }] })).status).toBe(201);
  });

  async function getPage(query: string, token = adminOf(org)) {
    const res = await http(`${audit.url}/audit/events${query}`, { token });
    expect(res.status, res.text).toBe(200);
    const body = res.json<EventPage>();
    assertMatchesSchema('audit#/definitions/event_page', body);
    return body;
  }

  async function walk(query: string): Promise<EventPage['items']> {
    const all: EventPage['items'] = [];
    let cursor: string | null = null;
    do {
      const page: EventPage = await getPage(`${query}${cursor ? `&cursor=${cursor}` : ''}`);
      all.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return all;
  }

  it('when an admin pages through with a cursor, then every event of the org comes once, newest first', async () => {
    const all = await walk('?limit=10');
    expect(all).toHaveLength(57);
    expect(new Set(all.map((e) => e.id))).toEqual(new Set(ids));
    const seqs = all.map((e) => e.seq);
    expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);
    expect(all[0]!.id).toBe(ids[56]);
  });

  it('when the default page size applies, then 50 come first and the last page has next_cursor null', async () => {
    const first = await getPage('');
    expect(first.items).toHaveLength(50);
    const second = await getPage(`?cursor=${first.next_cursor}`);
    expect(second.items).toHaveLength(7);
    expect(second.next_cursor).toBeNull();
  });

  it('when filters are given, then only matching events come back (actor matched in its masked form)', async () => {
    const bySvc = await walk('?service=gateway&limit=7');
    expect(bySvc).toHaveLength(17);
    expect(bySvc.every((e) => e.service === 'gateway')).toBe(true);

    const byActor = await walk(`?actor=${encodeURIComponent('carol@example.com')}&limit=200`);
    expect(byActor).toHaveLength(19);
    expect(byActor.every((e) => e.actor === 'c***@example.com')).toBe(true);

    const byAction = await walk('?action=auth.logout&limit=5');
    expect(byAction).toHaveLength(28);

    const day2 = await walk(`?from=${encodeURIComponent('2025-01-02T00:00:00Z')}&to=${encodeURIComponent('2025-01-03T00:00:00Z')}&limit=4`);
    expect(day2).toHaveLength(27);
    expect(day2.every((e) => String(e.occurred_at).startsWith('2025-01-02'))).toBe(true);

    const combined = await walk(`?action=auth.login&to=${encodeURIComponent('2025-01-02T00:00:00Z')}&service=auth`);
    expect(combined.map((e) => e.payload.i).sort((a, b) => Number(a) - Number(b))).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28]);
  });

  it('when an admin of another org asks, then none of these events are visible', async () => {
    const page = await getPage('?limit=200', adminOf(otherOrg));
    expect(page.items).toHaveLength(1);
    expect(page.items[0]!.org_id).toBe(otherOrg);
    const guessed = await getPage(`?actor=${encodeURIComponent('user-1')}`, adminOf(otherOrg));
    expect(guessed.items).toHaveLength(0);
  });

  it('when XML is asked for, then the page validates against the XSD with payload as JSON text', async () => {
    const first = await http(`${audit.url}/audit/events?limit=2`, { token: adminOf(org), headers: { accept: 'application/xml' } });
    expect(first.status).toBe(200);
    assertValidXml('audit.xsd', first.text);
    expect(first.text.match(/<AuditEvent>/g)).toHaveLength(2);
    expect(first.text).toContain(`<id>${ids[56]}</id>`);
    expect(first.text).toContain('<payload_json>{&quot;i&quot;:56}</payload_json>');
    const cursor = /<next_cursor>([^<]+)<\/next_cursor>/.exec(first.text)![1];
    const last = await http(`${audit.url}/audit/events?limit=200&cursor=${cursor}`, { token: adminOf(org), headers: { accept: 'text/xml' } });
    assertValidXml('audit.xsd', last.text);
    expect(last.text).not.toContain('<next_cursor>');
    expect(last.text.match(/<AuditEvent>/g)).toHaveLength(55);
  });

  it('when a non-admin, a service or an admin without an org asks, then 403; without a token, 401', async () => {
    for (const role of ['user', 'manager'] as const) {
      const res = await http(`${audit.url}/audit/events`, { token: mintAccessToken({ role, org_id: org }) });
      expect(res.status).toBe(403);
      assertMatchesSchema('error', res.json());
    }
    expect((await http(`${audit.url}/audit/events`, { token: serviceToken('gateway') })).status).toBe(403);
    expect((await http(`${audit.url}/audit/events`, { token: mintAccessToken({ role: 'admin', org_id: null }) })).status).toBe(403);
    const anonymous = await http(`${audit.url}/audit/events`, { headers: { accept: 'application/xml' } });
    expect(anonymous.status).toBe(401);
    assertValidXml('error.xsd', anonymous.text);
  });

  it('when the query is malformed, then 400 with AUDIT_002/AUDIT_003 in JSON and XML', async () => {
    const bad = await http(`${audit.url}/audit/events?cursor=bm9wZQ`, { token: adminOf(org) });
    expect(bad.status).toBe(400);
    expect(bad.json<{ error: { code: string } }>().error.code).toBe('AUDIT_002');
    const filter = await http(`${audit.url}/audit/events?from=tuesday&limit=500`, { token: adminOf(org), headers: { accept: 'application/xml' } });
    expect(filter.status).toBe(400);
    assertValidXml('error.xsd', filter.text);
    expect(filter.text).toContain('<code>AUDIT_003</code>');
  });
});

describe('GET /audit/verify', () => {
  it('when a non-admin asks, then 403; an admin gets a verification in JSON and XML', async () => {
    const org = randomUUID();
    expect((await http(`${audit.url}/audit/verify`, { token: mintAccessToken({ role: 'user', org_id: org }) })).status).toBe(403);
    const json = await http(`${audit.url}/audit/verify`, { token: adminOf(org) });
    expect(json.status).toBe(200);
    assertMatchesSchema('audit#/definitions/verification', json.json());
    const xml = await http(`${audit.url}/audit/verify`, { token: adminOf(org), headers: { accept: 'application/xml' } });
    expect(xml.status).toBe(200);
    assertValidXml('audit.xsd', xml.text);
  });
});

describe('health', () => {
  it('when the database is reachable, then /audit/ready reports it', async () => {
    const res = await http(`${audit.url}/audit/ready`);
    expect(res.status).toBe(200);
    assertMatchesSchema('health', res.json());
    expect(res.json()).toMatchObject({ status: 'ready', checks: [{ name: 'database', status: 'ok' }] });
  });
});
