/**
 * Gateway overhead: an authenticated GET /users/me answered by one upstream (Express, bearer
 * verified with the kit verifier) (a) called directly, (b) through a bare Express 5 +
 * http-proxy-middleware proxy, (c) through the full gateway pipeline (canonical path, policy,
 * negotiation, JWT, one Redis EVALSHA for both rate-limit buckets and the revocation check,
 * RBAC, proxy, access log + metrics). Each target runs in its own process, autocannon in this
 * one; 64 connections for BENCH_DURATION seconds (default 10) after a short warm-up; with
 * BENCH_ROUNDS=n, bare and full alternate n times and each keeps its best round.
 * Redis: REDIS_URL, else redis://127.0.0.1:6379 (the report says if the gateway fell back).
 *
 *   tsx bench/gateway.ts            BENCH_DURATION=5 tsx bench/gateway.ts
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';

type Role = 'upstream' | 'bare' | 'gateway';
const ROLES: Role[] = ['upstream', 'bare', 'gateway'];

interface RunningTarget {
  url: string;
  stop(): Promise<void>;
}

interface ChildTarget extends RunningTarget {
  /** CPU time (user + system, µs) the child process has used so far. */
  cpuMicros(): Promise<number>;
}

interface Measurement {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
  non_2xx: number;
  errors: number;
  /** CPU the target process spent per request: steadier than req/s on a shared machine. */
  cpu_us_per_request: number;
}

/** Starts `role` in a child process of this same file and waits for the URL it listens on. */
function spawnRole(role: Role, env: NodeJS.ProcessEnv): Promise<ChildTarget> {
  // fork() reuses this process's execArgv, so the tsx loader comes along.
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [role], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const failed = (why: string) => reject(new Error(`bench ${role} failed to start: ${why}`));
    child.once('exit', (code) => failed(`exited with ${code}`));
    child.once('error', (err) => failed(err.message));
    child.once('message', (message) => {
      const { url, error } = message as { url?: string; error?: string };
      if (!url) return failed(error ?? 'no url');
      child.removeAllListeners('exit');
      resolve({
        url,
        cpuMicros: () =>
          new Promise<number>((answer) => {
            child.once('message', (reply) => answer((reply as { cpu: number }).cpu));
            child.send('cpu');
          }),
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            const force = setTimeout(() => child.kill('SIGKILL'), 5000);
            child.once('exit', () => {
              clearTimeout(force);
              done();
            });
            child.send('stop');
          }),
      });
    });
  });
}

async function runRole(role: Role): Promise<void> {
  let target: RunningTarget;
  if (role === 'upstream') {
    const { startBenchUpstream } = await import('../services/gateway/test/bench-targets.js');
    target = await startBenchUpstream(process.env.JWT_SECRET!);
  } else if (role === 'bare') {
    const { startBareProxy } = await import('../services/gateway/test/bench-targets.js');
    target = await startBareProxy(process.env.BENCH_TARGET!);
  } else {
    const { start } = await import('../services/gateway/src/service.js');
    target = await start({ env: process.env, port: 0 });
  }
  process.on('message', (message) => {
    if (message === 'stop') void target.stop().finally(() => process.exit(0));
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send!({ cpu: user + system });
    }
  });
  process.on('disconnect', () => void target.stop().finally(() => process.exit(0)));
  process.send!({ url: target.url });
}

function cannon(url: string, headers: Record<string, string>, seconds: number, connections: number): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration: seconds, headers });
}

function summarize(result: autocannon.Result, cpuMicros: number): Measurement {
  return {
    rps: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    requests: result.requests.total,
    non_2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    cpu_us_per_request: Math.round(cpuMicros / Math.max(1, result.requests.total)),
  };
}

