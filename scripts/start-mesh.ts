/**
 * `pnpm start`: the whole mesh on ports 5000–5006 in one process, with embedded defaults for
 * whatever is not configured (PostgreSQL from npm, in-process stores instead of Redis, local
 * media directory, PostgreSQL-backed time series).
 */
import { resolve } from 'node:path';
import { SERVICE_PORTS } from '@heartguard/kit';
import { fillDevSecrets } from './lib/dev-secrets.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './lib/embedded-postgres.js';
import { startMesh, type Mesh } from './lib/mesh.js';

const root = resolve(import.meta.dirname, '..');
const dataDir = resolve(root, process.env.HEARTGUARD_DATA_DIR ?? '.data');
const env: Record<string, string | undefined> = { ...process.env };
delete env.PORT;

const started = Date.now();
let database: EmbeddedDatabase | undefined;
let mesh: Mesh | undefined;
let stopping = false;

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping HeartGuard…');
  await mesh?.stop().catch((err: Error) => console.error(err.message));
  await database?.stop().catch((err: Error) => console.error(err.message));
  console.log('Stopped.');
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  const generated = fillDevSecrets(env, resolve(dataDir, 'dev-secrets.json'));
  env.BOOTSTRAP_ADMIN_EMAIL ??= 'admin@heartguard.local';
  env.MEDIA_LOCAL_DIR ??= resolve(dataDir, 'media');
  if (!env.DATABASE_URL) {
    const port = Number(env.EMBEDDED_PG_PORT ?? 54329);
    console.log(`DATABASE_URL not set: starting embedded PostgreSQL on 127.0.0.1:${port} (data in ${resolve(dataDir, 'postgres')})`);
    database = await startEmbeddedPostgres({ dataDir: resolve(dataDir, 'postgres'), port });
    env.DATABASE_URL = database.url;
  }
  if (!env.REDIS_URL) console.log('REDIS_URL not set: in-process rate-limit/revocation stores (single gateway instance only)');
  mesh = await startMesh({ env, ports: 'fixed' });
  const gatewayPort = env.GATEWAY_PORT ?? SERVICE_PORTS.gateway;
  const host = env.HOST && env.HOST !== '0.0.0.0' ? env.HOST : '127.0.0.1';
  console.log(
    [
      '',
      `HeartGuard is up in ${((Date.now() - started) / 1000).toFixed(1)} s — services: ${[...mesh.services.keys()].join(', ')}`,
      `  Gateway:         http://${host === '127.0.0.1' ? 'localhost' : host}:${gatewayPort}`,
      `  Bootstrap admin: ${env.BOOTSTRAP_ADMIN_EMAIL} / ${generated.includes('BOOTSTRAP_ADMIN_PASSWORD') || !process.env.BOOTSTRAP_ADMIN_PASSWORD ? env.BOOTSTRAP_ADMIN_PASSWORD : '(from BOOTSTRAP_ADMIN_PASSWORD)'}`,
      `  Smoke test:      bash scripts/validate_endpoints.sh http://localhost:${gatewayPort}`,
      '  Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
} catch (err) {
  console.error(`Failed to start: ${err instanceof Error ? err.message : String(err)}`);
  await stop(1);
}
