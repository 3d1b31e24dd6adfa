import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from '@heartguard/kit/testing';
import type { ServiceName } from '@heartguard/kit';
import { PASSWORD, startTestMesh, type Account, type TestMesh } from '../support/test-mesh.js';

/**
 * Every route of SPEC §5 × role × method, with the status a caller gets through the gateway.
 * Denials (401/403) are replayed against the owning service directly: the service enforces the
 * same rule without the gateway in front of it.
 */
type Who = 'anonymous' | 'user' | 'manager' | 'admin' | 'foreign_admin';
const WHO: Who[] = ['anonymous', 'user', 'manager', 'admin', 'foreign_admin'];

interface Call {
  method: string;
  path: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

interface Row {
  route: string;
  expect: Record<Who, number>;
  call: (who: Who) => Promise<Call> | Call;
}

const PNG_1X1 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const all = (status: number): Record<Who, number> => ({ anonymous: status, user: status, manager: status, admin: status, foreign_admin: status });
const member = (status: number): Record<Who, number> => ({ anonymous: 401, user: status, manager: status, admin: status, foreign_admin: status });

let t: TestMesh;
let accounts: Record<Exclude<Who, 'anonymous'>, Account>;
let loginAccount: Account;

async function uploadItem(owner: Account): Promise<string> {
  const res = await http(`${t.gateway}/media/upload`, { token: owner.token, body: { file_name: 'dot.png', content_type: 'image/png', data_base64: PNG_1X1 } });
  if (res.status !== 201) throw new Error(`upload failed ${res.status} ${res.text}`);
  return res.json<{ id: string }>().id;
}

async function createBucket(owner: Account): Promise<string> {
  const name = `b${randomUUID().slice(0, 8)}`;
  const res = await http(`${t.gateway}/timeseries/buckets`, { token: owner.token, body: { name, retention: '7d' } });
  if (res.status !== 201) throw new Error(`bucket failed ${res.status} ${res.text}`);
  return res.json<{ name: string }>().name;
}

const now = () => new Date().toISOString();
const hourAgo = () => new Date(Date.now() - 3600_000).toISOString();

const ROWS: Row[] = [
  { route: 'GET /gateway/health', expect: all(200), call: () => ({ method: 'GET', path: '/gateway/health' }) },
  { route: 'GET /gateway/ready', expect: all(200), call: () => ({ method: 'GET', path: '/gateway/ready' }) },
  { route: 'GET /gateway/metrics', expect: all(200), call: () => ({ method: 'GET', path: '/gateway/metrics' }) },
  ...(['auth', 'organization', 'users', 'media', 'timeseries', 'audit'] as const).flatMap((svc) =>
    (['health', 'ready', 'metrics'] as const).map((leaf) => ({ route: `GET /${svc}/${leaf}`, expect: all(200), call: () => ({ method: 'GET', path: `/${svc}/${leaf}` }) })),
  ),
  {
    route: 'POST /auth/register',
    expect: all(201),
    call: () => ({ method: 'POST', path: '/auth/register', body: { email: `rbac-${randomUUID()}@test.heartguard`, password: PASSWORD } }),
  },
  {
    route: 'POST /auth/register (role admin)',
    expect: { anonymous: 403, user: 403, manager: 403, admin: 201, foreign_admin: 201 },
    call: () => ({ method: 'POST', path: '/auth/register', body: { email: `rbac-${randomUUID()}@test.heartguard`, password: PASSWORD, role: 'admin' } }),
  },
  { route: 'POST /auth/login', expect: all(200), call: () => ({ method: 'POST', path: '/auth/login', body: { email: loginAccount.email, password: PASSWORD } }) },
  { route: 'POST /auth/refresh (unknown token)', expect: all(401), call: () => ({ method: 'POST', path: '/auth/refresh', body: { refresh_token: 'x'.repeat(43) } }) },
  { route: 'POST /auth/logout', expect: { ...member(200) }, call: async (who): Promise<Call> => {
      // Each logout uses a fresh session so the table's own tokens stay valid.
      if (who === 'anonymous') return { method: 'POST', path: '/auth/logout' };
      return { method: 'POST', path: '/auth/logout', headers: { authorization: `Bearer ${(await t.login(accounts[who].email)).token}` } };
    },
  },
  { route: 'GET /auth/profile', expect: member(200), call: () => ({ method: 'GET', path: '/auth/profile' }) },
  { route: 'GET /auth/roles', expect: member(200), call: () => ({ method: 'GET', path: '/auth/roles' }) },
  { route: 'POST /auth/token/introspect', expect: member(200), call: () => ({ method: 'POST', path: '/auth/token/introspect', body: { token: accounts.user.token } }) },
  { route: 'GET /auth/.well-known/jwks.json', expect: all(200), call: () => ({ method: 'GET', path: '/auth/.well-known/jwks.json' }) },
  { route: 'GET /auth/internal/users/:id (not routed)', expect: all(404), call: () => ({ method: 'GET', path: `/auth/internal/users/${accounts.user.id}` }) },
  { route: 'GET /organization', expect: member(200), call: () => ({ method: 'GET', path: '/organization' }) },
  {
    route: 'PUT /organization',
    expect: { anonymous: 401, user: 403, manager: 200, admin: 200, foreign_admin: 200 },
    call: () => ({ method: 'PUT', path: '/organization', body: { name: `Org ${randomUUID().slice(0, 6)}` } }),
  },
  { route: 'DELETE /organization (no such route)', expect: all(404), call: () => ({ method: 'DELETE', path: '/organization' }) },
  { route: 'GET /organization/policies', expect: member(200), call: () => ({ method: 'GET', path: '/organization/policies' }) },
  { route: 'GET /users/me', expect: member(200), call: () => ({ method: 'GET', path: '/users/me' }) },
  { route: 'PUT /users/me', expect: member(200), call: () => ({ method: 'PUT', path: '/users/me', body: { preferences: { lang: 'en' } } }) },
  {
    route: 'GET /users/:id (same org user)',
    expect: { anonymous: 401, user: 403, manager: 403, admin: 200, foreign_admin: 404 },
    call: () => ({ method: 'GET', path: `/users/${accounts.user.id}` }),
  },
  {
    route: 'POST /media/upload',
    expect: member(201),
    call: () => ({ method: 'POST', path: '/media/upload', body: { file_name: 'dot.png', content_type: 'image/png', data_base64: PNG_1X1 } }),
  },
  { route: 'GET /media/items', expect: member(200), call: () => ({ method: 'GET', path: '/media/items' }) },
  {
    route: 'GET /media/items/:id/download',
    expect: { anonymous: 401, user: 200, manager: 200, admin: 200, foreign_admin: 404 },
    call: async () => ({ method: 'GET', path: `/media/items/${await uploadItem(accounts.user)}/download` }),
  },
  {
    route: 'DELETE /media/items/:id',
    expect: { anonymous: 401, user: 403, manager: 403, admin: 204, foreign_admin: 204 },
    call: async () => ({ method: 'DELETE', path: `/media/items/${await uploadItem(accounts.user)}` }),
  },
  {
    route: 'POST /timeseries/write',
    expect: member(200),
    call: () => ({ method: 'POST', path: '/timeseries/write', body: { points: [{ measurement: 'heart_rate', tags: { device: 'd1' }, fields: { bpm: 72 }, timestamp: now() }] } }),
  },
  {
    route: 'POST /timeseries/query',
    expect: member(200),
    call: () => ({ method: 'POST', path: '/timeseries/query', body: { measurement: 'heart_rate', range_start: hourAgo(), range_stop: now() } }),
  },
  {
    route: 'POST /timeseries/buckets',
    expect: { anonymous: 401, user: 403, manager: 201, admin: 201, foreign_admin: 201 },
    call: () => ({ method: 'POST', path: '/timeseries/buckets', body: { name: `b${randomUUID().slice(0, 8)}`, retention: '7d' } }),
  },
  { route: 'GET /timeseries/buckets', expect: member(200), call: () => ({ method: 'GET', path: '/timeseries/buckets' }) },
  {
    route: 'DELETE /timeseries/buckets/:bucket',
    expect: { anonymous: 401, user: 403, manager: 403, admin: 204, foreign_admin: 404 },
    call: async () => ({ method: 'DELETE', path: `/timeseries/buckets/${await createBucket(accounts.admin)}` }),
  },
  {
    route: 'POST /audit/events',
    expect: { anonymous: 401, user: 403, manager: 403, admin: 403, foreign_admin: 403 },
    call: () => ({ method: 'POST', path: '/audit/events', body: { actor: 'x', action: 'forged.event' } }),
  },
  { route: 'GET /audit/events', expect: { anonymous: 401, user: 403, manager: 403, admin: 200, foreign_admin: 200 }, call: () => ({ method: 'GET', path: '/audit/events' }) },
  { route: 'GET /audit/verify', expect: { anonymous: 401, user: 403, manager: 403, admin: 200, foreign_admin: 200 }, call: () => ({ method: 'GET', path: '/audit/verify' }) },
  { route: 'GET /admin (unknown route)', expect: all(404), call: () => ({ method: 'GET', path: '/admin' }) },
];

const SERVICE_BY_PREFIX: Record<string, ServiceName> = {
  gateway: 'gateway',
  auth: 'auth',
  organization: 'organization',
  users: 'user',
  media: 'media',
  timeseries: 'timeseries',
  audit: 'audit',
};

async function send(base: string, who: Who, call: Call) {
  const headers: Record<string, string> = { ...(call.headers ?? {}) };
  if (who !== 'anonymous' && !headers.authorization) headers.authorization = `Bearer ${accounts[who].token}`;
  return http(`${base}${call.path}`, { method: call.method, headers, ...(call.body !== undefined ? { body: call.body } : {}), ...(call.raw !== undefined ? { raw: call.raw } : {}) });
}

beforeAll(async () => {
  t = await startTestMesh();
  accounts = {
    user: await t.createAccount('user'),
    manager: await t.createAccount('manager'),
    admin: t.admin,
    foreign_admin: await t.createForeignAdmin(),
  };
  loginAccount = await t.createAccount('user');
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

describe('RBAC table through the gateway', () => {
  it.each(ROWS.flatMap((row) => WHO.map((who) => [row.route, who, row] as const)))('%s as %s', async (_route, who, row) => {
    const call = await row.call(who);
    const res = await send(t.gateway, who, call);
    expect(res.status, `${row.route} as ${who}: ${res.text.slice(0, 300)}`).toBe(row.expect[who]);
    const expected = row.expect[who];
    if (expected === 401 || expected === 403) {
      const service = SERVICE_BY_PREFIX[call.path.split('/')[1]!]!;
      const direct = await send(t.mesh.url(service), who, await row.call(who));
      expect(direct.status, `direct to ${service}: ${row.route} as ${who}: ${direct.text.slice(0, 300)}`).toBe(expected);
    }
  });

  it('when a foreign admin deletes an item of another organization, then the item survives', async () => {
    const id = await uploadItem(accounts.user);
    const res = await send(t.gateway, 'foreign_admin', { method: 'DELETE', path: `/media/items/${id}` });
    expect(res.status).toBe(204);
    const still = await send(t.gateway, 'user', { method: 'GET', path: `/media/items/${id}/download` });
    expect(still.status).toBe(200);
  });
});
