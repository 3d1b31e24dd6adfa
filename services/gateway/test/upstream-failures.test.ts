import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { assertMatchesSchema, assertValidXml, http, mintAccessToken } from '@heartguard/kit/testing';
import { closedPortUrl, metricValue, startFakeUpstream, startTestGateway, type TestGateway } from './support.js';

const cleanups: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function gatewayTo(upstreamUrl: string, env: Record<string, string> = {}): Promise<TestGateway> {
  const gateway = await startTestGateway(upstreamUrl, env);
  cleanups.push(() => gateway.stop());
  return gateway;
}

/** A bare TCP server whose connections `onConnection` mistreats, for broken upstreams. */
async function rawUpstream(onConnection: (socket: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function metrics(gateway: TestGateway): Promise<string> {
  return (await http(`${gateway.url}/gateway/metrics`)).text;
}

const token = () => mintAccessToken({ role: 'user' });

describe('upstream failures', () => {
  it('when the upstream is down, then 503 GW_503 in JSON or XML, counted by upstream and kind', async () => {
    const gateway = await gatewayTo(await closedPortUrl());
    const json = await http(`${gateway.url}/users/me`, { token: token() });
    expect(json.status).toBe(503);
    assertMatchesSchema('error', json.json());
    expect(json.json()).toMatchObject({ error: { code: 'GW_503', message: 'Service unavailable' } });
    expect(json.headers.get('x-gateway-request-id')).toBeTruthy();
    const xml = await http(`${gateway.url}/organization/health`, { headers: { accept: 'application/xml' } });
    expect(xml.status).toBe(503);
    assertValidXml('error.xsd', xml.text);
    expect(xml.text).toContain('<code>GW_503</code>');
    const text = await metrics(gateway);
    expect(metricValue(text, 'gateway_upstream_errors_total', 'upstream="user",kind="unavailable"')).toBe(1);
    expect(metricValue(text, 'gateway_upstream_errors_total', 'upstream="organization",kind="unavailable"')).toBe(1);
  });

  it('when the upstream never answers and UPSTREAM_TIMEOUT_MS=300, then 504 GW_504 within about a second', async () => {
    const hanging = await startFakeUpstream('hang');
    cleanups.push(() => hanging.close());
    const gateway = await gatewayTo(hanging.url, { UPSTREAM_TIMEOUT_MS: '300' });
    const started = performance.now();
    const res = await http(`${gateway.url}/users/me`, { token: token(), headers: { accept: 'text/xml' } });
    const elapsed = performance.now() - started;
    expect(res.status).toBe(504);
    assertValidXml('error.xsd', res.text);
    expect(res.text).toContain('<code>GW_504</code>');
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(1000);
    const post = await http(`${gateway.url}/timeseries/query`, { token: token(), body: { measurement: 'hr' } });
    expect(post.status).toBe(504);
    expect(hanging.seen.length).toBe(2);
    expect(metricValue(await metrics(gateway), 'gateway_upstream_errors_total', 'upstream="timeseries",kind="timeout"')).toBe(1);
  });

  it('when the upstream accepts the connection but never reads or answers, then 504 as well', async () => {
    const silent = await rawUpstream(() => undefined);
    const gateway = await gatewayTo(silent, { UPSTREAM_TIMEOUT_MS: '300' });
    const res = await http(`${gateway.url}/media/items`, { token: token() });
    expect(res.status).toBe(504);
  });

  it('when the upstream answers with something that is not HTTP, then 502 GW_502', async () => {
    const garbage = await rawUpstream((socket) => socket.end('this is not http\r\n\r\n'));
    const gateway = await gatewayTo(garbage);
    const res = await http(`${gateway.url}/organization`, { token: token() });
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({ error: { code: 'GW_502' } });
    expect(metricValue(await metrics(gateway), 'gateway_upstream_errors_total', 'upstream="organization",kind="bad_gateway"')).toBe(1);
  });

  it('when the upstream sends headers then stalls the body, then the client connection is cut instead of hanging', async () => {
    const stalling = await rawUpstream((socket) =>
      socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"partial":')),
    );
    const gateway = await gatewayTo(stalling, { UPSTREAM_TIMEOUT_MS: '300' });
    const started = performance.now();
    const outcome = await http(`${gateway.url}/organization`, { token: token() }).then(
      (res) => `status ${res.status}`,
      (err: Error) => `failed: ${err.message}`,
    );
    expect(outcome).toMatch(/^failed/);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('when upstreams have failed in every way, then the gateway itself is still alive and healthy', async () => {
    const gateway = await gatewayTo(await closedPortUrl());
    await Promise.all(Array.from({ length: 20 }, () => http(`${gateway.url}/users/me`, { token: token() })));
    const health = await http(`${gateway.url}/gateway/health`);
    expect(health.status).toBe(200);
  });
});
