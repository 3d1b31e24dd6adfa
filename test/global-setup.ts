import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../scripts/lib/embedded-postgres.js';

let embedded: EmbeddedDatabase | undefined;

/**
 * Tests use the real PostgreSQL/Redis named by DATABASE_URL/REDIS_URL (CI sets both); without
 * DATABASE_URL an embedded PostgreSQL is started for the run, as `pnpm start` would.
 */
export async function setup(): Promise<void> {
  if (!process.env.DATABASE_URL) {
    embedded = await startEmbeddedPostgres({
      dataDir: resolve(import.meta.dirname, '../.data/test-postgres'),
      port: Number(process.env.TEST_EMBEDDED_PG_PORT ?? 54330),
    });
    process.env.DATABASE_URL = embedded.url;
  }
  process.env.JWT_SECRET ??= randomBytes(32).toString('hex');
  process.env.SERVICE_TOKEN_SECRET ??= randomBytes(32).toString('hex');
  process.env.LOG_LEVEL ??= 'warn';
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
}
