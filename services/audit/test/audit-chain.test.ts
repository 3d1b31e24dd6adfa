import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { StartedService } from '@heartguard/kit';
import { assertMatchesSchema, assertValidXml, http, mintAccessToken } from '@heartguard/kit/testing';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashEvent } from '../src/hash-chain.js';
import { createPrivateDatabase, openDatabase, serviceToken, startAudit } from './support.js';

// These tests own the whole chain, so they run in a database of their own.
let database: { url: string; drop(): Promise<void> };
let audit: StartedService;
let db: DataSource;
const admin = mintAccessToken({ role: 'admin', org_id: randomUUID() });
const ORG = randomUUID();

const TSX = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
const CLI = fileURLToPath(new URL('../src/verify-cli.ts', import.meta.url));

interface Verification {
  valid: boolean;
  checked: number;
  first_broken_seq?: number;
  reason?: string;
  last_seq: number | null;
}

async function verifyOverHttp(): Promise<Verification> {
  const res = await http(`${audit.url}/audit/verify`, { token: admin });
  expect(res.status).toBe(200);
  const body = res.json<Verification>();
  assertMatchesSchema('audit#/definitions/verification', body);
  return body;
}

async function verifyWithCli(): Promise<{ code: number; result: Verification }> {
  try {
    const { stdout } = await promisify(execFile)(TSX, [CLI], { env: { ...process.env, DATABASE_URL: database.url } });
    return { code: 0, result: JSON.parse(stdout) as Verification };
  } catch (err) {
    const failure = err as { code: number; stdout: string };
    return { code: failure.code, result: JSON.parse(failure.stdout) as Verification };
  }
}

async function count(): Promise<number> {
  const [row] = (await db.query('SELECT count(*)::int AS n FROM heartguard_core.audit_events')) as [{ n: number }];
  return row.n;
}

function batch(size: number, tag: string) {
  return Array.from({ length: size }, (_, i) => ({
    id: randomUUID(),
    actor: `${tag}-${i}`,
    action: 'load.test',
    org_id: ORG,
    payload: { tag, i, who: `${tag}@example.com` },
  }));
}

beforeAll(async () => {
  database = await createPrivateDatabase();
  audit = await startAudit({ databaseUrl: database.url });
  db = await openDatabase(database.url);
});

afterAll(async () => {
  await audit?.stop();
  await db?.destroy();
  await database?.drop();
});

describe('hash chain under concurrency', () => {
  it('when 16 producers post 5 batches of 100 at once, then all 8000 are stored once and the chain verifies', async () => {
    const producers = Array.from({ length: 16 }, (_, p) => serviceToken(['gateway', 'auth', 'user', 'media'][p % 4]!));
    const sent: string[] = [];
    await Promise.all(
      producers.map(async (token, p) => {
        for (let b = 0; b < 5; b++) {
          const events = batch(100, `p${p}b${b}`);
          sent.push(...events.map((e) => e.id));
          const res = await http(`${audit.url}/audit/events`, { method: 'POST', token, body: { events } });
          expect(res.status).toBe(201);
          expect(res.json()).toEqual({ recorded: 100, duplicates: 0 });
        }
      }),
    );
    expect(await count()).toBe(8000);
    const [seqs] = (await db.query('SELECT min(seq)::int AS lo, max(seq)::int AS hi, count(DISTINCT id)::int AS ids FROM heartguard_core.audit_events')) as [
      { lo: number; hi: number; ids: number },
    ];
    expect(seqs).toEqual({ lo: 1, hi: 8000, ids: 8000 });
    const stored = (await db.query('SELECT id::text FROM heartguard_core.audit_events')) as Array<{ id: string }>;
    expect(new Set(stored.map((r) => r.id))).toEqual(new Set(sent));
    expect(await verifyOverHttp()).toMatchObject({ valid: true, checked: 8000, last_seq: 8000 });
    const metrics = (await http(`${audit.url}/metrics`, { headers: { accept: 'text/plain' } })).text;
    expect(metrics).toMatch(/^audit_chain_head_seq\{[^}]*\} 8000$/m);
  });

  it('when an admin pages through all 8000 with the cursor, then seqs strictly descend across digit boundaries and none repeats', async () => {
    const reader = mintAccessToken({ role: 'admin', org_id: ORG });
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await http(`${audit.url}/audit/events?limit=200${cursor ? `&cursor=${cursor}` : ''}`, { token: reader });
      expect(res.status).toBe(200);
      const page = res.json<{ items: Array<{ seq: number }>; next_cursor: string | null }>();
      seen.push(...page.items.map((item) => item.seq));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(8000);
    expect(seen.every((seq, i) => i === 0 || seq < seen[i - 1]!)).toBe(true);
    expect(seen[0]).toBe(8000);
    expect(seen.at(-1)).toBe(1);
  });

  it('when the same batch is posted by 6 producers at once, then it is stored exactly once', async () => {
    const events = batch(50, 'same');
    const before = await count();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => http(`${audit.url}/audit/events`, { method: 'POST', token: serviceToken('gateway'), body: { events } })),
    );
    const bodies = answers.map((a) => a.json<{ recorded: number; duplicates: number }>());
    expect(bodies.reduce((sum, b) => sum + b.recorded, 0)).toBe(50);
    expect(bodies.reduce((sum, b) => sum + b.duplicates, 0)).toBe(250);
    expect(await count()).toBe(before + 50);
    expect((await verifyOverHttp()).valid).toBe(true);
  });
});

