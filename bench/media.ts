/**
 * Upload throughput: MB/s of 1 MB files (JPEG magic number + random payload, so the type check
 * passes and nothing compresses) POSTed as base64 JSON to a media service on the local store,
 * with p50/p99 latency per upload. The service runs in this process (DATABASE_URL, or an
 * embedded PostgreSQL under .data/bench-postgres) with its files in a temporary directory; the
 * rows and files it creates are removed afterwards.
 *
 *   tsx bench/media.ts [--seconds 10] [--concurrency 8] [--size-mb 1]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface MediaBenchOptions {
  durationMs?: number;
  concurrency?: number;
  fileBytes?: number;
  /** Distinct payloads cycled through (each upload still gets its own object and row). */
  distinctFiles?: number;
  log?: (line: string) => void;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function jpegLike(size: number): Buffer {
  const head = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]);
  return Buffer.concat([head, randomBytes(size - head.length)]);
}

export async function benchMedia(options: MediaBenchOptions = {}): Promise<Record<string, unknown>> {
  const log = options.log ?? ((line: string) => console.log(line));
  const durationMs = options.durationMs ?? 10_000;
  const concurrency = options.concurrency ?? 8;
  const fileBytes = options.fileBytes ?? 1024 * 1024;
  const distinct = options.distinctFiles ?? 16;

  process.env.JWT_SECRET ??= randomBytes(32).toString('hex');
  process.env.SERVICE_TOKEN_SECRET ??= randomBytes(32).toString('hex');
  let stopDb = async () => {};
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const { startEmbeddedPostgres } = await import('../scripts/lib/embedded-postgres.js');
    const db = await startEmbeddedPostgres({ dataDir: resolve(import.meta.dirname, '../.data/bench-postgres'), port: Number(process.env.BENCH_PG_PORT ?? 54331) });
    databaseUrl = db.url;
    stopDb = () => db.stop();
  }
  const { startMedia } = await import('../services/media/src/service.js');
  const { mintAccessToken } = await import('../packages/kit/src/testing/index.js');
  const { createDataSource } = await import('../packages/kit/src/database.js');

  const dir = mkdtempSync(join(tmpdir(), 'hg-media-bench-'));
  const orgId = randomUUID();
  const service = await startMedia({
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      GCS_BUCKET: undefined,
      MEDIA_LOCAL_DIR: dir,
      MAX_UPLOAD_MB: String(Math.max(1, Math.ceil(fileBytes / (1024 * 1024)))),
      LOG_LEVEL: 'warn',
      ACCESS_LOG: 'false',
    },
    port: 0,
    // Audit delivery is not what is measured, and there is no audit service here.
    shared: { audit: () => ({ emit() {}, async flush() {}, pending: () => 0, async stop() {} }) },
  });
  const headers = {
    authorization: `Bearer ${mintAccessToken({ role: 'user', org_id: orgId })}`,
    accept: 'application/json',
    'content-type': 'application/json',
  };
  // Bodies are built before the clock starts: the client's cost must not hide the server's.
  const bodies = Array.from({ length: distinct }, (_, i) =>
    JSON.stringify({ file_name: `bench-${i}.jpg`, content_type: 'image/jpeg', data_base64: jpegLike(fileBytes).toString('base64') }),
  );
  const upload = async (body: string): Promise<void> => {
    const res = await fetch(`${service.url}/media/upload`, { method: 'POST', headers, body });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${text.slice(0, 300)}`);
  };

  const db = createDataSource({ url: databaseUrl, service: 'media_bench', migrations: [], poolSize: 1 });
  try {
    await upload(bodies[0]!); // warm-up
    const latencies: number[] = [];
    let next = 1;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const deadline = started + durationMs;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) {
          const body = bodies[next++ % distinct]!;
          const t0 = performance.now();
          await upload(body);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    latencies.sort((a, b) => a - b);
    const megabytes = (latencies.length * fileBytes) / (1024 * 1024);
    const result = {
      target: 'in-process media service, local store (temp dir, atomic write + fsync)',
      file_mb: fileBytes / (1024 * 1024),
      concurrency,
      duration_s: Math.round(seconds * 100) / 100,
      uploads: latencies.length,
      uploads_per_s: Math.round((latencies.length / seconds) * 10) / 10,
      mb_per_s: Math.round((megabytes / seconds) * 10) / 10,
      upload_ms_p50: Math.round(percentile(latencies, 50) * 10) / 10,
      upload_ms_p99: Math.round(percentile(latencies, 99) * 10) / 10,
      // Client and service share this process.
      cpu_ms_per_upload: Math.round(((cpu.user + cpu.system) / 1000 / latencies.length) * 10) / 10,
    };
    log(`media upload (${result.file_mb} MB files, concurrency ${concurrency}): ${result.mb_per_s} MB/s, ${result.uploads_per_s} uploads/s (p50 ${result.upload_ms_p50} ms, p99 ${result.upload_ms_p99} ms)`);
    return result;
  } finally {
    await service.stop();
    await db.initialize().then(
      () => db.query('DELETE FROM heartguard_core.media_items WHERE org_id = $1', [orgId]),
      () => undefined,
    );
    if (db.isInitialized) await db.destroy();
    rmSync(dir, { recursive: true, force: true });
    await stopDb();
  }
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchMedia({
    durationMs: Number(argument('seconds') ?? 10) * 1000,
    concurrency: Number(argument('concurrency') ?? 8),
    fileBytes: Math.round(Number(argument('size-mb') ?? 1) * 1024 * 1024),
  });
  console.log(JSON.stringify(result, null, 2));
}
