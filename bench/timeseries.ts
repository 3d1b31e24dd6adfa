/**
 * Time-series ingest rate: points/s written through the HTTP API in fixed-size batches to the
 * PostgreSQL-backed store. Without a base URL it starts the timeseries service as a process of
 * its own (DATABASE_URL, or an embedded PostgreSQL under .data/bench-postgres); with one (e.g.
 * the gateway) it needs a token of a role that may write (admin lets it delete its bucket after).
 *
 *   tsx bench/timeseries.ts [--url http://127.0.0.1:5000 --token <jwt>] [--seconds 10] [--concurrency 4] [--batch 5000] [--format json|lp]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { processCpuSeconds } from './stats.js';
import { freePort } from '../scripts/lib/free-port.js';

export interface TimeseriesBenchOptions {
  baseUrl?: string;
  token?: string;
  durationMs?: number;
  concurrency?: number;
  batchSize?: number;
  /** Distinct tag sets the points spread over. */
  series?: number;
  format?: 'json' | 'lp';
  log?: (line: string) => void;
}

interface Target {
  url: string;
  token: string;
  /** The service's process id when this script started it (for its CPU time). */
  pid?: number;
  stop: () => Promise<void>;
}


/**
 * Starts the timeseries service as its own process (as deployed: one process per service), so
 * the load generator here does not share the service's event loop.
 */
