import type { Router } from 'express';
import { respond } from './negotiation.js';

export type CheckOutcome = 'ok' | { status: 'degraded' | 'down'; detail: string };
export type ReadinessChecks = Record<string, () => Promise<CheckOutcome>>;

const CHECK_TIMEOUT_MS = 1500;

async function runCheck(check: () => Promise<CheckOutcome>): Promise<{ status: string; detail?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      check(),
      new Promise<CheckOutcome>((resolve) => {
        timer = setTimeout(() => resolve({ status: 'down', detail: 'timed out' }), CHECK_TIMEOUT_MS);
      }),
    ]);
    return outcome === 'ok' ? { status: 'ok' } : outcome;
  } catch (err) {
    return { status: 'down', detail: err instanceof Error ? err.message.slice(0, 200) : 'failed' };
  } finally {
    clearTimeout(timer);
  }
}

/** /health answers without touching dependencies; /ready checks each and names the failed one. */
export function mountHealth(router: Router, paths: string[], service: string, checks: ReadinessChecks): void {
  const started = Date.now();
  for (const base of paths) {
    router.get(`${base}/health`, (_req, res) => {
      respond(res, 200, { root: 'Health' }, { status: 'ok', service, uptime_s: Math.round((Date.now() - started) / 1000) });
    });
    router.get(`${base}/ready`, async (_req, res) => {
      const results = await Promise.all(
        Object.entries(checks).map(async ([name, check]) => ({ name, ...(await runCheck(check)) })),
      );
      const down = results.some((r) => r.status === 'down');
      const degraded = results.some((r) => r.status === 'degraded');
      respond(res, down ? 503 : 200, { root: 'Readiness' }, {
        status: down ? 'unavailable' : degraded ? 'degraded' : 'ready',
        service,
        checks: results,
      });
    });
  }
}
