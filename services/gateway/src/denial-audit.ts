import type { AuditEmitter } from '@heartguard/kit';
import type { Request } from 'express';

const ACTIONS = { 401: 'auth.denied', 403: 'access.denied', 429: 'rate_limit.exceeded' } as const;

export type DeniedStatus = keyof typeof ACTIONS;

export interface DenialAuditOptions {
  /** A client stuck at 429 would otherwise turn every refused request into an audit row. */
  rateLimitedRepeatMs?: number;
  maxTracked?: number;
}

/** Security events for requests the gateway refuses; emitting never waits on the audit service. */
export function createDenialAudit(audit: AuditEmitter, options: DenialAuditOptions = {}): (req: Request, status: DeniedStatus) => void {
  const repeatMs = options.rateLimitedRepeatMs ?? 10_000;
  const maxTracked = options.maxTracked ?? 10_000;
  const lastRateLimited = new Map<string, number>();
  return (req, status) => {
    const state = req.gateway;
    const claims = state.claims;
    const actor = claims?.sub ?? `ip:${state.clientIp}`;
    if (status === 429) {
      const now = Date.now();
      const last = lastRateLimited.get(actor);
      if (last !== undefined && now - last < repeatMs) return;
      if (lastRateLimited.size >= maxTracked) lastRateLimited.clear();
      lastRateLimited.set(actor, now);
    }
    audit.emit({
      action: ACTIONS[status],
      actor,
      org_id: claims?.org_id ?? null,
      outcome: 'denied',
      payload: { method: req.method, path: state.path.slice(0, 512), status },
    });
  };
}
