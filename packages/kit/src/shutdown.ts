import type { Server } from 'node:http';
import type { Logger } from './logger.js';

export function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    // Not unref'd: stop() awaits this, so the timer must keep the process alive until it fires.
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * On SIGTERM/SIGINT: stop accepting, let in-flight requests finish (up to graceMs), then run
 * the closers (pools, clients) in order and exit.
 */
export function shutdownOnSignal(
  logger: Logger,
  servers: Server[],
  closers: Array<() => Promise<unknown>>,
  graceMs = 10_000,
): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await Promise.all(servers.map((s) => closeServer(s, graceMs)));
    for (const close of closers) {
      try {
        await close();
      } catch (err) {
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'error while closing');
      }
    }
    logger.info('stopped');
    logger.flush?.();
    setTimeout(() => process.exit(0), 50).unref();
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
