import { resolve } from 'node:path';
import { startEmbeddedPostgres } from '../scripts/lib/embedded-postgres.js';

/** The DATABASE_URL server when set, otherwise an embedded PostgreSQL under .data/bench-postgres. */
export async function benchDatabase(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => undefined };
  const db = await startEmbeddedPostgres({ dataDir: resolve(import.meta.dirname, '../.data/bench-postgres'), port: 54331 });
  process.env.DATABASE_URL = db.url;
  return { url: db.url, stop: async () => {
    delete process.env.DATABASE_URL;
    await db.stop();
  } };
}