async function startLocalService(): Promise<Target> {
  process.env.JWT_SECRET ??= randomBytes(32).toString('hex');
  process.env.SERVICE_TOKEN_SECRET ??= randomBytes(32).toString('hex');
  const { benchDatabase } = await import('./bench-database.js');
  const db = await benchDatabase();
  const { mintAccessToken } = await import('../packages/kit/src/testing/index.js');
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, '../services/timeseries/src/main.ts')], {
    cwd: resolve(import.meta.dirname, '..'),
    env: { ...process.env, DATABASE_URL: db.url, TIMESERIES_PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ACCESS_LOG: 'false' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${url}/timeseries/ready`).then((r) => r.status === 200, () => false);
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await db.stop();
      throw new Error('the timeseries service did not become ready');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    token: mintAccessToken({ role: 'admin', org_id: randomUUID() }),
    ...(child.pid ? { pid: child.pid } : {}),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      await db.stop();
    },
  };
}

function orgOf(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { org_id?: string };
  if (!payload.org_id) throw new Error('The token carries no org_id');
  return payload.org_id;
}

/** Builds each batch as text directly: the client's cost must not hide the server's. */
function batchBuilder(format: 'json' | 'lp', bucket: string, batchSize: number, series: number, baseMs: number) {
  let sequence = 0;
  return (): string => {
    const perSeries = Math.ceil(batchSize / series);
    const first = sequence;
    sequence += perSeries;
    if (format === 'lp') {
      const lines: string[] = new Array(batchSize);
      for (let j = 0; j < batchSize; j++) {
        const s = j % series;
        const ms = baseMs + first + Math.floor(j / series);
        lines[j] = `heart_rate,user_id=u${s},device=d${s % 7} bpm=${60 + ((j * 7) % 40)},spo2=${90 + (j % 10)} ${ms}`;
      }
      return lines.join('\n');
    }
    const parts: string[] = new Array(batchSize);
    const times: string[] = [];
    for (let k = 0; k < perSeries; k++) times.push(new Date(baseMs + first + k).toISOString());
    for (let j = 0; j < batchSize; j++) {
      const s = j % series;
      const time = times[Math.floor(j / series)];
      parts[j] = `{"measurement":"heart_rate","tags":{"user_id":"u${s}","device":"d${s % 7}"},"fields":{"bpm":${60 + ((j * 7) % 40)},"spo2":${90 + (j % 10)}},"timestamp":"${time}"}`;
    }
    return `{"bucket":"${bucket}","points":[${parts.join(',')}]}`;
  };
}

/**
 * CPU seconds used so far by each local PostgreSQL server process (Linux /proc). On a shared
 * machine wall-clock rates move with other load; CPU per point moves much less.
 */
function postgresCpuSeconds(): Map<string, number> | undefined {
  if (process.platform !== 'linux') return undefined;
  const ticks = 100; // USER_HZ on Linux
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== 'postgres') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(fields[11]) + Number(fields[12])) / ticks);
    } catch {
      // the process ended while we looked
    }
  }
  return out.size > 0 ? out : undefined;
}

/** CPU used between two snapshots by the processes alive at the end (backends that quit are lost). */
function cpuBetween(before: Map<string, number> | undefined, after: Map<string, number> | undefined): number | undefined {
  if (!before || !after) return undefined;
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}


function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function benchTimeseries(options: TimeseriesBenchOptions = {}): Promise<Record<string, unknown>> {
  const log = options.log ?? ((line: string) => console.log(line));
  const durationMs = options.durationMs ?? 10_000;
  const concurrency = options.concurrency ?? 4;
  const batchSize = options.batchSize ?? 5000;
  const series = options.series ?? 50;
  const format = options.format ?? 'json';
  const target: Target = options.baseUrl
    ? { url: options.baseUrl.replace(/\/$/, ''), token: options.token ?? '', stop: async () => {} }
    : await startLocalService();
  if (!target.token) throw new Error('A token is required with a base URL');
  const bucket = `org_${orgOf(target.token)}`;
  const headers = {
    authorization: `Bearer ${target.token}`,
    accept: 'application/json',
    'content-type': format === 'lp' ? 'text/plain' : 'application/json',
  };
  const writeUrl = `${target.url}/timeseries/write${format === 'lp' ? `?bucket=${bucket}&precision=ms` : ''}`;
  // Two points per series per millisecond would collide; spread them back from "now - 50 min".
  const baseMs = Date.now() - 50 * 60_000;
  const nextBody = batchBuilder(format, bucket, batchSize, series, baseMs);

  const send = async (body: string): Promise<number> => {
    const res = await fetch(writeUrl, { method: 'POST', headers, body });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`write answered ${res.status}: ${text.slice(0, 300)}`);
    return (JSON.parse(text) as { inserted: number }).inserted;
  };

  /** Counts what the store holds, through the query API: every acknowledged point must be there. */
  const storedPoints = async (): Promise<number | string> => {
    const res = await fetch(`${target.url}/timeseries/query`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        bucket,
        measurement: 'heart_rate',
        field: 'bpm',
        aggregate: 'count',
        window: '1w',
        range_start: new Date(baseMs - 60_000).toISOString(),
        range_stop: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    });
    if (res.status !== 200) return `query answered ${res.status}`;
    const body = (await res.json()) as { series: Array<{ points: Array<{ value: number }> }> };
    return body.series.reduce((sum, s) => sum + s.points.reduce((n, p) => n + p.value, 0), 0);
  };

  try {
    const warmUp = await send(nextBody()); // creates the bucket and its series, JIT-compiles the path
    const latencies: number[] = [];
    let points = 0;
    let bodyBytes = 0;
    const pgCpuBefore = postgresCpuSeconds();
    const serviceCpuBefore = processCpuSeconds(target.pid);
    const nodeCpuBefore = process.cpuUsage();
    const started = performance.now();
    const deadline = started + durationMs;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) {
          const body = nextBody();
          bodyBytes += body.length;
          const t0 = performance.now();
          // Awaited first: `points += await …` would read `points` before the await and lose
          // the other workers' increments.
          const inserted = await send(body);
          points += inserted;
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const nodeCpu = process.cpuUsage(nodeCpuBefore);
    const pgCpuAfter = postgresCpuSeconds();
    const serviceCpuAfter = processCpuSeconds(target.pid);
    latencies.sort((a, b) => a - b);
    const perThousand = (cpuSeconds: number) => Math.round((cpuSeconds / (points / 1000)) * 1000 * 100) / 100;
    const stored = await storedPoints();
    const result = {
      target: options.baseUrl ? target.url : 'timeseries service process (PostgreSQL store)',
      format,
      batch_size: batchSize,
      concurrency,
      duration_s: Math.round(seconds * 100) / 100,
      batches: latencies.length,
      points,
      points_per_s: Math.round(points / seconds),
      mb_per_s: Math.round((bodyBytes / seconds / 1e6) * 10) / 10,
      batch_ms_p50: Math.round(percentile(latencies, 50) * 10) / 10,
      batch_ms_p99: Math.round(percentile(latencies, 99) * 10) / 10,
      // Read back through the query API (count per series, summed), warm-up batch included.
      stored_points_verified: stored === points + warmUp ? true : `expected ${points + warmUp}, store holds ${stored}`,
      // The load generator (this process), the service process and local PostgreSQL processes.
      cpu_ms_per_1000_points: {
        load_generator: perThousand((nodeCpu.user + nodeCpu.system) / 1e6),
        ...(serviceCpuBefore !== undefined && serviceCpuAfter !== undefined ? { timeseries_service: perThousand(serviceCpuAfter - serviceCpuBefore) } : {}),
        // Every PostgreSQL process on this machine: other clients of a shared server count too.
        ...(cpuBetween(pgCpuBefore, pgCpuAfter) !== undefined ? { local_postgres: perThousand(cpuBetween(pgCpuBefore, pgCpuAfter)!) } : {}),
      },
    };
    log(`timeseries ingest (${format}, ${batchSize}-point batches, concurrency ${concurrency}): ${result.points_per_s} points/s (batch p50 ${result.batch_ms_p50} ms, p99 ${result.batch_ms_p99} ms)`);
    return result;
  } finally {
    // Leave no benchmark data behind (needs an admin token; otherwise the bucket stays).
    await fetch(`${target.url}/timeseries/buckets/${bucket}`, { method: 'DELETE', headers: { authorization: headers.authorization } }).catch(() => undefined);
    await target.stop();
  }
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchTimeseries({
    baseUrl: argument('url') ?? process.env.BENCH_TIMESERIES_URL,
    token: argument('token') ?? process.env.BENCH_TOKEN,
    durationMs: Number(argument('seconds') ?? 10) * 1000,
    concurrency: Number(argument('concurrency') ?? 4),
    batchSize: Number(argument('batch') ?? 5000),
    format: (argument('format') as 'json' | 'lp' | undefined) ?? 'json',
  });
  console.log(JSON.stringify(result, null, 2));
}
