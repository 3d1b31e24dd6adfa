import { createDataSource, type AuditEmitter, type AuditEventInput, type StartedService } from '@heartguard/kit';
import { recordingAuditEmitter, testEnv } from '@heartguard/kit/testing';
import type { DataSource } from 'typeorm';
import { start } from '../src/service.js';

/** The kit's recording emitter, in the { events, emitter } shape these tests use. */
export function recordingAudit(): { events: AuditEventInput[]; emitter: AuditEmitter } {
  const emitter = recordingAuditEmitter();
  return { events: emitter.events, emitter };
}

export interface TestOrganizationService {
  service: StartedService;
  url: string;
  db: DataSource;
  audit: AuditEmitter & { events: AuditEventInput[] };
  stop(): Promise<void>;
}

export async function startOrganizationService(env: Record<string, string | undefined> = {}): Promise<TestOrganizationService> {
  const { events, emitter } = recordingAudit();
  const service = await start({ env: testEnv(env), shared: { audit: () => emitter }, port: 0 });
  const db = createDataSource({ url: process.env.DATABASE_URL!, service: 'organization-test', migrations: [], poolSize: 2 });
  await db.initialize();
  return {
    service,
    url: service.url,
    db,
    audit: Object.assign(emitter, { events }),
    async stop() {
      await db.destroy();
      await service.stop();
    },
  };
}

export async function metricValue(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/organization/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}
