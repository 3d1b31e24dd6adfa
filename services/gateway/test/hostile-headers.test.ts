import { request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertMatchesSchema, assertValidXml, http, mintAccessToken } from '@heartguard/kit/testing';
import { startFakeUpstream, startTestGateway, type FakeUpstream, type TestGateway } from './support.js';

let upstream: FakeUpstream;
let gateway: TestGateway;
const PORTAL = 'https://portal.heartguard.example';

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await startTestGateway(upstream.url, { GATEWAY_BODY_LIMIT_MB: '1', ALLOWED_ORIGINS: `${PORTAL},http://localhost:3000` });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

const token = () => mintAccessToken({ role: 'user', org_id: randomUUID() });

/** Streams a chunked body (no Content-Length) of `size` bytes. */
function postChunked(url: string, size: number, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('hostile headers', () => {
  it('when Accept is text/html, then 406 REQ_406 before anything else, even without a token', async () => {
    const before = upstream.seen.length;
    const res = await http(`${gateway.url}/users/me`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(406);
    assertMatchesSchema('error', res.json());
    expect(res.json()).toMatchObject({ error: { code: 'REQ_406' } });
    expect(res.headers.get('vary')).toContain('Accept');
    expect(upstream.seen.length).toBe(before);
  });

  it('when Accept uses q-values or wildcards we can serve, then the request goes through', async () => {
    const res = await http(`${gateway.url}/users/me`, { token: token(), headers: { accept: 'text/html;q=0.9, application/xml;q=0.5' } });
    expect(res.status).toBe(200);
  });

  it('when login is posted as text/plain, without a Content-Type, or in another charset, then 415 and nothing is proxied', async () => {
    const before = upstream.seen.length;
    const body = JSON.stringify({ email: 'a@example.com', password: 'x' });
    for (const headers of [{ 'content-type': 'text/plain' }, { 'content-type': 'application/json; charset=iso-8859-1' }, { 'content-type': 'application/x-www-form-urlencoded' }]) {
      const res = await http(`${gateway.url}/auth/login`, { raw: body, headers });
      expect(res.status, JSON.stringify(headers)).toBe(415);
      expect(res.json()).toMatchObject({ error: { code: 'REQ_415' } });
    }
    const none = await fetch(`${gateway.url}/auth/login`, { method: 'POST', body: new Uint8Array(Buffer.from(body)), headers: { accept: 'application/xml' } });
    expect(none.status).toBe(415);
    assertValidXml('error.xsd', await none.text());
    expect(upstream.seen.length).toBe(before);
  });

  it('when Content-Length exceeds GATEWAY_BODY_LIMIT_MB, then 413 REQ_413 and nothing is proxied', async () => {
    const before = upstream.seen.length;
    const res = await http(`${gateway.url}/media/upload`, { token: token(), raw: Buffer.alloc(1024 * 1024 + 1, 'a'), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: 'REQ_413' } });
    expect(upstream.seen.length).toBe(before);
    const atLimit = await http(`${gateway.url}/media/upload`, { token: token(), raw: Buffer.alloc(1024 * 1024, 'a'), headers: { 'content-type': 'application/json' } });
    expect(atLimit.status).toBe(200);
    expect(upstream.seen.at(-1)?.body.length).toBe(1024 * 1024);
  });

  it('when a chunked body grows past the limit, then the gateway cuts it off with 413; a small chunked body streams through', async () => {
    const headers = { authorization: `Bearer ${token()}`, 'content-type': 'application/json', accept: 'application/json' };
    const big = await postChunked(`${gateway.url}/media/upload`, 3 * 1024 * 1024, headers);
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body)).toMatchObject({ error: { code: 'REQ_413' } });
    const small = await postChunked(`${gateway.url}/media/upload`, 128 * 1024, headers);
    expect(small.status).toBe(200);
    expect((JSON.parse(small.body) as { body: string }).body.length).toBe(128 * 1024);
  });

  it('when a preflight comes from an allowed origin, then 204 with the exact origin, methods and headers, and it is not proxied', async () => {
    const before = upstream.seen.length;
    const res = await fetch(`${gateway.url}/organization`, {
      method: 'OPTIONS',
      headers: { origin: PORTAL, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization,content-type,x-request-id' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(PORTAL);
    expect(res.headers.get('access-control-allow-methods')).toBe('GET,POST,PUT,DELETE');
    expect(res.headers.get('access-control-allow-headers')).toBe('Authorization,Content-Type,Accept,X-Request-ID,If-Match');
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toContain('Origin');
    expect(upstream.seen.length).toBe(before);
  });

  it('when a preflight comes from another origin, then no Access-Control-Allow-Origin is sent (never "*")', async () => {
    const res = await fetch(`${gateway.url}/organization`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const odd = await fetch(`${gateway.url}/users/..%2fx`, { method: 'OPTIONS', headers: { origin: PORTAL } });
    expect(odd.status).toBe(204);
  });

  it('when an allowed origin makes a real request, then the answer exposes the rate-limit headers and varies on Origin and Accept', async () => {
    const res = await http(`${gateway.url}/users/me`, { token: token(), headers: { origin: PORTAL } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(PORTAL);
    expect(res.headers.get('access-control-expose-headers')).toContain('RateLimit-Remaining');
    expect(res.headers.get('access-control-expose-headers')).toContain('Retry-After');
    expect(res.headers.get('access-control-expose-headers')).toContain('ETag');
    const vary = res.headers.get('vary')!.split(',').map((v) => v.trim());
    expect(vary).toEqual(expect.arrayContaining(['Origin', 'Accept']));
  });

  it('when a request carries no Origin (mobile apps, services), then no CORS headers are added but the answer varies by Origin', async () => {
    const res = await http(`${gateway.url}/users/me`, { token: token() });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-expose-headers')).toBeNull();
    expect(res.headers.get('vary')!.split(',').map((v) => v.trim())).toEqual(expect.arrayContaining(['Origin', 'Accept']));
  });

  it('when the client sends identity, forwarding or hop-by-hop headers, then none of them reach the upstream', async () => {
    const res = await http(`${gateway.url}/users/me`, {
      token: token(),
      headers: {
        'x-user-id': 'admin-id',
        'X-User-Role': 'admin',
        'x-org-id': 'other-org',
        'x-authenticated-user': 'root',
        'x-service-name': 'audit',
        'x-forwarded-for': '10.9.9.9',
        'x-forwarded-host': 'evil.example',
        forwarded: 'for=10.9.9.9',
        'x-real-ip': '10.9.9.9',
        'x-gateway-request-id': 'spoofed-id-123',
        'x-custom-header': 'kept',
      },
    });
    expect(res.status).toBe(200);
    const gatewayId = res.headers.get('x-gateway-request-id');
    expect(gatewayId).not.toBe('spoofed-id-123');
    const seen = upstream.seen.find((r) => r.headers['x-gateway-request-id'] === gatewayId)!;
    for (const name of ['x-user-id', 'x-user-role', 'x-org-id', 'x-authenticated-user', 'x-service-name', 'x-forwarded-host', 'forwarded', 'x-real-ip']) {
      expect(seen.headers[name], name).toBeUndefined();
    }
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-custom-header']).toBe('kept');
  });

  it('when an error is answered by the gateway, then it carries the security headers and ids too', async () => {
    const res = await http(`${gateway.url}/nowhere`);
    expect(res.status).toBe(404);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(res.headers.get('x-gateway-request-id')).toBeTruthy();
    expect(res.headers.get('x-powered-by')).toBeNull();
  });
});
