import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDataSource, type AuditEmitter, type AuditEvent, type StartedService } from '@heartguard/kit';
import { mintAccessToken, testEnv } from '@heartguard/kit/testing';
import type { DataSource } from 'typeorm';
import type { ObjectStore } from '../../src/object-store.js';
import { startMedia } from '../../src/service.js';

export const TEST_LINK_SECRET = 'media-test-link-signing-secret-0123456789';
/** Links name the gateway; tests send them to the service directly, as the gateway would forward them. */
export const PUBLIC_URL = 'http://gateway.test:5000';

export interface RecordingAudit extends AuditEmitter {
  events: AuditEvent[];
}

/** Captures what the service hands to its audit emitter (delivery itself is the kit's concern). */
export function recordingAudit(): RecordingAudit {
  const events: AuditEvent[] = [];
  return {
    events,
    emit(input) {
      events.push({ ...input, id: randomUUID(), service: 'media', occurred_at: new Date().toISOString() });
    },
    flush: async () => undefined,
    pending: () => 0,
    stop: async () => undefined,
  };
}

export interface TestMedia {
  url: string;
  dir: string;
  service: StartedService;
  audit: RecordingAudit;
  /** A signed link as the client gets it, pointed at this service instead of the gateway. */
  direct(link: string): string;
  stop(): Promise<void>;
}

export async function startTestMedia(
  env: Record<string, string> = {},
  options: { wrapStore?: (store: ObjectStore) => ObjectStore } = {},
): Promise<TestMedia> {
  const dir = mkdtempSync(join(tmpdir(), 'hg-media-api-'));
  const audit = recordingAudit();
  const service = await startMedia({
    env: testEnv({
      MEDIA_LOCAL_DIR: dir,
      MEDIA_PUBLIC_URL: PUBLIC_URL,
      MEDIA_URL_SIGNING_SECRET: TEST_LINK_SECRET,
      GCS_BUCKET: undefined,
      // Tests that answer before reading a body leave the connection busy; don't wait 10 s for it at stop.
      SHUTDOWN_GRACE_MS: '500',
      ...env,
    }),
    shared: { audit: () => audit },
    port: 0,
    ...(options.wrapStore ? { wrapStore: options.wrapStore } : {}),
  });
  return {
    url: service.url,
    dir,
    service,
    audit,
    direct: (link) => link.replace(PUBLIC_URL, service.url),
    async stop() {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Tenant {
  orgId: string;
  userId: string;
  adminId: string;
  userToken: string;
  managerToken: string;
  adminToken: string;
}

export function newTenant(): Tenant {
  const orgId = randomUUID();
  const userId = randomUUID();
  const adminId = randomUUID();
  return {
    orgId,
    userId,
    adminId,
    userToken: mintAccessToken({ sub: userId, role: 'user', org_id: orgId }),
    managerToken: mintAccessToken({ sub: randomUUID(), role: 'manager', org_id: orgId }),
    adminToken: mintAccessToken({ sub: adminId, role: 'admin', org_id: orgId }),
  };
}

export async function openTestDb(): Promise<DataSource> {
  const db = createDataSource({ url: process.env.DATABASE_URL!, service: 'media_test', migrations: [], poolSize: 2 });
  await db.initialize();
  return db;
}

/** Every regular file under dir (recursive), relative paths. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string, prefix: string) => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) walk(full, `${prefix}${entry}/`);
      else out.push(`${prefix}${entry}`);
    }
  };
  walk(dir, '');
  return out;
}

export function metricValue(metricsText: string, name: string, labels = ''): number {
  const line = metricsText.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}
