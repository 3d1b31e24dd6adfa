import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import type { StartedService } from '@heartguard/kit';
import { recordingAuditEmitter, testEnv } from '@heartguard/kit/testing';
import { start } from '../src/service.js';

/** The shared Redis of the run (CI sets REDIS_URL); without it the gateway runs on in-process stores. */
export const hasRedis = Boolean(process.env.REDIS_URL);
/** Whether a redis-server binary is installed, for tests that need a Redis of their own. */
export const hasRedisServer = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface FakeUpstream {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

function listen(app: express.Express): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(server)));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * A stand-in for a service: "echo" answers 200 with what it received (method, path, headers,
 * body); "hang" reads the request and never answers.
 */
export async function startFakeUpstream(mode: 'echo' | 'hang' = 'echo'): Promise<FakeUpstream> {
  const seen: SeenRequest[] = [];
  const app = express();
  app.use((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const record = { method: req.method, url: req.originalUrl, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(record);
      if (mode === 'hang') return;
      res.setHeader('Vary', 'Accept');
      res.status(200).json({ method: record.method, path: record.url, headers: record.headers, body: record.body });
    });
  });
  const server = await listen(app);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => closeServer(server) };
}

/** A port that was just free and is closed again: connecting to it is refused. */
export async function closedPortUrl(): Promise<string> {
  const server = await listen(express());
  const { port } = server.address() as AddressInfo;
  await closeServer(server);
  return `http://127.0.0.1:${port}`;
}

export interface TestGateway {
  url: string;
  service: StartedService;
  audit: ReturnType<typeof recordingAuditEmitter>;
  keyPrefix: string;
  stop(): Promise<void>;
}

const UPSTREAM_VARIABLES = ['AUTH_URL', 'ORGANIZATION_URL', 'USER_URL', 'MEDIA_URL', 'TIMESERIES_URL', 'AUDIT_URL'];

/**
 * Starts the gateway in-process on port 0 with every upstream pointed at `upstreamUrl`, the run's
 * Redis, and rate-limit keys of its own (test files run concurrently on one Redis).
 */
export async function startTestGateway(upstreamUrl: string, env: Record<string, string | undefined> = {}): Promise<TestGateway> {
  const audit = recordingAuditEmitter();
  const keyPrefix = env.RATE_LIMIT_KEY_PREFIX ?? `hg:rl:test:${randomUUID()}:`;
  const upstreams = Object.fromEntries(UPSTREAM_VARIABLES.map((name) => [name, upstreamUrl]));
  const service = await start({
    env: testEnv({ ...upstreams, RATE_LIMIT: '1000/min', AUTH_RATE_LIMIT: '1000/min', RATE_LIMIT_KEY_PREFIX: keyPrefix, ...env }),
    shared: { audit: () => audit },
    port: 0,
  });
  return { url: service.url, service, audit, keyPrefix, stop: () => service.stop() };
}

/** Reads one sample of a metric from a Prometheus text exposition; `labels` is a fragment like 'scope="ip"'. */
export function metricValue(text: string, name: string, labels = ''): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if ((rest.startsWith('{') || rest.startsWith(' ')) && (labels === '' || rest.includes(labels))) {
      return Number(line.trim().split(/\s+/).pop());
    }
  }
  return Number.NaN;
}

export interface PrivateRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * A real redis-server of the test's own, for what must not touch the shared one (SCRIPT FLUSH,
 * killing it mid-test). Nothing is persisted.
 */
export async function startPrivateRedis(port?: number): Promise<PrivateRedis> {
  const chosen = port ?? Number(new URL(await closedPortUrl()).port);
  const child = spawn('redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${chosen}`;
  const deadline = Date.now() + 5000;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      await probe.quit();
      break;
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    port: chosen,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