describe('tamper evidence', () => {
  async function rowAt(seq: number): Promise<Record<string, unknown>> {
    const [row] = (await db.query('SELECT * FROM heartguard_core.audit_events WHERE seq = $1', [seq])) as Array<Record<string, unknown>>;
    return row!;
  }

  it('when the trigger is in place, then UPDATE, DELETE and TRUNCATE are refused by PostgreSQL itself', async () => {
    await expect(db.query(`UPDATE heartguard_core.audit_events SET actor = 'x' WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(db.query('DELETE FROM heartguard_core.audit_events WHERE seq = 1')).rejects.toThrow(/append-only/);
    await expect(db.query('TRUNCATE heartguard_core.audit_events')).rejects.toThrow(/append-only/);
    expect((await rowAt(1)).actor).not.toBe('x');
  });

  it('when a payload is updated with the trigger disabled, then verify (HTTP and CLI) names that seq; restoring it heals the chain', async () => {
    const cli = await verifyWithCli();
    expect(cli).toMatchObject({ code: 0, result: { valid: true } });

    const original = await rowAt(4321);
    await db.query(`
      ALTER TABLE heartguard_core.audit_events DISABLE TRIGGER audit_events_append_only;
      UPDATE heartguard_core.audit_events SET payload = '{"tag":"forged"}' WHERE seq = 4321;
      ALTER TABLE heartguard_core.audit_events ENABLE TRIGGER audit_events_append_only;`);
    const broken = await verifyOverHttp();
    expect(broken).toMatchObject({ valid: false, first_broken_seq: 4321, checked: 4321 });
    expect(broken.reason).toMatch(/modified/);
    const xml = await http(`${audit.url}/audit/verify`, { token: admin, headers: { accept: 'application/xml' } });
    assertValidXml('audit.xsd', xml.text);
    expect(xml.text).toContain('<valid>false</valid>');
    expect(xml.text).toContain('<first_broken_seq>4321</first_broken_seq>');
    const cliBroken = await verifyWithCli();
    expect(cliBroken).toMatchObject({ code: 1, result: { valid: false, first_broken_seq: 4321 } });

    await db.query(
      `BEGIN; SET LOCAL session_replication_role = replica;
       UPDATE heartguard_core.audit_events SET payload = '${JSON.stringify(original.payload)}'::jsonb WHERE seq = 4321; COMMIT;`,
    );
    expect((await verifyOverHttp()).valid).toBe(true);
  });

  it('when a timestamp is moved by one microsecond, then verify still names that seq', async () => {
    await db.query(`BEGIN; SET LOCAL session_replication_role = replica;
      UPDATE heartguard_core.audit_events SET occurred_at = occurred_at + interval '1 microsecond' WHERE seq = 6000; COMMIT;`);
    expect(await verifyOverHttp()).toMatchObject({ valid: false, first_broken_seq: 6000 });
    await db.query(`BEGIN; SET LOCAL session_replication_role = replica;
      UPDATE heartguard_core.audit_events SET occurred_at = occurred_at - interval '1 microsecond' WHERE seq = 6000; COMMIT;`);
    expect((await verifyOverHttp()).valid).toBe(true);
  });

  it('when a row is deleted with triggers bypassed, then verify reports the missing seq', async () => {
    const original = await rowAt(777);
    await db.query(`BEGIN; SET LOCAL session_replication_role = replica; DELETE FROM heartguard_core.audit_events WHERE seq = 777; COMMIT;`);
    const broken = await verifyOverHttp();
    expect(broken).toMatchObject({ valid: false, first_broken_seq: 777 });
    expect(broken.reason).toMatch(/777 missing/);
    expect((await verifyWithCli()).code).toBe(1);

    await db.query(
      `INSERT INTO heartguard_core.audit_events SELECT * FROM jsonb_populate_record(NULL::heartguard_core.audit_events, $1::jsonb)`,
      [JSON.stringify(original)],
    );
    expect((await verifyOverHttp()).valid).toBe(true);
  });

  it('when a row is rewritten with a recomputed hash, then the next row no longer links to it', async () => {
    const original = await rowAt(5000);
    const forged = { ...original, actor: 'someone-else' };
    const fields = {
      ...(forged as { seq: string; id: string; service: string; actor: string; action: string; outcome: string; org_id: string | null; request_id: string | null; payload: unknown }),
      seq: String(original.seq),
      occurred_at: (original.occurred_at as Date).toISOString(),
      recorded_at: (original.recorded_at as Date).toISOString(),
    };
    const forgedHash = hashEvent(String(original.prev_hash), fields);
    await db.query(
      `BEGIN; SET LOCAL session_replication_role = replica;
       UPDATE heartguard_core.audit_events SET actor = 'someone-else', hash = '${forgedHash}' WHERE seq = 5000; COMMIT;`,
    );
    const broken = await verifyOverHttp();
    expect(broken).toMatchObject({ valid: false, first_broken_seq: 5001 });
    expect(broken.reason).toMatch(/prev_hash/);

    await db.query(
      `BEGIN; SET LOCAL session_replication_role = replica;
       UPDATE heartguard_core.audit_events SET actor = '${String(original.actor)}', hash = '${String(original.hash)}' WHERE seq = 5000; COMMIT;`,
    );
    expect((await verifyOverHttp()).valid).toBe(true);
  });

  it('when events are appended after a verification, then the chain keeps verifying', async () => {
    const res = await http(`${audit.url}/audit/events`, { method: 'POST', token: serviceToken('auth'), body: { events: batch(10, 'after') } });
    expect(res.status).toBe(201);
    const result = await verifyOverHttp();
    expect(result.valid).toBe(true);
    expect(result.checked).toBe(await count());
  });
});
