/**
 * Recomputes the audit hash chain straight from PostgreSQL, without the HTTP service.
 *   DATABASE_URL=postgres://… npx tsx services/audit/src/verify-cli.ts
 * Prints the verification as one JSON line; exit 0 = chain intact, 1 = broken, 2 = could not run.
 */
import { createDataSource, readInt, readString } from '@heartguard/kit';
import { createAuditRepository } from './repository.js';
import { verifyChain } from './verify-chain.js';

async function main(): Promise<number> {
  const url = readString(process.env, 'DATABASE_URL');
  const chunk = readInt(process.env, 'AUDIT_VERIFY_CHUNK', 5000, { min: 100, max: 100_000 });
  const db = createDataSource({ url, service: 'audit', migrations: [], poolSize: 2 });
  await db.initialize();
  try {
    const result = await verifyChain(createAuditRepository(db), chunk);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.valid ? 0 : 1;
  } finally {
    await db.destroy();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`audit verify failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
