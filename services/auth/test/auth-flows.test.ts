import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { Redis } from 'ioredis';
import { assertMatchesSchema, assertValidXml, http } from '@heartguard/kit/testing';
import { revokedKey } from '@heartguard/kit';
import { PASSWORD, errorCode, registerAndLogin, startAuth, uniqueEmail } from './support.js';

let auth: Awaited<ReturnType<typeof startAuth>>;
let db: DataSource;
let redis: Redis | undefined;

beforeAll(async () => {
  auth = await startAuth();
  db = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL });
  await db.initialize();
  if (process.env.REDIS_URL) redis = new Redis(process.env.REDIS_URL);
});

afterAll(async () => {
  await auth?.stop();
  await db?.destroy();
  redis?.disconnect();
});

const xml = { accept: 'application/xml' };

describe('registration', () => {
  it('when an anonymous client registers, then the account is a user in the bootstrap org', async () => {
    const email = uniqueEmail();
    const res = await http(`${auth.url}/auth/register`, { body: { email, password: PASSWORD, full_name: 'Ana <b>&amp;</b>' } });
    expect(res.status).toBe(201);
    const body = res.json();
    assertMatchesSchema('auth#/definitions/registerResponse', body);
    expect(body).toMatchObject({ email, role: 'user', org_id: '00000000-0000-4000-8000-000000000001' });
    const rows = await db.query('SELECT role, password_hash, full_name FROM heartguard_core.users WHERE id = $1', [body.user_id]);
    expect(rows[0].role).toBe('user');
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(rows[0].full_name).toBe('Ana <b>&amp;</b>');
  });

  it('when an anonymous client asks for the admin role, then it is refused and nothing is stored', async () => {
    const email = uniqueEmail();
    const res = await http(`${auth.url}/auth/register`, { body: { email, password: PASSWORD, role: 'admin' } });
    expect(res.status).toBe(403);
    expect(errorCode(res)).toBe('AUTH_009');
    const rows = await db.query('SELECT 1 FROM heartguard_core.users WHERE email = $1', [email]);
    expect(rows).toHaveLength(0);
  });

  it('when an admin registers a manager, then the manager joins the admin organization', async () => {
    const admin = await http(`${auth.url}/auth/login`, { body: { email: auth.adminEmail, password: auth.adminPassword } });
    const res = await http(`${auth.url}/auth/register`, {
      body: { email: uniqueEmail('mgr'), password: PASSWORD, role: 'manager' },
      token: admin.json<{ access_token: string }>().access_token,
    });
    expect(res.status).toBe(201);
    expect(res.json()).toMatchObject({ role: 'manager', org_id: '00000000-0000-4000-8000-000000000001' });
  });

  it('when the email is already registered (any case), then 409 AUTH_008', async () => {
    const email = uniqueEmail();
    await http(`${auth.url}/auth/register`, { body: { email, password: PASSWORD } });
    const again = await http(`${auth.url}/auth/register`, { body: { email: email.toUpperCase(), password: PASSWORD } });
    expect(again.status).toBe(409);
    expect(errorCode(again)).toBe('AUTH_008');
  });

  it('when the body is XML, then it is validated like JSON and the XML answer matches the XSD', async () => {
    const email = uniqueEmail();
    const res = await http(`${auth.url}/auth/register`, {
      raw: `<RegisterRequest><email>${email}</email><password>${PASSWORD}</password></RegisterRequest>`,
      headers: { ...xml, 'content-type': 'application/xml' },
    });
    expect(res.status).toBe(201);
    assertValidXml('auth.xsd', res.text);
    expect(res.text).toContain(`<email>${email}</email>`);
    const bad = await http(`${auth.url}/auth/register`, {
      raw: '<RegisterRequest><email>not-an-email</email><password>x</password></RegisterRequest>',
      headers: { ...xml, 'content-type': 'application/xml' },
    });
    expect(bad.status).toBe(422);
    assertValidXml('error.xsd', bad.text);
    expect(bad.text).toContain('<field>/email</field>');
  });

  it('when the body has unknown fields, then 422 lists them', async () => {
    const res = await http(`${auth.url}/auth/register`, { body: { email: uniqueEmail(), password: PASSWORD, org_id: 'x' } });
    expect(res.status).toBe(422);
    assertMatchesSchema('error', res.json());
    expect(res.json<{ error: { details: Array<{ field: string }> } }>().error.details).toContainEqual(expect.objectContaining({ field: '/org_id' }));
  });
});

