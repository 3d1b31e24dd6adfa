import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier, revokedKey } from '@heartguard/kit';
import { assertMatchesSchema, http, mintAccessToken } from '@heartguard/kit/testing';
import { createBearerVerifier } from '../src/bearer-verification.js';
import { hasRedis, startFakeUpstream, startTestGateway, type FakeUpstream, type TestGateway } from './support.js';

let upstream: FakeUpstream;
let gateway: TestGateway;
let redis: Redis | undefined;
const orgId = randomUUID();
const secret = () => process.env.JWT_SECRET!;
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await startTestGateway(upstream.url);
  if (hasRedis) redis = new Redis(process.env.REDIS_URL!);
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  await redis?.quit();
});

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: randomUUID(),
    role: 'admin',
    org_id: orgId,
    typ: 'access',
    iat: now,
    exp: now + 600,
    jti: randomUUID(),
    iss: 'heartguard-auth',
    aud: 'heartguard',
    ...overrides,
  };
}

/** Signs HS256 by hand so that any key material, even a public key PEM, can be used as the secret. */
function hs256(payload: object, key: string | Buffer): string {
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${unsigned}.${createHmac('sha256', key).update(unsigned).digest('base64url')}`;
}

async function expectRefused(token: string, code: string, label: string): Promise<void> {
  const before = upstream.seen.length;
  const res = await http(`${gateway.url}/users/me`, { token });
  expect(res.status, label).toBe(401);
  assertMatchesSchema('error', res.json());
  expect(res.json<{ error: { code: string } }>().error.code, label).toBe(code);
  expect(upstream.seen.length, `${label}: must not be proxied`).toBe(before);
}

describe('token attacks at the gateway', () => {
  it('when the token uses alg "none", then 401 AUTH_003', async () => {
    await expectRefused(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`, 'AUTH_003', 'alg none');
    await expectRefused(`${b64({ alg: 'NONE', typ: 'JWT' })}.${b64(claims())}.`, 'AUTH_003', 'alg NONE');
  });

  it('when an HS256 token is signed with the RSA public key PEM as secret (HS/RS confusion), then 401', async () => {
    await expectRefused(hs256(claims(), publicPem), 'AUTH_003', 'public key as HMAC secret');
  });

  it('when an RS256 token arrives while the gateway is pinned to HS256, then 401', async () => {
    const token = jwt.sign(claims(), privateKey, { algorithm: 'RS256' });
    await expectRefused(token, 'AUTH_003', 'RS256 while pinned to HS256');
  });

  it('when exp is missing, then 401 even though the signature is valid', async () => {
    const { exp: _exp, ...noExp } = claims();
    await expectRefused(hs256(noExp, secret()), 'AUTH_003', 'missing exp');
  });

  it('when the token expired, then 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(hs256(claims({ iat: now - 3600, exp: now - 60 }), secret()), 'AUTH_003', 'expired');
  });

  it('when aud or iss is wrong, then 401', async () => {
    await expectRefused(mintAccessToken({ role: 'admin', org_id: orgId }, { audience: 'someone-else' }), 'AUTH_003', 'wrong aud');
    await expectRefused(mintAccessToken({ role: 'admin', org_id: orgId }, { issuer: 'evil-auth' }), 'AUTH_003', 'wrong iss');
  });

  it('when the signature or the payload is tampered with, then 401', async () => {
    const token = mintAccessToken({ role: 'user', org_id: orgId });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    await expectRefused(`${header}.${payload}.${flipped}`, 'AUTH_003', 'tampered signature');
    const escalated = b64({ ...(JSON.parse(Buffer.from(payload, 'base64url').toString()) as object), role: 'admin' });
    await expectRefused(`${header}.${escalated}.${signature}`, 'AUTH_003', 'tampered payload');
  });

  it('when the token is signed with another secret, is a refresh token, or is not a bearer, then 401', async () => {
    await expectRefused(hs256(claims(), 'x'.repeat(64)), 'AUTH_003', 'other secret');
    await expectRefused(hs256(claims({ typ: 'refresh' }), secret()), 'AUTH_003', 'refresh token');
    const basic = await http(`${gateway.url}/users/me`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(basic.status).toBe(401);
    expect(basic.json()).toMatchObject({ error: { code: 'AUTH_003' } });
    const junk = await http(`${gateway.url}/users/me`, { headers: { authorization: 'Bearer not.a.jwt' } });
    expect(junk.json()).toMatchObject({ error: { code: 'AUTH_003' } });
  });

  // Needs the shared Redis; without it revocations live in the auth process's own store.
  it.skipIf(!hasRedis)('when the token jti is revoked in Redis, then 401 AUTH_004, and the same token was accepted before', async () => {
    const jti = randomUUID();
    const token = mintAccessToken({ role: 'user', org_id: orgId }, { jti });
    expect((await http(`${gateway.url}/users/me`, { token })).status).toBe(200);
    await redis!.set(revokedKey(jti), '1', 'EX', 60);
    await expectRefused(token, 'AUTH_004', 'revoked jti');
    expect(gateway.audit.events.some((e) => e.action === 'auth.denied' && e.payload?.status === 401)).toBe(true);
  });

  it('when the token is valid, then the request is proxied with Authorization preserved and X-Gateway-Request-ID present', async () => {
    const token = hs256(claims({ role: 'user' }), secret());
    const res = await http(`${gateway.url}/users/me`, { token });
    expect(res.status).toBe(200);
    const gatewayId = res.headers.get('x-gateway-request-id');
    const seen = upstream.seen.find((r) => r.headers['x-gateway-request-id'] === gatewayId);
    expect(seen?.headers.authorization).toBe(`Bearer ${token}`);
  });
});

