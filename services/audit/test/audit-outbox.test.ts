import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createHttpAuditEmitter, createLogger, createServiceTokenIssuer } from '@heartguard/kit';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, startAudit } from './support.js';

let db: DataSource;
const logger = createLogger({ service: 'outbox-test', level: 'silent' });

function emitterFor(auditUrl: string) {
  return createHttpAuditEmitter({
    service: 'media',
    auditUrl,
    serviceToken: createServiceTokenIssuer(process.env.SERVICE_TOKEN_SECRET!, 'media'),
    logger,
    batchSize: 30,
    flushIntervalMs: 50,
    minBackoffMs: 20,
    maxBackoffMs: 200,
  });
}

async function storedFor(actor: string): Promise<Array<{ i: number; n: number }>> {
  return (await db.query(
    `SELECT (payload->>'i')::int AS i, count(*)::int AS n FROM heartguard_core.audit_events WHERE actor = $1 GROUP BY 1 ORDER BY 1`,
    [actor],
  )) as Array<{ i: number; n: number }>;
}

beforeAll(async () => {
  db = await openDatabase();
});

afterAll(async () => {
  await db?.destroy();
});

describe('producer outbox', () => {
  it('when audit is down while 100 events are emitted, then after it restarts on the same port all 100 arrive, none twice', async () => {
    const first = await startAudit();
    const port = Number(new URL(first.url).port);
    await first.stop();

    const emitter = emitterFor(first.url);
    const actor = `outbox-${randomUUID()}`;
    const org = randomUUID();
    for (let i = 0; i < 100; i++) emitter.emit({ action: 'media.uploaded', actor, org_id: org, payload: { i } });
    // Several delivery attempts fail meanwhile; nothing is lost or sent as a partial batch.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(emitter.pending()).toBe(100);
    expect(await storedFor(actor)).toEqual([]);

    const second = await startAudit({ port });
    try {
      await emitter.flush(10_000);
      expect(emitter.pending()).toBe(0);
      expect(await storedFor(actor)).toEqual(Array.from({ length: 100 }, (_, i) => ({ i, n: 1 })));
      const [row] = (await db.query('SELECT service, org_id::text AS org_id FROM heartguard_core.audit_events WHERE actor = $1 LIMIT 1', [actor])) as Array<{
        service: string;
        org_id: string;
      }>;
      expect(row).toEqual({ service: 'media', org_id: org });
    } finally {
      await emitter.stop();
      await second.stop();
    }
  });

  it('when audit stores a batch but the answer is lost, then the retried batch is not stored twice', async () => {
    const audit = await startAudit();
    let cut = 2;
    // A hop that forwards each request to audit and, the first times, drops the connection instead of answering.
    const lossy: Server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const upstream = await fetch(`${audit.url}${req.url}`, {
        method: req.method,
        headers: { 'content-type': String(req.headers['content-type']), authorization: String(req.headers.authorization) },
        body: Buffer.concat(chunks),
      });
      const text = await upstream.text();
      if (cut-- > 0) {
        req.socket.destroy();
        return;
      }
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
    });
    await new Promise<void>((resolve) => lossy.listen(0, '127.0.0.1', resolve));
    const address = lossy.address() as { port: number };
    const emitter = emitterFor(`http://127.0.0.1:${address.port}`);
    const actor = `lossy-${randomUUID()}`;
    try {
      for (let i = 0; i < 20; i++) emitter.emit({ action: 'media.deleted', actor, org_id: randomUUID(), payload: { i } });
      await emitter.flush(10_000);
      expect(emitter.pending()).toBe(0);
      expect(cut).toBeLessThan(0);
      expect(await storedFor(actor)).toEqual(Array.from({ length: 20 }, (_, i) => ({ i, n: 1 })));
    } finally {
      await emitter.stop();
      await new Promise((resolve) => lossy.close(resolve));
      await audit.stop();
    }
  });
});
