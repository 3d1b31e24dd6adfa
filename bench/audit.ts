/**
 * Audit benchmark (issue 3 numbers), bounded to about two minutes:
 *   1. fill the chain to 1,000,000 rows (bulk load; see fill());
 *   2. ingest events/s: 8 concurrent producers POST 500-event batches for 10 s to the audit
 *      service, running as a process of its own, into the 1M-row table with all its indexes;
 *   3. GET /audit/events page latency p50/p90/p99 (200 sequential requests each, after a warm-up)
 *      for the first page and for a page 900,000 rows deep in the cursor, plain and filtered,
 *      plus PostgreSQL's own execution time for the same page queries;
 *   4. a full verification of the (then ~1.08M-row) chain, which also proves the bulk load valid.
 * Everything happens in a database of its own (heartguard_bench_audit) on the DATABASE_URL server
 * (or the embedded bench PostgreSQL), dropped at the end.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/audit.ts
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createDataSource, createServiceTokenIssuer } from '../packages/kit/src/index.js';
import { mintAccessToken } from '../packages/kit/src/testing/index.js';
import { linkAfter, prepareLink } from '../services/audit/src/hash-chain.js';
import { encodeCursor } from '../services/audit/src/list-events.js';
import { buildListQuery, createAuditRepository, type EventFilter } from '../services/audit/src/repository.js';
import { verifyChain } from '../services/audit/src/verify-chain.js';
import { benchDatabase } from './bench-database.js';
import { processCpuSeconds } from './stats.js';
import { freePort } from '../scripts/lib/free-port.js';

const BENCH_DB = 'heartguard_bench_audit';
const TARGET_ROWS = Number(process.env.BENCH_AUDIT_ROWS ?? 1_000_000);
const INGEST_SECONDS = Number(process.env.BENCH_AUDIT_INGEST_SECONDS ?? 10);
const PRODUCERS = 8;
const BATCH = 500;
const FILL_BATCH = 10_000;
const REQUESTS = 200;
const WARMUP = 50;
const DEEP_ROWS = 900_000;
const ACTIONS = ['auth.login', 'auth.logout', 'auth.refresh', 'gateway.denied', 'user.updated', 'org.updated', 'media.uploaded', 'media.deleted'];
const SERVICES = ['gateway', 'auth', 'user', 'organization', 'media', 'timeseries', 'gateway', 'auth'];

type Db = ReturnType<typeof createDataSource>;

interface Summary {
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  n: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    p50_ms: round(percentile(sorted, 50)),
    p90_ms: round(percentile(sorted, 90)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted.at(-1) ?? 0),
    n: sorted.length,
  };
}

const round1 = (v: number) => Math.round(v * 10) / 10;



/** The audit service as deployed: its own process, so the load generator does not share its event loop. */
async function startAuditProcess(databaseUrl: string): Promise<{ url: string; pid: number | undefined; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, '../services/audit/src/main.ts')], {
    cwd: resolve(import.meta.dirname, '..'),
    env: { ...process.env, DATABASE_URL: databaseUrl, AUDIT_PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error', ACCESS_LOG: 'false' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (await fetch(`${url}/audit/ready`).then((r) => r.status === 200, () => false)) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the audit service did not become ready');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Bulk-fills the chain up to TARGET_ROWS. Secondary indexes (everything but the seq primary key)
 * are dropped first and rebuilt from their own definitions afterwards, as an operator would for
 * a bulk load. Row i is a fixed function of i: the service's hashing code chains it here, and
 * PostgreSQL generates the same row from i and stores it with the hashes it is sent (only ids
 * and hashes travel). If the two disagreed in any byte, the verification at the end would say so.
 */
async function fill(db: Db, org: string): Promise<Record<string, unknown>> {
  const started = process.hrtime.bigint();
  const indexes = (await db.query(
    `SELECT indexname, indexdef FROM pg_indexes
      WHERE schemaname = 'heartguard_core' AND tablename = 'audit_events' AND indexname NOT IN ('audit_events_pkey', 'audit_events_id_key')`,
  )) as Array<{ indexname: string; indexdef: string }>;
  await db.query('ALTER TABLE heartguard_core.audit_events DROP CONSTRAINT audit_events_id_key');
  for (const index of indexes) await db.query(`DROP INDEX heartguard_core.${index.indexname}`);
  let head: { seq: string; hash: string } | undefined;
  let rows = 0;
  let pending: Promise<unknown> = Promise.resolve();
  while (rows < TARGET_ROWS) {
    const size = Math.min(FILL_BATCH, TARGET_ROWS - rows);
    const at = new Date().toISOString();
    const ids = Array.from({ length: size }, () => randomUUID());
    const prepared = ids.map((id, k) => {
      const i = rows + k;
      return prepareLink({
        id,
        service: SERVICES[i % SERVICES.length]!,
        actor: `actor-${i % 1000}`,
        action: ACTIONS[i % ACTIONS.length]!,
        outcome: 'success',
        org_id: org,
        request_id: null,
        payload: { i, ip: '10.0.0.1', user_agent: 'bench/1.0', contact: 's***@example.com' },
        occurred_at: at,
        recorded_at: at,
      });
    });
    // Hash the next batch while PostgreSQL inserts the previous one.
    const links = linkAfter(head, prepared);
    head = { seq: String(links.firstSeq + BigInt(size - 1)), hash: links.hashes.at(-1)! };
    await pending;
    pending = db.query(
      `INSERT INTO heartguard_core.audit_events
         (seq, id, service, actor, action, outcome, org_id, request_id, payload, occurred_at, recorded_at, prev_hash, hash)
       SELECT $1::bigint + r.ord, r.id, ($6::text[])[1 + ($1::bigint + r.ord - 1) % 8], 'actor-' || ($1::bigint + r.ord - 1) % 1000,
              ($7::text[])[1 + ($1::bigint + r.ord - 1) % 8], 'success', $5::uuid, NULL,
              jsonb_build_object('i', $1::bigint + r.ord - 1, 'ip', '10.0.0.1', 'user_agent', 'bench/1.0', 'contact', 's***@example.com'),
              $8::timestamptz, $8::timestamptz, r.prev_hash, r.hash
         FROM ROWS FROM (unnest($2::uuid[]), unnest($3::text[]), unnest($4::text[])) WITH ORDINALITY AS r(id, prev_hash, hash, ord)`,
      [rows, ids, links.prevHashes, links.hashes, org, SERVICES, ACTIONS, at],
    );
    rows += size;
  }
  await pending;
  const loaded = Number(process.hrtime.bigint() - started) / 1e9;
  const indexStarted = process.hrtime.bigint();
  await db.query('ALTER TABLE heartguard_core.audit_events ADD CONSTRAINT audit_events_id_key UNIQUE (id)');
  for (const index of indexes) await db.query(index.indexdef);
  await db.query('VACUUM ANALYZE heartguard_core.audit_events');
  return {
    rows,
    load_seconds: round1(loaded),
    rows_per_s: Math.round(rows / loaded),
    index_build_and_vacuum_seconds: round1(Number(process.hrtime.bigint() - indexStarted) / 1e9),
  };
}

/** One batch body as text, built directly: the client's cost must not hide the server's. */
function batchBody(org: string, first: number): string {
  const parts: string[] = new Array(BATCH);
  for (let k = 0; k < BATCH; k++) {
    const i = first + k;
    parts[k] =
      `{"id":"${randomUUID()}","actor":"actor-${i % 1000}","action":"${ACTIONS[i % ACTIONS.length]}","org_id":"${org}",` +
      `"payload":{"i":${i},"ip":"10.0.0.1","user_agent":"bench/1.0","contact":"someone@example.com"}}`;
  }
  return `{"events":[${parts.join(',')}]}`;
}

async function ingest(url: string, auditPid: number | undefined, org: string): Promise<Record<string, unknown>> {
  const tokens = SERVICES.map((name) => createServiceTokenIssuer(process.env.SERVICE_TOKEN_SECRET!, name));
  const latencies: number[] = [];
  let recorded = 0;
  let failed = 0;
  // Only the service's own CPU: PostgreSQL here is shared with other work, and its backends come
  // and go, so a sum over its processes is no measure of this run.
  const auditCpu = () => (auditPid ? processCpuSeconds(auditPid) : undefined);
  const cpuBefore = auditCpu();
  const started = process.hrtime.bigint();
  const deadline = Date.now() + INGEST_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async (_, p) => {
      let next = 10_000_000 * (p + 1);
      let body = batchBody(org, next);
      while (Date.now() < deadline) {
        const t0 = process.hrtime.bigint();
        const res = await fetch(`${url}/audit/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${tokens[p % tokens.length]!()}` },
          body,
        });
        // The next body is built while this one is in flight.
        next += BATCH;
        body = batchBody(org, next);
        const answer = (await res.json()) as { recorded?: number };
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (res.status === 201) recorded += answer.recorded ?? 0;
        else failed += 1;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuAfter = auditCpu();
  return {
    producers: PRODUCERS,
    batch_size: BATCH,
    seconds: round1(seconds),
    events: recorded,
    failed_batches: failed,
    events_per_s: Math.round(recorded / seconds),
    batch_latency: summary(latencies),
    // CPU per 1000 events moves much less than wall-clock rates when the machine is shared.
    audit_service_cpu_ms_per_1000_events:
      cpuBefore === undefined || cpuAfter === undefined || recorded === 0 ? null : Math.round(((cpuAfter - cpuBefore) * 1e6) / recorded),
  };
}

/** Whole-request latency of one GET /audit/events query: sequential requests after a warm-up. */
async function pageLatency(url: string, token: string, query: string): Promise<Summary & { items: number }> {
  const get = async () => {
    const res = await fetch(`${url}/audit/events${query}`, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { items?: unknown[] };
    if (res.status !== 200) throw new Error(`GET /audit/events${query} answered ${res.status}`);
    return body.items?.length ?? 0;
  };
  for (let i = 0; i < WARMUP; i++) await get();
  const samples: number[] = [];
  let items = 0;
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = process.hrtime.bigint();
    items = await get();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { ...summary(samples), items };
}

/** PostgreSQL's own execution time for the service's page query (EXPLAIN ANALYZE), and the indexes it used. */
async function queryExecution(db: Db, filter: EventFilter): Promise<Summary & { indexes: string }> {
  const { sql, params } = buildListQuery(filter);
  const samples: number[] = [];
  let indexes = '';
  for (let i = 0; i < WARMUP + REQUESTS; i++) {
    const [row] = (await db.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params)) as Array<{
      'QUERY PLAN': Array<{ 'Execution Time': number; Plan: unknown }>;
    }>;
    const result = row!['QUERY PLAN'][0]!;
    if (i >= WARMUP) samples.push(result['Execution Time']);
    indexes = [...JSON.stringify(result.Plan).matchAll(/"Node Type":"([A-Za-z ]+)"[^{}]*?"Index Name":"([a-z_]+)"/g)].map((m) => `${m[1]} ${m[2]}`).join(' + ');
  }
  return { ...summary(samples), indexes };
}

export async function benchAudit(): Promise<Record<string, unknown>> {
  process.env.JWT_SECRET ??= randomBytes(32).toString('hex');
  process.env.SERVICE_TOKEN_SECRET ??= randomBytes(32).toString('hex');
  const started = Date.now();
  // Other work on the machine shows in tail latencies; the load average says how much there was.
  const loadStart = loadavg().map((v) => Math.round(v * 100) / 100);
  const server = await benchDatabase();
  const benchUrl = new URL(server.url);
  benchUrl.pathname = `/${BENCH_DB}`;
  const admin = createDataSource({ url: server.url, service: 'bench', migrations: [], poolSize: 1 });
  await admin.initialize();
  await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${BENCH_DB}`);
  let audit: Awaited<ReturnType<typeof startAuditProcess>> | undefined;
  const db = createDataSource({ url: benchUrl.toString(), service: 'bench', migrations: [], poolSize: 2 });
  try {
    console.log(`audit bench: starting the audit service on ${BENCH_DB}`);
    audit = await startAuditProcess(benchUrl.toString());
    await db.initialize();
    const org = randomUUID();
    console.log(`audit bench: bulk-loading ${TARGET_ROWS} chained rows`);
    const fillResult = await fill(db, org);
    console.log(`audit bench: ingesting for ${INGEST_SECONDS} s`);
    const ingestResult = await ingest(audit.url, audit.pid, org);

    const repository = createAuditRepository(db);
    const head = Number((await repository.head())!.seq);
    // The cursor a client holds after paging 900,000 rows back; built directly rather than by
    // walking 4,500 pages, which would only repeat the same keyset query 4,500 times.
    const deepSeq = String(head - Math.min(DEEP_ROWS, Math.floor(head * 0.9)));
    const deep = encodeCursor(deepSeq);
    const token = mintAccessToken({ role: 'admin', org_id: org }, { expiresIn: 3600 });
    const lastHour = encodeURIComponent(new Date(Date.now() - 3600_000).toISOString());
    console.log('audit bench: page latencies');
    const pages = {
      first: await pageLatency(audit.url, token, '?limit=50'),
      deep_900k: await pageLatency(audit.url, token, `?limit=50&cursor=${deep}`),
      first_actor_filter: await pageLatency(audit.url, token, '?limit=50&actor=actor-7'),
      deep_900k_actor_filter: await pageLatency(audit.url, token, `?limit=50&actor=actor-7&cursor=${deep}`),
      first_action_last_hour: await pageLatency(audit.url, token, `?limit=50&action=auth.login&from=${lastHour}`),
    };
    const database = {
      first: await queryExecution(db, { orgId: org, limit: 51 }),
      deep_900k: await queryExecution(db, { orgId: org, limit: 51, beforeSeq: deepSeq }),
      deep_900k_actor_filter: await queryExecution(db, { orgId: org, limit: 51, actor: 'actor-7', beforeSeq: deepSeq }),
    };
    console.log(`audit bench: verifying the ${head}-row chain`);
    const verification = await verifyChain(repository, 10_000);
    return {
      table_rows: head,
      fill: fillResult,
      ingest: ingestResult,
      page_latency: pages,
      page_query_execution: database,
      verify: {
        valid: verification.valid,
        rows: verification.checked,
        seconds: round1(verification.duration_ms / 1000),
        rows_per_s: Math.round(verification.checked / Math.max(0.001, verification.duration_ms / 1000)),
      },
      load_average: { start: loadStart, end: loadavg().map((v) => Math.round(v * 100) / 100) },
      total_seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    await audit?.stop();
    if (db.isInitialized) await db.destroy();
    await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
    await admin.destroy();
    await server.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchAudit();
  const pages = result.page_latency as Record<string, Summary & { items: number }>;
  const executions = result.page_query_execution as Record<string, Summary & { indexes: string }>;
  const ingested = result.ingest as { events_per_s: number; events: number };
  const verify = result.verify as { valid: boolean; rows: number; seconds: number };
  console.log(`\ningest: ${ingested.events_per_s} events/s (${ingested.events} events; ${PRODUCERS} producers x ${BATCH}-event batches into the 1M-row table)`);
  console.log(`chain: ${verify.valid ? 'valid' : 'BROKEN'}, ${verify.rows} rows verified in ${verify.seconds} s`);
  for (const [name, s] of Object.entries(pages)) {
    console.log(`GET /audit/events ${name.padEnd(24)} p50 ${s.p50_ms} ms  p90 ${s.p90_ms} ms  p99 ${s.p99_ms} ms  (${s.items} items)`);
  }
  for (const [name, s] of Object.entries(executions)) {
    console.log(`page query in PostgreSQL ${name.padEnd(24)} p50 ${s.p50_ms} ms  p99 ${s.p99_ms} ms  ${s.indexes}`);
  }
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}