describe('verified-token cache', () => {
  const users = () => createTokenVerifier({ algorithm: 'HS256', secret: secret(), issuer: 'heartguard-auth', audience: 'heartguard' });

  it('when a token was verified, then it is recalled without re-verification; refused tokens are never recalled', async () => {
    const verifier = createBearerVerifier({ users: users(), serviceTokenSecret: process.env.SERVICE_TOKEN_SECRET! });
    const good = mintAccessToken({ role: 'user', org_id: orgId });
    expect(verifier.recall(good)).toBeUndefined();
    const outcome = await verifier.verify(good);
    expect('claims' in outcome && outcome.claims.role).toBe('user');
    expect(verifier.recall(good)?.role).toBe('user');
    expect(Object.isFrozen(verifier.recall(good))).toBe(true);
    const forged = `${good.slice(0, -2)}xx`;
    expect(await verifier.verify(forged)).toMatchObject({ error: { code: 'AUTH_003' } });
    expect(verifier.recall(forged)).toBeUndefined();
  });

  it('when the cache TTL or the token expiry passes, then the token is no longer recalled', async () => {
    const verifier = createBearerVerifier({ users: users(), serviceTokenSecret: process.env.SERVICE_TOKEN_SECRET!, cacheTtlMs: 30 });
    const token = mintAccessToken({ role: 'admin', org_id: orgId });
    await verifier.verify(token);
    expect(verifier.recall(token)).toBeDefined();
    await new Promise((r) => setTimeout(r, 60));
    expect(verifier.recall(token)).toBeUndefined();
    const shortLived = mintAccessToken({ role: 'admin', org_id: orgId }, { expiresIn: 1 });
    const fresh = createBearerVerifier({ users: users(), serviceTokenSecret: process.env.SERVICE_TOKEN_SECRET! });
    await fresh.verify(shortLived);
    expect(fresh.recall(shortLived)).toBeDefined();
    await new Promise((r) => setTimeout(r, 1100));
    expect(fresh.recall(shortLived)).toBeUndefined();
  });

  it('when the cache is full, then the oldest entry makes room', async () => {
    const verifier = createBearerVerifier({ users: users(), serviceTokenSecret: process.env.SERVICE_TOKEN_SECRET!, cacheSize: 2 });
    const tokens = [0, 1, 2].map(() => mintAccessToken({ role: 'user', org_id: orgId }));
    for (const token of tokens) await verifier.verify(token);
    expect(tokens.map((t) => verifier.recall(t) !== undefined)).toEqual([false, true, true]);
  });
});
