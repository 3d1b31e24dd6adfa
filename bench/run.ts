/**
 * `pnpm bench`: every benchmark in sequence, each bounded in time, figures printed as JSON.
 * `pnpm bench gateway audit` runs a subset.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const SUITES: Array<{ name: string; file: string; fn: string }> = [
  { name: 'gateway', file: 'gateway.ts', fn: 'benchGateway' },
  { name: 'auth', file: 'auth.ts', fn: 'benchAuth' },
  { name: 'startup', file: 'startup.ts', fn: 'benchStartup' },
  { name: 'timeseries', file: 'timeseries.ts', fn: 'benchTimeseries' },
  { name: 'media', file: 'media.ts', fn: 'benchMedia' },
  { name: 'audit', file: 'audit.ts', fn: 'benchAudit' },
];

const wanted = process.argv.slice(2);
const results: Record<string, unknown> = {};
for (const suite of SUITES) {
  if (wanted.length && !wanted.includes(suite.name)) continue;
  const path = resolve(import.meta.dirname, suite.file);
  if (!existsSync(path)) continue;
  console.log(`\n--- ${suite.name} ---`);
  const module = (await import(path)) as Record<string, () => Promise<Record<string, unknown>>>;
  try {
    results[suite.name] = await module[suite.fn]!();
  } catch (err) {
    results[suite.name] = { error: err instanceof Error ? err.message : String(err) };
  }
  console.log(JSON.stringify(results[suite.name], null, 2));
}
console.log('\n=== summary ===');
console.log(JSON.stringify(results, null, 2));
process.exit(0);
