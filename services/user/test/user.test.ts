import { randomUUID } from 'node:crypto';
import { createServiceTokenIssuer } from '@heartguard/kit';
import { assertMatchesSchema, assertValidXml, http, mintAccessToken } from '@heartguard/kit/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAuth, type FakeAuth } from './fake-auth.js';
import { addAccount, closedPortUrl, metricValue, startUserService, type TestUserService } from './support.js';

let auth: FakeAuth;
let svc: TestUserService;
let redis: Redis;

beforeAll(async () => {
  auth = await startFakeAuth();
  svc = await startUserService(auth.url);
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await svc?.stop();
  await auth?.stop();
  redis?.disconnect();
});

const XML = { accept: 'application/xml' };
type ErrorBody = { error: { code: string; details?: Array<{ field: string; problem: string }> } };

async function storedPreferences(userId: string): Promise<{ preferences: unknown; version: number; org_id: string } | undefined> {
  const rows = (await svc.db.query('SELECT preferences, version, org_id FROM heartguard_core.user_preferences WHERE user_id = $1', [userId])) as Array<{
    preferences: unknown;
    version: number;
    org_id: string;
  }>;
  return rows[0];
}

const putMe = (token: string, body: unknown, headers: Record<string, string> = {}) =>
  http(`${svc.url}/users/me`, { method: 'PUT', token, body, headers });

describe('fake auth contract (stand-in for GET /auth/internal/users/:id)', () => {
  it('when called with a user token, then 403; with a service token, then the identity or a 404 envelope', async () => {
    const { identity, token } = addAccount(auth, 'admin', randomUUID());
    expect((await http(`${auth.url}/auth/internal/users/${identity.id}`, { token })).status).toBe(403);
    expect((await http(`${auth.url}/auth/internal/users/${identity.id}`)).status).toBe(401);
    const serviceToken = createServiceTokenIssuer(process.env.SERVICE_TOKEN_SECRET!, 'user')();
    const found = await http(`${auth.url}/auth/internal/users/${identity.id}`, { token: serviceToken });
    expect(found.status).toBe(200);
    expect(found.json()).toEqual(identity);
    const missing = await http(`${auth.url}/auth/internal/users/${randomUUID()}`, { token: serviceToken });
    expect(missing.status).toBe(404);
    assertMatchesSchema('error', missing.json());
  });
});

describe('GET /users/me', () => {
  it('when nothing was saved yet, then identity from auth with empty preferences, version 0 and updated_at null', async () => {
    const { identity, token } = addAccount(auth, 'user', randomUUID());
    const res = await http(`${svc.url}/users/me`, { token, headers: { 'x-request-id': `req-${randomUUID()}` } });
    expect(res.status).toBe(200);
    const body = res.json();
    assertMatchesSchema('user', body);
    expect(body).toEqual({ ...identity, preferences: {}, version: 0, updated_at: null });
    expect(res.headers.get('etag')).toBe('"0"');
    // The lookup carried a service token and the caller's request id.
    const lookup = auth.lookups.at(-1)!;
    expect(lookup['x-request-id']).toBe(res.headers.get('x-request-id'));
    expect(String(lookup.authorization)).toMatch(/^Bearer /);
  });

  it('when asked in XML, then <User> validates, with <preferences> nested and null fields omitted', async () => {
    const { identity, token } = addAccount(auth, 'manager', randomUUID(), null);
    expect((await putMe(token, { preferences: { lang: 'es' } })).status).toBe(200);
    const res = await http(`${svc.url}/users/me`, { token, headers: XML });
    expect(res.status).toBe(200);
    assertValidXml('user.xsd', res.text);
    expect(res.text).toContain(`<User><id>${identity.id}</id><email>${identity.email}</email><role>manager</role>`);
    expect(res.text).toContain('<preferences><lang>es</lang></preferences><version>1</version>');
    expect(res.text).not.toContain('<full_name>');
  });

  it('when auth no longer knows the account, then 404 USER_404', async () => {
    const token = mintAccessToken({ sub: randomUUID(), role: 'user', org_id: randomUUID() });
    const res = await http(`${svc.url}/users/me`, { token, headers: XML });
    expect(res.status).toBe(404);
    assertValidXml('error.xsd', res.text);
    expect(res.text).toContain('<code>USER_404</code>');
  });

  // Needs the shared Redis (REDIS_URL); without it each service has its own in-process store.
  it.skipIf(!process.env.REDIS_URL)('when the token was revoked (hg:revoked:<jti> in Redis), then 401 AUTH_004', async () => {
    const { identity } = addAccount(auth, 'user', randomUUID());
    const jti = randomUUID();
    const token = mintAccessToken({ sub: identity.id, role: 'user', org_id: identity.org_id }, { jti });
    expect((await http(`${svc.url}/users/me`, { token })).status).toBe(200);
    await redis.set(`hg:revoked:${jti}`, '1', 'EX', 60);
    const res = await http(`${svc.url}/users/me`, { token });
    expect(res.status).toBe(401);
    expect(res.json<ErrorBody>().error.code).toBe('AUTH_004');
  });
});

