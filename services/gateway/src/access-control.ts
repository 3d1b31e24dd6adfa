import { currentContext, Errors } from '@heartguard/kit';
import type { Request, RequestHandler } from 'express';
import { decideAccess } from './access-policy.js';

/**
 * Answers what the bearer check and the rate limiter found, then applies the route's RBAC rule:
 * 401 (AUTH_002 missing, AUTH_003 invalid, AUTH_004 revoked) or 403 (AUTH_005).
 */
export function enforceAccess(onDenied: (req: Request, status: 401 | 403) => void): RequestHandler {
  return (req, _res, next) => {
    const state = req.gateway;
    if (state.tokenError) {
      onDenied(req, 401);
      throw state.tokenError;
    }
    if (state.revoked) {
      onDenied(req, 401);
      throw Errors.revokedToken();
    }
    const decision = decideAccess(state.route!.access, state.claims);
    if (decision === 'unauthenticated') {
      onDenied(req, 401);
      throw Errors.unauthenticated();
    }
    if (decision === 'forbidden') {
      onDenied(req, 403);
      throw Errors.forbidden();
    }
    if (state.claims) {
      const ctx = currentContext();
      if (ctx) ctx.userId = state.claims.sub;
    }
    next();
  };
}
