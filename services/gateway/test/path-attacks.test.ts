import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertMatchesSchema, assertValidXml, mintAccessToken } from '@heartguard/kit/testing';
import { canonicalPath } from '../src/canonical-path.js';
import { startFakeUpstream, startTestGateway, type FakeUpstream, type TestGateway } from './support.js';

let upstream: FakeUpstream;
let gateway: TestGateway;
let adminToken: string;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await startTestGateway(upstream.url);
  adminToken = mintAccessToken({ role: 'admin', org_id: randomUUID() });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

/** Sends the request target byte for byte: fetch and URL would normalise exactly what is under test. */
function rawRequest(baseUrl: string, target: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    const lines = [`GET ${target} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  });
}

const ATTACKS = [
  '//users/me',
  '/users//me',
  '/users/me//',
  '/users/..%2fme',
  '/users/..%2Fme',
  '/users/%2e%2e/x',
  '/users/%2E%2E/x',
  '/users/%2e/me',
  '/users/.%2e/users/me',
  '/media/items/a%2fb/download',
  '/media/items/a%2Fb/download',
  '/users\\me',
  '/users/%5cme',
  '/users/%5Cme',
  '/users/./me',
  '/users/../users/me',
  '/./users/me',
  '/users/me/.',
  '/users/me/..',
  '/users/me%00',
  '/users/%00',
  '/users/%0a',
  '/users/%1F',
  '/users/%7f',
  '/users/%zz',
  '/users/me%',
  '/users/me/',
  'http://127.0.0.1/users/me',
];

describe('canonical paths', () => {
  for (const target of ATTACKS) {
    it(`when the request target is ${JSON.stringify(target)}, then 400 REQ_404 and the upstream sees nothing`, async () => {
      const before = upstream.seen.length;
      const res = await rawRequest(gateway.url, target, { Authorization: `Bearer ${adminToken}`, Accept: 'application/json' });
      expect(res.status).toBe(400);
      const body = JSON.parse(res.body) as { error: { code: string } };
      assertMatchesSchema('error', body);
      expect(body.error.code).toBe('REQ_404');
      expect(upstream.seen.length).toBe(before);
    });
  }

  it('when a raw control character or fragment is in the target, then the request is refused and never proxied', async () => {
    const before = upstream.seen.length;
    for (const target of ['/users/me\u0001', '/users/me#x']) {
      const res = await rawRequest(gateway.url, target, { Authorization: `Bearer ${adminToken}` });
      expect(res.status, target).toBe(400);
    }
    expect(upstream.seen.length).toBe(before);
  });

  it('when a bad path is requested with Accept XML, then the 400 envelope is valid XML', async () => {
    const res = await rawRequest(gateway.url, '/users/%2e%2e/admin', { Accept: 'application/xml' });
    expect(res.status).toBe(400);
    assertValidXml('error.xsd', res.body);
    expect(res.body).toContain('<code>REQ_404</code>');
  });

  it('when dots, slashes or percent signs appear only in the query or inside a segment, then the request passes', async () => {
    const res = await rawRequest(gateway.url, '/users/me?next=/../x%2f&a=%2e', { Authorization: `Bearer ${adminToken}`, Accept: 'application/json' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ path: '/users/me?next=/../x%2f&a=%2e' });
    const dotted = await rawRequest(gateway.url, '/media/files/org_1/user_2/a.b..c%20d.png', { Accept: 'application/json' });
    expect(dotted.status).toBe(200);
  });

  it('when canonicalPath is given edge cases, then it keeps only origin-form canonical paths', () => {
    expect(canonicalPath('/')).toBe('/');
    expect(canonicalPath('/users/me?x=..//')).toBe('/users/me');
    expect(canonicalPath('/users/...')).toBe('/users/...');
    expect(canonicalPath('/users/a%20b')).toBe('/users/a%20b');
    expect(canonicalPath('*')).toBeUndefined();
    expect(canonicalPath('')).toBeUndefined();
    expect(canonicalPath('/a/%2E')).toBeUndefined();
  });
});