describe('PUT /users/me', () => {
  it('when preferences are saved, then they are stored under the caller, returned, counted and audited by key name', async () => {
    const { identity, token } = addAccount(auth, 'user', randomUUID());
    const before = await metricValue(svc.url, 'user_preference_updates_total', 'outcome="updated"');
    const preferences = { lang: 'es', units: 'metric', notifications: { email: true, push: false, quiet: { from: '22:00', to: '07:00' } }, hr_max: 180 };
    const res = await putMe(token, { preferences });
    expect(res.status).toBe(200);
    const body = res.json();
    assertMatchesSchema('user', body);
    expect(body).toMatchObject({ id: identity.id, role: 'user', org_id: identity.org_id, preferences, version: 1 });
    expect(res.headers.get('etag')).toBe('"1"');
    expect(await storedPreferences(identity.id)).toEqual({ preferences, version: 1, org_id: identity.org_id });
    expect(await metricValue(svc.url, 'user_preference_updates_total', 'outcome="updated"')).toBe(before + 1);
    expect(svc.events.find((e) => e.actor === identity.id)).toEqual({
      action: 'user.preferences_updated',
      actor: identity.id,
      org_id: identity.org_id,
      outcome: 'success',
      payload: { changed_keys: ['hr_max', 'lang', 'notifications', 'units'], version: 1 },
    });
    const read = await http(`${svc.url}/users/me`, { token });
    expect(read.json()).toMatchObject({ preferences, version: 1 });
  });

  it('when preferences are PUT again, then they are replaced, not merged', async () => {
    const { identity, token } = addAccount(auth, 'user', randomUUID());
    await putMe(token, { preferences: { a: 1, b: 'two' } });
    const res = await putMe(token, { preferences: { c: true } });
    expect(res.json()).toMatchObject({ preferences: { c: true }, version: 2 });
    expect(await storedPreferences(identity.id)).toMatchObject({ preferences: { c: true }, version: 2 });
    expect(svc.events.filter((e) => e.actor === identity.id).at(-1)?.payload).toEqual({ changed_keys: ['a', 'b', 'c'], version: 2 });
  });

  it('when the body tries to set role, email or org_id, then 422 and nothing is stored or sent to auth', async () => {
    const { identity, token } = addAccount(auth, 'user', randomUUID());
    const lookupsBefore = auth.lookups.length;
    for (const extra of [{ role: 'admin' }, { email: 'evil@example.org' }, { org_id: randomUUID() }]) {
      const res = await putMe(token, { preferences: { lang: 'es' }, ...extra });
      expect(res.status).toBe(422);
      const error = res.json<ErrorBody>().error;
      expect(error.code).toBe('REQ_422');
      expect(error.details?.map((d) => d.field)).toContain(`/${Object.keys(extra)[0]}`);
    }
    const xml = await http(`${svc.url}/users/me`, {
      method: 'PUT',
      token,
      headers: { 'content-type': 'application/xml', accept: 'application/xml' },
      raw: '<User><role>admin</role><preferences><lang>es</lang></preferences></User>',
    });
    expect(xml.status).toBe(422);
    assertValidXml('error.xsd', xml.text);
    expect(await storedPreferences(identity.id)).toBeUndefined();
    expect(auth.lookups.length).toBe(lookupsBefore);
  });

  it('when preferences break the bounds, then 422 names the field and nothing is stored', async () => {
    const { identity, token } = addAccount(auth, 'user', randomUUID());
    const manyNested = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`group${i}`, { a: 1, b: 2, c: 3, d: 4, e: 5 }]));
    const cases: Array<[string, unknown, string]> = [
      ['too deep', { a: { b: { c: { d: 1 } } } }, '/preferences/a/b/c'],
      ['too many top-level keys', Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])), '/preferences'],
      ['too many keys in total', manyNested, '/preferences'],
      ['key starting with a digit', { '1lang': 'es' }, '/preferences'],
      ['key with a dash', { 'dark-mode': true }, '/preferences'],
      ['key starting with xml', { xmlThing: 'x' }, '/preferences'],
      ['array value', { langs: ['es', 'en'] }, '/preferences/langs'],
      ['null value', { lang: null }, '/preferences/lang'],
      ['string over 1000 chars', { note: 'x'.repeat(1001) }, '/preferences/note'],
      ['over 8 KB serialized', Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`note${i}`, 'x'.repeat(1000)])), '/preferences'],
      ['preferences not an object', 'dark', '/preferences'],
      ['preferences missing', undefined, '/preferences'],
    ];
    for (const [label, preferences, field] of cases) {
      const res = await putMe(token, preferences === undefined ? {} : { preferences });
      expect(res.status, label).toBe(422);
      const error = res.json<ErrorBody>().error;
      assertMatchesSchema('error', { error });
      expect(error.details?.map((d) => d.field), label).toContain(field);
    }
    expect(await storedPreferences(identity.id)).toBeUndefined();
  });

  it('when preferences sit exactly at the bounds (depth 3, 50 keys, 8 KB), then they are accepted', async () => {
    const { token } = addAccount(auth, 'user', randomUUID());
    const fifty = Object.fromEntries(Array.from({ length: 48 }, (_, i) => [`k${i}`, i]));
    const res = await putMe(token, { preferences: { ...fifty, deep: { deeper: 'leaf' } } });
    expect(res.status, res.text).toBe(200);
    const big = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`n${i}`, 'x'.repeat(1000)]));
    expect((await putMe(token, { preferences: big })).status).toBe(200);
  });

  it('when the same preferences arrive as XML and as JSON, then the same object is stored (XML leaves are strings)', async () => {
    const jsonUser = addAccount(auth, 'user', randomUUID());
    const xmlUser = addAccount(auth, 'user', randomUUID());
    const json = await putMe(jsonUser.token, { preferences: { lang: 'es', notifications: { email: 'true' } } });
    expect(json.status).toBe(200);
    const xml = await http(`${svc.url}/users/me`, {
      method: 'PUT',
      token: xmlUser.token,
      headers: { 'content-type': 'application/xml; charset=utf-8', accept: 'application/xml' },
      raw: '<?xml version="1.0" encoding="UTF-8"?><User><preferences><lang>es</lang><notifications><email>true</email></notifications></preferences></User>',
    });
    expect(xml.status, xml.text).toBe(200);
    assertValidXml('user.xsd', xml.text);
    expect(xml.text).toContain('<preferences>');
    expect(xml.text).toContain('<lang>es</lang>');
    expect(xml.text).toContain('<notifications><email>true</email></notifications>');
    const stored = await storedPreferences(xmlUser.identity.id);
    expect(stored?.preferences).toEqual({ lang: 'es', notifications: { email: 'true' } });
    expect(stored?.preferences).toEqual((await storedPreferences(jsonUser.identity.id))?.preferences);
  });

  it('when an XML preference element is empty, then it is read as an empty object (XML writes "" and {} alike)', async () => {
    const { identity, token } = addAccount(auth, 'user', randomUUID());
    const res = await http(`${svc.url}/users/me`, {
      method: 'PUT',
      token,
      headers: { 'content-type': 'application/xml' },
      raw: '<User><preferences><theme/><quiet><from>22:00</from></quiet></preferences></User>',
    });
    expect(res.status, res.text).toBe(200);
    expect((await storedPreferences(identity.id))?.preferences).toEqual({ theme: {}, quiet: { from: '22:00' } });
  });

  it('when a preference value carries markup and entities, then it is stored as given and escaped once in XML', async () => {
    const { identity, token } = addAccount(auth, 'user', randomUUID());
    const note = '<script>alert(1)</script> &amp; "quoted"';
    expect((await putMe(token, { preferences: { note } })).status).toBe(200);
    expect((await storedPreferences(identity.id))?.preferences).toEqual({ note });
    const xml = await http(`${svc.url}/users/me`, { token, headers: XML });
    assertValidXml('user.xsd', xml.text);
    expect(xml.text).toContain('<note>&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp; &quot;quoted&quot;</note>');
    expect((await http(`${svc.url}/users/me`, { token })).json()).toMatchObject({ preferences: { note } });
  });

  it('when If-Match is stale, then 409 USER_409 and the stored preferences stay', async () => {
    const { identity, token } = addAccount(auth, 'user', randomUUID());
    expect((await putMe(token, { preferences: { v: 1 } }, { 'if-match': '"0"' })).status).toBe(200);
    const stale = await putMe(token, { preferences: { v: 2 } }, { 'if-match': '"0"' });
    expect(stale.status).toBe(409);
    expect(stale.json<ErrorBody>().error.code).toBe('USER_409');
    expect(await storedPreferences(identity.id)).toMatchObject({ preferences: { v: 1 }, version: 1 });
    expect((await putMe(token, { preferences: { v: 2 } }, { 'if-match': 'W/"1"' })).status).toBe(200);
    const bad = await putMe(token, { preferences: { v: 3 } }, { 'if-match': 'nonsense' });
    expect(bad.status).toBe(400);
    expect(bad.json<ErrorBody>().error.code).toBe('USER_400');
  });

  it('when PUTs race with the same If-Match (including the very first save), then exactly one wins', async () => {
    const { identity, token } = addAccount(auth, 'user', randomUUID());
    const first = await Promise.all([1, 2, 3].map((n) => putMe(token, { preferences: { n } }, { 'if-match': '"0"' })));
    expect(first.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    const second = await Promise.all([4, 5, 6].map((n) => putMe(token, { preferences: { n } }, { 'if-match': '"1"' })));
    expect(second.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    const winner = second.find((r) => r.status === 200)!.json<{ preferences: unknown }>().preferences;
    expect(await storedPreferences(identity.id)).toEqual({ preferences: winner, version: 2, org_id: identity.org_id });
  });
});

