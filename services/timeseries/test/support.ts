import { randomUUID } from 'node:crypto';
import { createDataSource, createServiceTokenIssuer, migrate, type StartedService } from '@heartguard/kit';
import { http, mintAccessToken, recordingAuditEmitter, testEnv } from '@heartguard/kit/testing';
import type { DataSource } from 'typeorm';
import { start, TIMESERIES_MIGRATIONS } from '../src/service.js';

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set for the test run');
  return url;
}

export const recordingAudit = recordingAuditEmitter;

export interface TestService {
  url: string;
  service: StartedService;
  audit: ReturnType<typeof recordingAudit>;
  stop(): Promise<void>;
}

export async function startTimeseries(env: Record<string, string> = {}): Promise<TestService> {
  const audit = recordingAudit();
  const service = await start({
    env: testEnv({ DATABASE_URL: databaseUrl(), ...env }),
    port: 0,
    shared: { audit: () => audit },
  });
  // The kit's Redis client refuses commands until connected (no offline queue); the first
  // authenticated request must not race the connection.
  const redis = service.platform.redis;
  if (redis && redis.status !== 'ready') {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('Redis did not connect within 5 s')), 5000);
      redis.once('ready', () => resolve(clearTimeout(timer)));
    });
  }
  return { url: service.url, service, audit, stop: () => service.stop() };
}

/** The service's own tables, migrated, for store-level tests and DB assertions. */
export async function openDatabase(): Promise<DataSource> {
  const db = createDataSource({ url: databaseUrl(), service: 'timeseries', migrations: TIMESERIES_MIGRATIONS, poolSize: 4 });
  await db.initialize();
  await migrate(db);
  return db;
}

export interface Tenant {
  org: string;
  bucket: string;
  admin: string;
  manager: string;
  user: string;
}

/** A fresh organization with a token per role; no two tests share one. */
export function newTenant(): Tenant {
  const org = randomUUID();
  return {
    org,
    bucket: `org_${org}`,
    admin: mintAccessToken({ role: 'admin', org_id: org }),
    manager: mintAccessToken({ role: 'manager', org_id: org }),
    user: mintAccessToken({ role: 'user', org_id: org }),
  };
}

export function serviceToken(service: string): string {
  return createServiceTokenIssuer(process.env.SERVICE_TOKEN_SECRET!, service)();
}

export function isoAgo(ms: number): string {
  return new Date(Date.now() - ms).toISOString();
}

export async function metricValue(url: string, name: string, labels = ''): Promise<number> {
  const text = (await http(`${url}/metrics`, { headers: { accept: 'text/plain' } })).text;
  const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
