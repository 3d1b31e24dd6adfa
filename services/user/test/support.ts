import { randomUUID } from 'node:crypto';
import { createDataSource, type AuditEventInput, type Role, type StartedService } from '@heartguard/kit';
import { mintAccessToken, recordingAuditEmitter, testEnv } from '@heartguard/kit/testing';
import type { DataSource } from 'typeorm';
import type { Identity } from '../src/identity-client.js';
import { start } from '../src/service.js';
import type { FakeAuth } from './fake-auth.js';

export interface TestUserService {
  url: string;
  service: StartedService;
  db: DataSource;
  events: AuditEventInput[];
  stop(): Promise<void>;
}

export async function startUserService(authUrl: string, env: Record<string, string | undefined> = {}): Promise<TestUserService> {
  const emitter = recordingAuditEmitter();
  const { events } = emitter;
  const service = await start({ env: testEnv({ AUTH_URL: authUrl, ...env }), shared: { audit: () => emitter }, port: 0 });
  const db = createDataSource({ url: process.env.DATABASE_URL!, service: 'user-test', migrations: [], poolSize: 2 });
  await db.initialize();
  return {
    url: service.url,
    service,
    db,
    events,
    async stop() {
      await db.destroy();
      await service.stop();
    },
  };
}

export interface TestAccount {
  identity: Identity;
  token: string;
}

/** Registers a user with the fake auth and mints the access token auth would have issued. */
export function addAccount(auth: FakeAuth, role: Role, orgId: string, fullName: string | null = 'Ana Test'): TestAccount {
  const id = randomUUID();
  const identity: Identity = {
    id,
    email: `${role}-${id.slice(0, 8)}@example.org`,
    full_name: fullName,
    role,
    org_id: orgId,
    created_at: new Date().toISOString(),
  };
  auth.users.set(id, identity);
  return { identity, token: mintAccessToken({ sub: id, role, org_id: orgId }) };
}

export async function metricValue(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/users/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** A port nothing listens on: bind one, then close it. */
export async function closedPortUrl(): Promise<string> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
