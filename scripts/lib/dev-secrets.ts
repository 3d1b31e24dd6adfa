import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const GENERATED = ['JWT_SECRET', 'SERVICE_TOKEN_SECRET', 'MEDIA_URL_SIGNING_SECRET', 'BOOTSTRAP_ADMIN_PASSWORD'] as const;

/**
 * `pnpm start` must work with no configuration, yet secrets must not be hard-coded. Missing
 * ones are generated once and kept (mode 600) beside the embedded data, so restarts keep
 * tokens valid and the bootstrap password stable.
 */
export function fillDevSecrets(env: Record<string, string | undefined>, file: string): string[] {
  let stored: Record<string, string> = {};
  if (existsSync(file)) stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  const generated: string[] = [];
  for (const name of GENERATED) {
    if (env[name]) continue;
    if (!stored[name]) {
      stored[name] = name === 'BOOTSTRAP_ADMIN_PASSWORD' ? `Hg-${randomBytes(9).toString('base64url')}` : randomBytes(32).toString('hex');
      generated.push(name);
    }
    env[name] = stored[name];
  }
  if (generated.length) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return generated;
}