describe('GET /users/{id}', () => {
  it('when an admin reads a user of the same organization, then the user with preferences, in JSON and XML', async () => {
    const orgId = randomUUID();
    const admin = addAccount(auth, 'admin', orgId);
    const member = addAccount(auth, 'user', orgId);
    await putMe(member.token, { preferences: { lang: 'es' } });
    const res = await http(`${svc.url}/users/${member.identity.id}`, { token: admin.token });
    expect(res.status).toBe(200);
    assertMatchesSchema('user', res.json());
    expect(res.json()).toMatchObject({ ...member.identity, preferences: { lang: 'es' }, version: 1 });
    const xml = await http(`${svc.url}/users/${member.identity.id}`, { token: admin.token, headers: XML });
    assertValidXml('user.xsd', xml.text);
    expect(xml.text).toContain('<preferences><lang>es</lang></preferences>');
  });

  it('when an admin of another organization asks, then 404 exactly like an unknown id', async () => {
    const victim = addAccount(auth, 'user', randomUUID());
    await putMe(victim.token, { preferences: { secret: 'x' } });
    const otherAdmin = addAccount(auth, 'admin', randomUUID());
    const foreign = await http(`${svc.url}/users/${victim.identity.id}`, { token: otherAdmin.token });
    const unknown = await http(`${svc.url}/users/${randomUUID()}`, { token: otherAdmin.token });
    expect(foreign.status).toBe(404);
    expect(unknown.status).toBe(404);
    const strip = (b: ErrorBody) => ({ ...b.error, request_id: undefined });
    expect(strip(foreign.json<ErrorBody>())).toEqual(strip(unknown.json<ErrorBody>()));
    expect(foreign.json<ErrorBody>().error.code).toBe('USER_404');
    expect(foreign.text).not.toContain('secret');
  });

  it('when the id is not a UUID, then 404 without asking auth', async () => {
    const admin = addAccount(auth, 'admin', randomUUID());
    const before = auth.lookups.length;
    const res = await http(`${svc.url}/users/not-a-uuid`, { token: admin.token });
    expect(res.status).toBe(404);
    expect(res.json<ErrorBody>().error.code).toBe('USER_404');
    expect(auth.lookups.length).toBe(before);
  });

  it('when a user or manager calls the service directly, then 403', async () => {
    const orgId = randomUUID();
    const target = addAccount(auth, 'user', orgId);
    for (const role of ['user', 'manager'] as const) {
      const caller = addAccount(auth, role, orgId);
      const res = await http(`${svc.url}/users/${target.identity.id}`, { token: caller.token });
      expect(res.status, role).toBe(403);
      expect(res.json<ErrorBody>().error.code).toBe('AUTH_005');
    }
    expect((await http(`${svc.url}/users/${target.identity.id}`)).status).toBe(401);
  });
});