export async function benchGateway(log: (line: string) => void = console.log): Promise<Record<string, unknown>> {
  const seconds = Number(process.env.BENCH_DURATION ?? 10);
  // Bare and full alternate this many times (BENCH_ROUNDS, default 1); each keeps its best round.
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
  const warmupSeconds = Math.min(3, Math.max(1, Math.round(seconds / 5)));
  const connections = 64;
  const jwtSecret = process.env.JWT_SECRET ?? randomBytes(32).toString('hex');
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    JWT_SECRET: jwtSecret,
    SERVICE_TOKEN_SECRET: process.env.SERVICE_TOKEN_SECRET ?? randomBytes(32).toString('hex'),
  };
  const started: ChildTarget[] = [];
  try {
    const upstream = await spawnRole('upstream', base);
    started.push(upstream);
    const bare = await spawnRole('bare', { ...base, BENCH_TARGET: upstream.url });
    started.push(bare);
    const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const gateway = await spawnRole('gateway', {
      ...base,
      ...Object.fromEntries(['AUTH_URL', 'ORGANIZATION_URL', 'USER_URL', 'MEDIA_URL', 'TIMESERIES_URL', 'AUDIT_URL'].map((v) => [v, upstream.url])),
      REDIS_URL: redisUrl,
      // Limits far above what the run can reach: the buckets are still charged on every request.
      RATE_LIMIT: '1000000000/hour',
      RATE_LIMIT_KEY_PREFIX: `hg:rl:bench:${randomUUID()}:`,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    });
    started.push(gateway);

    process.env.JWT_SECRET = jwtSecret;
    const { mintAccessToken } = await import('../packages/kit/src/testing/index.js');
    const token = mintAccessToken({ role: 'user', org_id: randomUUID() }, { expiresIn: 3600 });
    const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
    const targets = { direct: upstream, bare, full: gateway };
    for (const [name, { url }] of Object.entries(targets)) {
      const res = await fetch(`${url}/users/me`, { headers });
      if (res.status !== 200) throw new Error(`${name} answered ${res.status}: ${await res.text()}`);
    }
    const ready = (await (await fetch(`${gateway.url}/gateway/ready`)).json()) as { status: string };

    const results: Record<string, Measurement> = {};
    const measure = async (name: keyof typeof targets) => {
      const target = targets[name];
      await cannon(`${target.url}/users/me`, headers, warmupSeconds, connections);
      const cpuBefore = await target.cpuMicros();
      const result = await cannon(`${target.url}/users/me`, headers, seconds, connections);
      const m = summarize(result, (await target.cpuMicros()) - cpuBefore);
      log(`  ${name.padEnd(7)} ${String(m.rps).padStart(7)} req/s  p50 ${m.p50_ms} ms  p99 ${m.p99_ms} ms  ${m.cpu_us_per_request} µs CPU/req  non-2xx ${m.non_2xx}`);
      // With several rounds, the best one is kept: other load on the machine only ever slows a run.
      if (!results[name] || m.rps > results[name]!.rps) results[name] = m;
    };
    await measure('direct');
    for (let round = 0; round < rounds; round++) {
      await measure('bare');
      await measure('full');
    }
    const ratio = results.full!.rps / results.bare!.rps;
    const addedCpu = results.full!.cpu_us_per_request - results.bare!.cpu_us_per_request;
    log(`  full/bare = ${(ratio * 100).toFixed(1)}% of throughput (target >= 90%); gateway adds ${addedCpu} µs CPU per request over the bare proxy`);
    log(`  gateway Redis: ${ready.status === 'ready' ? 'shared store' : 'DEGRADED, memory fallback'}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs`);
    return {
      connections,
      duration_s: seconds,
      rounds,
      redis: ready.status === 'ready' ? redisUrl : 'unavailable (memory fallback)',
      ...results,
      full_over_bare: Math.round(ratio * 1000) / 1000,
      added_cpu_us_per_request: addedCpu,
      load_average: loadavg().map((l) => Math.round(l * 100) / 100),
    };
  } finally {
    for (const target of started.reverse()) await target.stop();
  }
}

const role = process.argv[2] as Role | undefined;
if (process.send && role && ROLES.includes(role)) {
  runRole(role).catch((err: unknown) => {
    process.send!({ error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  });
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log('gateway: authenticated GET /users/me, 64 connections');
  benchGateway()
    .then((result) => console.log(JSON.stringify(result, null, 2)))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
