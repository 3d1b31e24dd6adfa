import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Env } from './config.js';
import type { SharedResources, Platform } from './platform.js';
import { waitForRedis } from './redis.js';
import { closeServer, shutdownOnSignal } from './shutdown.js';

export interface StartOptions {
  env: Env;
  shared?: SharedResources;
  /** Overrides the configured port (tests pass 0). */
  port?: number;
}

export interface StartedService {
  name: string;
  url: string;
  server: Server;
  platform: Platform;
  /** Stops accepting, waits for in-flight requests, then closes pools and clients. */
  stop(): Promise<void>;
}

export type StartService = (options: StartOptions) => Promise<StartedService>;

export function listen(app: Express, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.requestTimeout = 30_000;
  });
}

/** Wraps a listening app and its closers into a StartedService. */
export async function serve(
  platform: Platform,
  app: Express,
  port: number,
  closers: Array<() => Promise<unknown>> = [],
): Promise<StartedService> {
  const { config } = platform;
  if (platform.redis && !(await waitForRedis(platform.redis, 3000))) {
    platform.logger.warn('Redis is not reachable yet: requests needing it fail or degrade until it is');
  }
  const server = await listen(app, config.host, port);
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  platform.logger.info({ url: `http://${host}:${actualPort}` }, `${config.service} listening`);
  let stopping: Promise<void> | undefined;
  return {
    name: config.service,
    url: `http://${host}:${actualPort}`,
    server,
    platform,
    stop() {
      stopping ??= (async () => {
        await closeServer(server, config.shutdownGraceMs);
        for (const close of closers) await close().catch(() => undefined);
        await platform.close();
        platform.logger.flush?.();
      })();
      return stopping;
    },
  };
}

/** Entry point for `node main.ts`: start from process.env, stop on SIGTERM/SIGINT. */
export async function runStandalone(start: StartService): Promise<void> {
  try {
    const service = await start({ env: process.env });
    shutdownOnSignal(service.platform.logger, [], [() => service.stop()], 0);
  } catch (err) {
    console.error(JSON.stringify({ level: 'fatal', message: err instanceof Error ? err.message : String(err) }));
    process.exit(1);
  }
}
