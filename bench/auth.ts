/**
 * Login latency with argon2id (OWASP parameters): sequential logins against a started auth
 * service, so the figure is the per-request cost, not a throughput under contention.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { start } from '../services/auth/src/service.js';
import { percentile } from './stats.js';
import { benchDatabase } from './bench-database.js';

export async function benchAuth(): Promise<Record<string, unknown>> {
  const db = await benchDatabase();
  const auth = await start({
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      JWT_SECRET: process.env.JWT_SECRET ?? randomBytes(32).toString('hex'),
      SERVICE_TOKEN_SECRET: process.env.SERVICE_TOKEN_SECRET ?? randomBytes(32).toString('hex'),
      AUDIT_URL: 'http://127.0.0.1:9',
      LOG_LEVEL: 'error',
      LOGIN_MAX_FAILURES: '1000',
    },
    port: 0,
  });
  try {
    const email = `bench-${randomUUID()}@bench.heartguard`;
    const password = 'bench password 123';
    const headers = { 'content-type': 'application/json', accept: 'application/json' };
    await (await fetch(`${auth.url}/auth/register`, { method: 'POST', headers, body: JSON.stringify({ email, password }) })).arrayBuffer();
    const samples: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t0 = performance.now();
      const res = await fetch(`${auth.url}/auth/login`, { method: 'POST', headers, body: JSON.stringify({ email, password }) });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`login failed with ${res.status}`);
      if (i >= 10) samples.push(performance.now() - t0);
    }
    return { login_p50_ms: percentile(samples, 50), login_p99_ms: percentile(samples, 99), samples: samples.length };
  } finally {
    await auth.stop();
    await db.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await benchAuth());
}
