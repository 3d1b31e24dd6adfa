import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServiceTokenIssuer } from '@heartguard/kit';
import { assertMatchesSchema, assertValidXml, http, mintAccessToken } from '@heartguard/kit/testing';
import { hasRedis, metricValue, startFakeUpstream, startTestGateway, type FakeUpstream, type TestGateway } from './support.js';

let upstream: FakeUpstream;
let gateway: TestGateway;
const orgId = randomUUID();

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await startTestGateway(upstream.url);
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

function seenWith(gatewayRequestId: string | null) {
  return upstream.seen.find((r) => r.headers['x-gateway-request-id'] === gatewayRequestId);
}

describe('gateway proxying', () => {
  it('when an authenticated GET is proxied, then path, query, Accept, Authorization and X-Request-ID arrive unchanged and X-Gateway-Request-ID is added', async () => {
    const token = mintAccessToken({ role: 'user', org_id: orgId });
    const requestId = `req-${randomUUID()}`;
    const res = await http(`${gateway.url}/users/me?fields=a%20b&x=1`, { token, headers: { accept: 'application/xml', 'x-request-id': requestId } });
    expect(res.status).toBe(200);
    const gatewayId = res.headers.get('x-gateway-request-id');
    expect(gatewayId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-request-id')).toBe(requestId);
    const seen = seenWith(gatewayId)!;
    expect(seen).toBeDefined();
    expect(seen.method).toBe('GET');
    expect(seen.url).toBe('/users/me?fields=a%20b&x=1');
    expect(seen.headers.authorization).toBe(`Bearer ${token}`);
    expect(seen.headers.accept).toBe('application/xml');
    expect(seen.headers['x-request-id']).toBe(requestId);
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(res.headers.get('ratelimit-limit')).toBe('1000');
    expect(Number(res.headers.get('ratelimit-remaining'))).toBeLessThan(1000);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('when a JSON or XML body is posted, then it reaches the upstream byte for byte with its Content-Type', async () => {
    const token = mintAccessToken({ role: 'user', org_id: orgId });
    const json = JSON.stringify({ measurement: 'hr', fields: { bpm: 72 }, note: 'ünïcode ✓' });
    const res = await http(`${gateway.url}/timeseries/query`, { token, raw: json, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(res.status).toBe(200);
    const seen = seenWith(res.headers.get('x-gateway-request-id'))!;
    expect(seen.body).toBe(json);
    expect(seen.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(json)));

    const xml = '<?xml version="1.0"?><Preferences><theme>dark</theme></Preferences>';
    const put = await http(`${gateway.url}/users/me`, { method: 'PUT', token, raw: xml, headers: { 'content-type': 'application/xml' } });
    expect(put.status).toBe(200);
    const seenXml = seenWith(put.headers.get('x-gateway-request-id'))!;
    expect(seenXml.method).toBe('PUT');
    expect(seenXml.body).toBe(xml);
  });

  it('when line protocol is posted to /timeseries/write, then text/plain is accepted there only', async () => {
    const token = mintAccessToken({ role: 'user', org_id: orgId });
    const line = 'heart_rate,device=d1 bpm=72 1700000000000000000';
    const res = await http(`${gateway.url}/timeseries/write`, { token, raw: line, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    expect(res.status).toBe(200);
    expect(seenWith(res.headers.get('x-gateway-request-id'))?.body).toBe(line);
    const refused = await http(`${gateway.url}/timeseries/query`, { token, raw: line, headers: { 'content-type': 'text/plain' } });
    expect(refused.status).toBe(415);
    expect(refused.json()).toMatchObject({ error: { code: 'REQ_415' } });
  });

  it('when a service probe like /auth/health is requested, then it is proxied rather than answered by the gateway', async () => {
    const res = await http(`${gateway.url}/auth/health`);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ method: 'GET', path: '/auth/health' });
    const metrics = await http(`${gateway.url}/media/metrics`, { headers: { accept: 'text/plain' } });
    expect(metrics.status).toBe(200);
    expect(metrics.json()).toMatchObject({ path: '/media/metrics' });
  });

  it('when /gateway/health and /gateway/ready are asked in JSON and XML, then they answer locally and match the schemas', async () => {
    const before = upstream.seen.length;
    const health = await http(`${gateway.url}/gateway/health`);
    expect(health.status).toBe(200);
    assertMatchesSchema('health', health.json());
    expect(health.json()).toMatchObject({ status: 'ok', service: 'gateway' });
    const healthXml = await http(`${gateway.url}/gateway/health`, { headers: { accept: 'application/xml' } });
    assertValidXml('health.xsd', healthXml.text);

    const ready = await http(`${gateway.url}/gateway/ready`);
    expect(ready.status).toBe(200);
    assertMatchesSchema('health', ready.json());
    expect(ready.json()).toEqual({ status: 'ready', service: 'gateway', checks: hasRedis ? [{ name: 'redis', status: 'ok' }] : [] });
    const readyXml = await http(`${gateway.url}/gateway/ready`, { headers: { accept: 'text/xml' } });
    expect(readyXml.status).toBe(200);
    assertValidXml('health.xsd', readyXml.text);
    expect(readyXml.text).toContain('<status>ready</status>');
    const root = await http(`${gateway.url}/health`);
    expect(root.json()).toMatchObject({ service: 'gateway' });
    expect(upstream.seen.length).toBe(before);
  });

  it('when routes are hit, then /gateway/metrics labels them by template, never by raw path', async () => {
    const admin = mintAccessToken({ role: 'admin', org_id: orgId });
    const id = randomUUID();
    expect((await http(`${gateway.url}/users/${id}`, { token: admin })).status).toBe(200);
    await http(`${gateway.url}/no/such/route`);
    const res = await http(`${gateway.url}/gateway/metrics`, { headers: { accept: 'text/plain' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(metricValue(res.text, 'http_requests_total', 'route="/users/:id",status="200"')).toBeGreaterThanOrEqual(1);
    expect(metricValue(res.text, 'http_requests_total', 'route="unmatched",status="404"')).toBeGreaterThanOrEqual(1);
    expect(res.text).not.toContain(id);
    expect(res.text).not.toContain('/no/such/route');
    expect(res.text).toContain(`gateway_redis_up{service="gateway"} ${hasRedis ? 1 : 0}`);
  });

  it('when a route is not in the table (including /auth/internal/*), then 404 REQ_410 in JSON or XML and nothing is proxied', async () => {
    const before = upstream.seen.length;
    const admin = mintAccessToken({ role: 'admin', org_id: orgId });
    const internal = await http(`${gateway.url}/auth/internal/users/${randomUUID()}`, { token: admin });
    expect(internal.status).toBe(404);
    assertMatchesSchema('error', internal.json());
    expect(internal.json()).toMatchObject({ error: { code: 'REQ_410' } });
    const xml = await http(`${gateway.url}/billing/invoices`, { method: 'DELETE', headers: { accept: 'application/xml' } });
    expect(xml.status).toBe(404);
    assertValidXml('error.xsd', xml.text);
    expect(xml.text).toContain('<code>REQ_410</code>');
    const wrongMethod = await http(`${gateway.url}/organization`, { method: 'DELETE', token: admin });
    expect(wrongMethod.status).toBe(404);
    expect(upstream.seen.length).toBe(before);
  });
});

describe('gateway RBAC through the pipeline', () => {
  it('when no token is sent to an authenticated route, then 401 AUTH_002, an auth.denied audit event, and nothing proxied', async () => {
    const res = await http(`${gateway.url}/organization`);
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ error: { code: 'AUTH_002' } });
    expect(seenWith(res.headers.get('x-gateway-request-id'))).toBeUndefined();
    expect(gateway.audit.events).toContainEqual({
      action: 'auth.denied',
      actor: 'ip:127.0.0.1',
      org_id: null,
      outcome: 'denied',
      payload: { method: 'GET', path: '/organization', status: 401 },
    });
  });

  it('when a user calls an admin route, then 403 AUTH_005 and an access.denied event with the user as actor', async () => {
    const sub = randomUUID();
    const token = mintAccessToken({ sub, role: 'user', org_id: orgId });
    const res = await http(`${gateway.url}/audit/events?actor=x`, { token, headers: { accept: 'application/xml' } });
    expect(res.status).toBe(403);
    assertValidXml('error.xsd', res.text);
    expect(res.text).toContain('<code>AUTH_005</code>');
    expect(seenWith(res.headers.get('x-gateway-request-id'))).toBeUndefined();
    expect(gateway.audit.events).toContainEqual({
      action: 'access.denied',
      actor: sub,
      org_id: orgId,
      outcome: 'denied',
      payload: { method: 'GET', path: '/audit/events', status: 403 },
    });
  });

  it('when a manager updates the organization and a user tries, then the manager is proxied and the user is refused', async () => {
    const body = { name: 'Clinic' };
    const manager = await http(`${gateway.url}/organization`, { method: 'PUT', token: mintAccessToken({ role: 'manager', org_id: orgId }), body });
    expect(manager.status).toBe(200);
    expect(seenWith(manager.headers.get('x-gateway-request-id'))?.body).toBe(JSON.stringify(body));
    const user = await http(`${gateway.url}/organization`, { method: 'PUT', token: mintAccessToken({ role: 'user', org_id: orgId }), body });
    expect(user.status).toBe(403);
  });

  it('when a service token posts audit events, then it is proxied, while a user token there gets 403 and a service token on a user route gets 403', async () => {
    const serviceToken = createServiceTokenIssuer(process.env.SERVICE_TOKEN_SECRET!, 'media')();
    const ok = await http(`${gateway.url}/audit/events`, { token: serviceToken, body: { events: [] } });
    expect(ok.status).toBe(200);
    expect(seenWith(ok.headers.get('x-gateway-request-id'))?.headers.authorization).toBe(`Bearer ${serviceToken}`);
    const asUser = await http(`${gateway.url}/audit/events`, { token: mintAccessToken({ role: 'admin', org_id: orgId }), body: { events: [] } });
    expect(asUser.status).toBe(403);
    const serviceOnUserRoute = await http(`${gateway.url}/users/me`, { token: serviceToken });
    expect(serviceOnUserRoute.status).toBe(403);
  });

  it('when registering anonymously or as an admin, then both are proxied and the admin bearer is forwarded', async () => {
    const body = { email: `a-${randomUUID()}@example.com`, password: 'correct horse battery', full_name: 'A' };
    const anonymous = await http(`${gateway.url}/auth/register`, { body });
    expect(anonymous.status).toBe(200);
    expect(seenWith(anonymous.headers.get('x-gateway-request-id'))?.headers.authorization).toBeUndefined();
    const admin = mintAccessToken({ role: 'admin', org_id: orgId });
    const asAdmin = await http(`${gateway.url}/auth/register`, { body: { ...body, role: 'manager' }, token: admin });
    expect(asAdmin.status).toBe(200);
    expect(seenWith(asAdmin.headers.get('x-gateway-request-id'))?.headers.authorization).toBe(`Bearer ${admin}`);
    const forged = await http(`${gateway.url}/auth/register`, { body, token: `${admin.slice(0, -2)}xx` });
    expect(forged.status).toBe(401);
    expect(forged.json()).toMatchObject({ error: { code: 'AUTH_003' } });
  });

  it('when a signed media download link is fetched without a token, then it is proxied untouched (media checks the signature)', async () => {
    const res = await http(`${gateway.url}/media/files/org_1/user_2/abc-scan.png?expires=1700000000&sig=abc`);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ path: '/media/files/org_1/user_2/abc-scan.png?expires=1700000000&sig=abc' });
  });
});
