import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpAuditEmitter, type AuditEmitter, type AuditEvent, type HttpAuditEmitterOptions } from './audit-emitter.js';
import { createLogger } from './logger.js';
import { runWithContext } from './request-context.js';

/** A local HTTP peer standing in for the audit service; the test decides each answer. */
interface Peer {
  url: string;
  batches: AuditEvent[][];
  close(): Promise<void>;
}

type Answer = (events: AuditEvent[], req: IncomingMessage, res: ServerResponse) => void;

async function startPeer(answer: Answer = (_e, _r, res) => res.writeHead(201).end('{}')): Promise<Peer> {
  const batches: AuditEvent[][] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const events = (JSON.parse(Buffer.concat(chunks).toString()) as { events: AuditEvent[] }).events;
    batches.push(events);
    answer(events, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    batches,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const logger = createLogger({ service: 'test', level: 'silent' });
const cleanups: Array<() => Promise<void>> = [];

function emitter(auditUrl: string, options: Partial<HttpAuditEmitterOptions> = {}): AuditEmitter {
  const created = createHttpAuditEmitter({
    service: 'gateway',
    auditUrl,
    serviceToken: () => 'svc-token',
    logger,
    flushIntervalMs: 20,
    minBackoffMs: 10,
    maxBackoffMs: 80,
    stopTimeoutMs: 200,
    ...options,
  });
  cleanups.push(() => created.stop());
  return created;
}

// A port nothing listens on: connections are refused at once.
async function deadUrl(): Promise<string> {
  const peer = await startPeer();
  await peer.close();
  return peer.url;
}

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('createHttpAuditEmitter', () => {
  it('when events are emitted, then they are shipped in batches with ids, service, timestamp, request id and the service token', async () => {
    let authorization: string | undefined;
    const peer = await startPeer((_e, req, res) => {
      authorization = req.headers.authorization;
      res.writeHead(201).end();
    });
    cleanups.push(peer.close);
    const audit = emitter(peer.url, { batchSize: 10 });
    runWithContext({ requestId: 'req-abcdef123' }, () => {
      for (let i = 0; i < 25; i++) audit.emit({ action: 'auth.login', actor: `u${i}`, org_id: null, payload: { i } });
    });
    await audit.flush(2000);
    expect(audit.pending()).toBe(0);
    expect(peer.batches.map((b) => b.length)).toEqual([10, 10, 5]);
    const all = peer.batches.flat();
    expect(all.map((e) => e.payload?.i)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(new Set(all.map((e) => e.id)).size).toBe(25);
    expect(all[0]).toMatchObject({ service: 'gateway', request_id: 'req-abcdef123', action: 'auth.login', actor: 'u0' });
    expect(Date.parse(all[0]!.occurred_at)).not.toBeNaN();
    expect(authorization).toBe('Bearer svc-token');
  });

  it('when audit is unreachable, then emit neither throws nor waits, and events stay buffered', async () => {
    const audit = emitter(await deadUrl());
    const started = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) audit.emit({ action: 'a.b', actor: 'x' });
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(500);
    await audit.flush(150);
    expect(audit.pending()).toBe(1000);
  });

  it('when deliveries keep failing, then retry delays grow exponentially up to the cap, with jitter', async () => {
    const delays: number[] = [];
    const audit = emitter(await deadUrl(), { minBackoffMs: 10, maxBackoffMs: 80, onRetry: (_r, _q, delay) => delays.push(delay) });
    audit.emit({ action: 'a.b', actor: 'x' });
    await audit.flush(700);
    expect(delays.length).toBeGreaterThanOrEqual(5);
    const ceilings = [10, 20, 40, 80, 80];
    ceilings.forEach((ceiling, i) => {
      expect(delays[i]).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delays[i]).toBeLessThanOrEqual(ceiling);
    });
    expect(Math.max(...delays)).toBeLessThanOrEqual(80);
  });

  it('when the buffer is full, then the oldest events are dropped and counted', async () => {
    let droppedCount = 0;
    const audit = emitter(await deadUrl(), { maxBuffered: 50, onDropped: (n) => (droppedCount += n) });
    for (let i = 0; i < 80; i++) audit.emit({ action: 'a.b', actor: `u${i}` });
    expect(audit.pending()).toBe(50);
    expect(droppedCount).toBe(30);
  });

  it('when audit refuses a batch because of one bad event, then only that event is dropped', async () => {
    const peer = await startPeer((events, _req, res) => {
      if (events.some((e) => e.action === 'bad action')) res.writeHead(422).end();
      else res.writeHead(201).end();
    });
    cleanups.push(peer.close);
    let droppedCount = 0;
    const audit = emitter(peer.url, { batchSize: 16, onDropped: (n) => (droppedCount += n) });
    for (let i = 0; i < 16; i++) audit.emit({ action: i === 11 ? 'bad action' : 'good.action', actor: `u${i}` });
    await audit.flush(2000);
    expect(audit.pending()).toBe(0);
    expect(droppedCount).toBe(1);
    const delivered = peer.batches.filter((b) => !b.some((e) => e.action === 'bad action')).flat();
    expect(delivered.map((e) => e.actor).sort()).toEqual(Array.from({ length: 16 }, (_, i) => `u${i}`).filter((a) => a !== 'u11').sort());
  });

  it('when audit answers 503 and then recovers, then the same events (same ids) are resent', async () => {
    let failuresLeft = 2;
    const peer = await startPeer((_e, _req, res) => res.writeHead(failuresLeft-- > 0 ? 503 : 201).end());
    cleanups.push(peer.close);
    const audit = emitter(peer.url);
    for (let i = 0; i < 5; i++) audit.emit({ action: 'a.b', actor: `u${i}` });
    await audit.flush(2000);
    expect(audit.pending()).toBe(0);
    expect(peer.batches).toHaveLength(3);
    expect(peer.batches[2]!.map((e) => e.id)).toEqual(peer.batches[0]!.map((e) => e.id));
  });

  it('when payloads are huge or not serialisable, then emit does not throw and a marker travels instead', async () => {
    const peer = await startPeer();
    cleanups.push(peer.close);
    const audit = emitter(peer.url, { maxPayloadBytes: 1024 });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    audit.emit({ action: 'a.b', actor: 'x', payload: { blob: 'y'.repeat(5000) } });
    audit.emit({ action: 'a.b', actor: 'x', payload: circular });
    audit.emit({ action: 'a.b', actor: 'x', payload: { big: 10n } as unknown as Record<string, unknown> });
    await audit.flush(2000);
    expect(peer.batches.flat().map((e) => e.payload)).toEqual([{ truncated: true, original_bytes: 5011 }, { unserializable: true }, { unserializable: true }]);
  });

  it('when events are large, then a batch stays under maxBatchBytes', async () => {
    const peer = await startPeer();
    cleanups.push(peer.close);
    const audit = emitter(peer.url, { batchSize: 100, maxBatchBytes: 10_000 });
    for (let i = 0; i < 20; i++) audit.emit({ action: 'a.b', actor: 'x', payload: { text: 'z'.repeat(2000) } });
    await audit.flush(2000);
    expect(peer.batches.flat()).toHaveLength(20);
    expect(Math.max(...peer.batches.map((b) => JSON.stringify(b).length))).toBeLessThan(10_000);
  });

  it('when stopped while audit refuses connections, then stop gives up after a few attempts instead of the full timeout', async () => {
    const audit = createHttpAuditEmitter({ service: 'gateway', auditUrl: await deadUrl(), serviceToken: () => 't', logger, minBackoffMs: 10, maxBackoffMs: 40, stopTimeoutMs: 5000 });
    audit.emit({ action: 'a.b', actor: 'x' });
    const started = Date.now();
    await audit.stop();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(audit.pending()).toBe(1);
  });

  it('when stopped, then it flushes what is queued and later emits are dropped', async () => {
    const peer = await startPeer();
    cleanups.push(peer.close);
    let droppedCount = 0;
    const audit = emitter(peer.url, { onDropped: (n) => (droppedCount += n), flushIntervalMs: 10_000 });
    audit.emit({ action: 'a.b', actor: 'x' });
    await audit.stop();
    expect(peer.batches.flat()).toHaveLength(1);
    audit.emit({ action: 'a.b', actor: 'late' });
    expect(audit.pending()).toBe(0);
    expect(droppedCount).toBe(1);
  });
});
