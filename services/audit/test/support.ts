import { randomBytes } from 'node:crypto';
import { createDataSource, createServiceTokenIssuer, type StartedService } from '@heartguard/kit';
import { testEnv } from '@heartguard/kit/testing';
import type { DataSource } from 'typeorm';
import { start } from '../src/service.js';

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set for the test run');
  return url;
}

export function startAudit(options: { databaseUrl?: string; port?: number; env?: Record<string, string> } = {}): Promise<StartedService> {
  return start({
    env: testEnv({ DATABASE_URL: options.databaseUrl ?? databaseUrl(), ...options.env }),
    port: options.port ?? 0,
  });
}

/** A service token as the named service would mint it (sub "svc:<name>"). */
export function serviceToken(service: string): string {
  return createServiceTokenIssuer(process.env.SERVICE_TOKEN_SECRET!, service)();
}

export async function openDatabase(url = databaseUrl()): Promise<DataSource> {
  const db = createDataSource({ url, service: 'audit-test', migrations: [], poolSize: 2 });
  await db.initialize();
  return db;
}

/**
 * A database of its own on the test server, for tests that must own the whole chain (verify
 * results, tampering): other test files share the main test database concurrently.
 */
export async function createPrivateDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `heartguard_test_audit_${randomBytes(6).toString('hex')}`;
  const admin = await openDatabase();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.destroy();
  const url = new URL(databaseUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const db = await openDatabase();
      await db.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await db.destroy();
    },
  };
}
