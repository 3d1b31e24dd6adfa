// Container entry point. The image runs `node --import tsx scripts/docker-entry.mjs` in exec form,
// so this Node process is the container's main process: SIGTERM from `docker stop` reaches the
// service's own graceful-shutdown handler (runStandalone) instead of a shell that would swallow it.
// SERVICE picks which workspace service this container runs; one image serves all seven.
import { existsSync } from 'node:fs';

const SERVICES = ['gateway', 'auth', 'organization', 'user', 'media', 'timeseries', 'audit'];

const service = process.env.SERVICE;
if (!service || !SERVICES.includes(service)) {
  // Same shape as the kit's fatal line, so log shippers parse start-up failures too.
  console.error(
    JSON.stringify({ level: 'fatal', message: `SERVICE must be one of ${SERVICES.join(', ')} (got ${JSON.stringify(service ?? '')})` }),
  );
  process.exit(64);
}

const entry = new URL(`../services/${service}/src/main.ts`, import.meta.url);
if (!existsSync(entry)) {
  console.error(JSON.stringify({ level: 'fatal', message: `services/${service}/src/main.ts is missing from this image` }));
  process.exit(1);
}

process.title = `heartguard-${service}`;
await import(entry.href);
