/**
 * Time from `pnpm start` to every service's /ready = 200 through the gateway, with a fresh
 * embedded data directory (first start: initdb + migrations) and again with the same one.
 * Needs ports 5000–5006 free.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
const READY = ['gateway', 'auth', 'organization', 'users', 'media', 'timeseries', 'audit'].map((s) => `http://127.0.0.1:5000/${s}/ready`);

async function allReady(): Promise<boolean> {
  for (const url of READY) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status !== 200) return false;
    } catch {
      return false;
    }
  }
  return true;
}

async function timeOneStart(dataDir: string): Promise<number> {
  const env: Record<string, string | undefined> = { ...process.env, HEARTGUARD_DATA_DIR: dataDir, EMBEDDED_PG_PORT: '54332', LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const t0 = performance.now();
  const child = spawn('pnpm', ['start'], { cwd: ROOT, env, stdio: 'ignore', detached: true });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    while (performance.now() - t0 < 60_000 && child.exitCode === null) {
      if (await allReady()) return Math.round(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`mesh not ready within 60 s (exit code ${child.exitCode})`);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
}

export async function benchStartup(): Promise<Record<string, unknown>> {
  const dataDir = resolve(ROOT, '.data/bench-startup');
  rmSync(dataDir, { recursive: true, force: true });
  try {
    const first = await timeOneStart(dataDir);
    const second = await timeOneStart(dataDir);
    return { first_start_to_all_ready_ms: first, restart_to_all_ready_ms: second };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await benchStartup());
}