describe('login, profile and roles', () => {
  it('when credentials are right, then a token pair is returned in JSON and XML', async () => {
    const { email, tokens } = await registerAndLogin(auth.url);
    assertMatchesSchema('auth#/definitions/loginResponse', tokens);
    const xmlLogin = await http(`${auth.url}/auth/login`, {
      raw: `<LoginRequest><email>${email}</email><password>${PASSWORD}</password></LoginRequest>`,
      headers: { ...xml, 'content-type': 'application/xml; charset=utf-8' },
    });
    expect(xmlLogin.status).toBe(200);
    assertValidXml('auth.xsd', xmlLogin.text);
    const profile = await http(`${auth.url}/auth/profile`, { token: tokens.access_token });
    assertMatchesSchema('auth#/definitions/profile', profile.json());
    expect(profile.json()).toMatchObject({ email, role: 'user' });
    const profileXml = await http(`${auth.url}/auth/profile`, { token: tokens.access_token, headers: xml });
    assertValidXml('auth.xsd', profileXml.text);
    const roles = await http(`${auth.url}/auth/roles`, { token: tokens.access_token, headers: xml });
    assertValidXml('auth.xsd', roles.text);
    expect(roles.text).toContain('<role><name>admin</name>');
  });

  it('when the password is wrong or the account unknown, then the same 401 AUTH_001 is returned', async () => {
    const { email } = await registerAndLogin(auth.url);
    const wrong = await http(`${auth.url}/auth/login`, { body: { email, password: 'wrong password!' } });
    const unknown = await http(`${auth.url}/auth/login`, { body: { email: uniqueEmail(), password: 'wrong password!' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(errorCode(wrong)).toBe('AUTH_001');
    expect(wrong.json<{ error: { message: string } }>().error.message).toBe(unknown.json<{ error: { message: string } }>().error.message);
  });

  it('when an account fails too often from one IP, then it is locked with Retry-After even for the right password, but not from another IP', async () => {
    const { email } = await registerAndLogin(auth.url);
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    for (let i = 0; i < 5; i++) {
      const res = await http(`${auth.url}/auth/login`, { body: { email, password: 'bad password' }, headers: from('198.51.100.7') });
      expect(res.status).toBe(401);
    }
    const locked = await http(`${auth.url}/auth/login`, { body: { email, password: PASSWORD }, headers: from('198.51.100.7') });
    expect(locked.status).toBe(429);
    expect(errorCode(locked)).toBe('AUTH_006');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    const elsewhere = await http(`${auth.url}/auth/login`, { body: { email, password: PASSWORD }, headers: from('203.0.113.9') });
    expect(elsewhere.status).toBe(200);
  });
});

describe('refresh rotation', () => {
  it('when a refresh token is used, then a new pair is issued and the old token stops working', async () => {
    const { tokens } = await registerAndLogin(auth.url);
    const first = await http(`${auth.url}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } });
    expect(first.status).toBe(200);
    const rotated = first.json<{ refresh_token: string; access_token: string }>();
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    const second = await http(`${auth.url}/auth/refresh`, { body: { refresh_token: rotated.refresh_token } });
    expect(second.status).toBe(200);
  });

  it('when a rotated refresh token is reused, then the whole family is revoked', async () => {
    const { tokens } = await registerAndLogin(auth.url);
    const first = await http(`${auth.url}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } });
    const current = first.json<{ refresh_token: string }>().refresh_token;
    const reuse = await http(`${auth.url}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } });
    expect(reuse.status).toBe(401);
    expect(errorCode(reuse)).toBe('AUTH_007');
    const afterReuse = await http(`${auth.url}/auth/refresh`, { body: { refresh_token: current } });
    expect(afterReuse.status).toBe(401);
  });

  it('when one refresh token is used twice concurrently, then exactly one use succeeds', async () => {
    const { tokens } = await registerAndLogin(auth.url);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => http(`${auth.url}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(4);
  });
});

describe('logout and introspection', () => {
  it('when a user logs out, then the access token is revoked durably and in the store, and the session refresh dies', async () => {
    const { tokens } = await registerAndLogin(auth.url);
    const before = await http(`${auth.url}/auth/token/introspect`, { body: { token: tokens.access_token }, token: tokens.access_token });
    expect(before.json()).toMatchObject({ active: true });
    assertMatchesSchema('auth#/definitions/introspection', before.json());
    const out = await http(`${auth.url}/auth/logout`, { method: 'POST', token: tokens.access_token });
    expect(out.status).toBe(200);
    assertMatchesSchema('auth#/definitions/logoutResponse', out.json());
    const profile = await http(`${auth.url}/auth/profile`, { token: tokens.access_token });
    expect(profile.status).toBe(401);
    expect(errorCode(profile)).toBe('AUTH_004');
    const jti = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()).jti as string;
    const rows = await db.query('SELECT reason FROM heartguard_core.revoked_tokens WHERE jti = $1', [jti]);
    expect(rows).toEqual([{ reason: 'logout' }]);
    if (redis) {
      const ttl = await redis.ttl(revokedKey(jti));
      expect(ttl).toBeGreaterThan(800);
      expect(ttl).toBeLessThanOrEqual(900);
    }
    const refresh = await http(`${auth.url}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } });
    expect(refresh.status).toBe(401);
    const { tokens: other } = await registerAndLogin(auth.url);
    const after = await http(`${auth.url}/auth/token/introspect`, { body: { token: tokens.access_token }, token: other.access_token, headers: xml });
    assertValidXml('auth.xsd', after.text);
    expect(after.text).toContain('<active>false</active>');
  });

  it('when introspecting garbage, then the answer is inactive rather than an error', async () => {
    const { tokens } = await registerAndLogin(auth.url);
    const res = await http(`${auth.url}/auth/token/introspect`, { body: { token: 'not.a.jwt' }, token: tokens.access_token });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ active: false });
  });

  it('when a user token calls the internal identity endpoint, then 403; a service token gets the identity', async () => {
    const { tokens } = await registerAndLogin(auth.url);
    const sub = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()).sub as string;
    const denied = await http(`${auth.url}/auth/internal/users/${sub}`, { token: tokens.access_token });
    expect(denied.status).toBe(403);
    const allowed = await http(`${auth.url}/auth/internal/users/${sub}`, { token: auth.platform.serviceToken() });
    expect(allowed.status).toBe(200);
    expect(allowed.json()).toMatchObject({ id: sub, role: 'user' });
  });
});

describe('bootstrap', () => {
  it('when auth restarts with the same bootstrap variables, then the admin exists exactly once', async () => {
    const again = await startAuth({ BOOTSTRAP_ADMIN_EMAIL: auth.adminEmail, BOOTSTRAP_ADMIN_PASSWORD: auth.adminPassword });
    await again.stop();
    const rows = await db.query('SELECT role FROM heartguard_core.users WHERE email = $1', [auth.adminEmail]);
    expect(rows).toEqual([{ role: 'admin' }]);
  });
});