describe('when auth is unavailable', () => {
  it('when auth is unreachable, then profile routes answer 503 USER_503 and /ready says degraded', async () => {
    const down = await startUserService(await closedPortUrl());
    try {
      const account = addAccount(auth, 'admin', randomUUID());
      const before = await metricValue(down.url, 'user_identity_lookups_total', 'outcome="unavailable"');
      const me = await http(`${down.url}/users/me`, { token: account.token });
      expect(me.status).toBe(503);
      assertMatchesSchema('error', me.json());
      expect(me.json<ErrorBody>().error.code).toBe('USER_503');
      const byId = await http(`${down.url}/users/${randomUUID()}`, { token: account.token, headers: XML });
      expect(byId.status).toBe(503);
      assertValidXml('error.xsd', byId.text);
      const put = await http(`${down.url}/users/me`, { method: 'PUT', token: account.token, body: { preferences: { a: 1 } } });
      expect(put.status).toBe(503);
      expect(await storedPreferences(account.identity.id)).toBeUndefined();
      expect(await metricValue(down.url, 'user_identity_lookups_total', 'outcome="unavailable"')).toBe(before + 3);

      const ready = await http(`${down.url}/users/ready`);
      expect(ready.status).toBe(200);
      assertMatchesSchema('health', ready.json());
      expect(ready.json()).toMatchObject({ status: 'degraded', checks: [{ name: 'database', status: 'ok' }, { name: 'auth', status: 'degraded' }] });
    } finally {
      await down.stop();
    }
  });

  it('when auth answers an error status or a malformed identity, then 503 USER_503 (never a half-filled user)', async () => {
    const flaky = await startFakeAuth();
    const flakySvc = await startUserService(flaky.url);
    try {
      const account = addAccount(flaky, 'user', randomUUID());
      flaky.failWith = 500;
      expect((await http(`${flakySvc.url}/users/me`, { token: account.token })).status).toBe(503);
      flaky.failWith = 403;
      expect((await http(`${flakySvc.url}/users/me`, { token: account.token })).status).toBe(503);
      flaky.failWith = undefined;
      flaky.users.set(account.identity.id, { ...account.identity, role: 'superuser' as 'user' });
      const res = await http(`${flakySvc.url}/users/me`, { token: account.token });
      expect(res.status).toBe(503);
      expect(res.json<ErrorBody>().error.code).toBe('USER_503');
    } finally {
      await flakySvc.stop();
      await flaky.stop();
    }
  });

  it('when auth answers slower than IDENTITY_TIMEOUT_MS, then 503 within about that time', async () => {
    const slowAuth = await startFakeAuth();
    slowAuth.delayMs = 2000;
    const slow = await startUserService(slowAuth.url, { IDENTITY_TIMEOUT_MS: '300' });
    try {
      const account = addAccount(slowAuth, 'user', randomUUID());
      const started = Date.now();
      const res = await http(`${slow.url}/users/me`, { token: account.token });
      expect(res.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await slow.stop();
      await slowAuth.stop();
    }
  });
});

describe('service plumbing', () => {
  it('when probed, then health, ready (database + auth) and metrics answer under /users', async () => {
    const health = await http(`${svc.url}/users/health`, { headers: XML });
    expect(health.status).toBe(200);
    assertValidXml('health.xsd', health.text);
    const ready = await http(`${svc.url}/users/ready`, { headers: XML });
    expect(ready.status).toBe(200);
    assertValidXml('health.xsd', ready.text);
    expect(ready.text).toContain('<status>ready</status>');
    const metrics = await (await fetch(`${svc.url}/users/metrics`)).text();
    expect(metrics).toContain('# TYPE user_preference_updates_total counter');
    expect(metrics).toContain('# TYPE user_identity_lookups_total counter');
    expect(metrics).toMatch(/http_requests_total\{method="GET",route="\/users\/me",status="200"/);
  });

  it('when AUTH_URL is not a URL, then start fails naming the variable', async () => {
    await expect(startUserService('not a url')).rejects.toThrow(/AUTH_URL/);
  });
});
