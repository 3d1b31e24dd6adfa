import { existsSync } from 'node:fs';
import { freePort } from './free-port.js';
import { fileURLToPath } from 'node:url';
import {
  SERVICE_PORTS,
  SERVICE_URL_VARIABLES,
  connectRedis,
  createLogger,
  loadSchemas,
  memoryRevocationStore,
  redisRevocationStore,
  type Env,
  type ServiceName,
  type SharedResources,
  type StartService,
  type StartedService,
} from '@heartguard/kit';

/** Start order: audit first (everyone emits to it), auth next (keys), the gateway last. */
export const START_ORDER: ServiceName[] = ['audit', 'auth', 'organization', 'user', 'media', 'timeseries', 'gateway'];

export interface Mesh {
  services: Map<ServiceName, StartedService>;
  url(name: ServiceName): string;
  /** Stops the gateway first, then the rest in reverse start order. */
  stop(): Promise<void>;
}

function serviceEntry(name: ServiceName): string {
  return fileURLToPath(new URL(`../../services/${name}/src/service.ts`, import.meta.url));
}


export function availableServices(): ServiceName[] {
  return START_ORDER.filter((name) => existsSync(serviceEntry(name)));
}

/**
 * Hosts the services in this process. `ephemeral` ports (tests) wire each service to the
 * others' actual URLs; `fixed` uses 5000–5006 (or *_PORT overrides).
 */
export async function startMesh(options: { env: Env; ports: 'fixed' | 'ephemeral'; only?: ServiceName[] }): Promise<Mesh> {
  const env: Env = { ...options.env };
  const logger = createLogger({ service: 'mesh', level: env.LOG_LEVEL ?? 'info' });
  const shared: SharedResources = { schemas: loadSchemas() };
  let sharedRedis: ReturnType<typeof connectRedis> | undefined;
  if (env.REDIS_URL) {
    sharedRedis = connectRedis(env.REDIS_URL, logger, 'mesh');
    shared.redis = sharedRedis;
    shared.revocations = redisRevocationStore(sharedRedis);
  } else {
    shared.revocations = memoryRevocationStore();
  }
  const services = new Map<ServiceName, StartedService>();
  const wanted = options.only ?? availableServices();
  // Ephemeral ports are picked up front so every service knows every other's URL at boot.
  if (options.ports === 'ephemeral') {
    for (const name of START_ORDER) env[`${name.toUpperCase()}_PORT`] = String(await freePort());
  }
  for (const name of START_ORDER) {
    const port = env[`${name.toUpperCase()}_PORT`] ?? SERVICE_PORTS[name];
    env[SERVICE_URL_VARIABLES[name]] ??= `http://127.0.0.1:${port}`;
    if (options.ports === 'ephemeral') env[SERVICE_URL_VARIABLES[name]] = `http://127.0.0.1:${port}`;
  }
  env.AUTH_JWKS_URL ??= `${env.AUTH_URL}/auth/.well-known/jwks.json`;
  env.MEDIA_PUBLIC_URL ??= env.GATEWAY_URL;
  try {
    for (const name of START_ORDER) {
      if (!wanted.includes(name)) continue;
      const module = (await import(serviceEntry(name))) as { start: StartService };
      services.set(name, await module.start({ env, shared }));
    }
  } catch (err) {
    for (const service of [...services.values()].reverse()) await service.stop().catch(() => undefined);
    await sharedRedis?.quit().catch(() => undefined);
    throw err;
  }
  return {
    services,
    url(name) {
      const service = services.get(name);
      if (!service) throw new Error(`${name} is not running`);
      return service.url;
    },
    async stop() {
      for (const service of [...services.values()].reverse()) await service.stop().catch(() => undefined);
      await sharedRedis?.quit().catch(() => sharedRedis?.disconnect());
      logger.flush();
    },
  };
}
