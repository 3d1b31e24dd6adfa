import { randomUUID } from 'node:crypto';
import type { AppError, TokenClaims } from '@heartguard/kit';
import type { RequestHandler } from 'express';
import type { CompiledRoute } from './access-policy.js';

/** What the gateway learns about a request as it moves through the pipeline. */
export interface GatewayRequestState {
  /** X-Gateway-Request-ID: new for every request, unlike X-Request-ID which clients may set. */
  id: string;
  /** Canonical path (raw, undecoded); set by the path check. */
  path: string;
  route: CompiledRoute | undefined;
  clientIp: string;
  claims: TokenClaims | undefined;
  /** Why a presented bearer was refused; answered only after rate limiting. */
  tokenError: AppError | undefined;
  revoked: boolean;
}

declare module 'express-serve-static-core' {
  interface Request {
    gateway: GatewayRequestState;
  }
}

export function startGatewayRequest(): RequestHandler {
  return (req, res, next) => {
    const id = randomUUID();
    // One object of one shape per request keeps the hot path monomorphic.
    req.gateway = { id, path: '', route: undefined, clientIp: '', claims: undefined, tokenError: undefined, revoked: false };
    res.setHeader('X-Gateway-Request-ID', id);
    next();
  };
}
