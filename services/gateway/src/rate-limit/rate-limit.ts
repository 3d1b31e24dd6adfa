import type { RateSpec } from '@heartguard/kit';
import type { Request, RequestHandler, Response } from 'express';
import { GatewayErrors } from '../gateway-errors.js';
import type { BucketSpec, BucketState, ConsumeRequest, ConsumeResult, RateLimitStore } from './store.js';

export type RateLimitScope = 'ip' | 'auth_ip' | 'user';

export interface RateLimitOptions {
  store: RateLimitStore;
  /**
   * What to do when the store fails or is unavailable: answer from this store instead (the
   * request is still limited, per instance) — or, with 'fail', let the error become a 500.
   */
  onStoreError: RateLimitStore | 'fail';
  /** Per client IP and per user. */
  limit: RateSpec;
  /** Per client IP on the login/register routes, in a bucket of its own. */
  authLimit: RateSpec;
  keyPrefix?: string;
  /** After a store failure, how long to go straight to the fallback before trying again. */
  retryStoreAfterMs?: number;
  onLimited?: (req: Request, scope: RateLimitScope) => void;
  /** Called for every request answered by the fallback; `first` marks the switch to it. */
  onFallback?: (err: unknown, first: boolean) => void;
  onStoreRecovered?: () => void;
  /** A token's revocation could not be checked (the fallback store cannot see revocations). */
  onRevocationUnknown?: (req: Request) => void;
}

function setHeaders(res: Response, state: BucketState): void {
  res.setHeader('RateLimit-Limit', String(state.limit));
  res.setHeader('RateLimit-Remaining', String(state.remaining));
  res.setHeader('RateLimit-Reset', String(Math.ceil(state.resetMs / 1000)));
}

/**
 * Token buckets per client IP and per user, charged in one store call that also looks up the
 * caller's token revocation (req.gateway.revoked). Runs before the 401 answer on purpose:
 * a client sending bad tokens is still charged, and an empty IP bucket answers 429 first.
 */
export function rateLimit(options: RateLimitOptions): RequestHandler {
  const prefix = options.keyPrefix ?? 'hg:rl:';
  const retryMs = options.retryStoreAfterMs ?? 1000;
  const generalWindowMs = options.limit.windowSeconds * 1000;
  const authWindowMs = options.authLimit.windowSeconds * 1000;
  let retryStoreAt = 0;
  let failing = false;

  async function consume(request: ConsumeRequest): Promise<ConsumeResult> {
    const { store, onStoreError } = options;
    if (onStoreError === 'fail') return store.consume(request);
    const available = store.isAvailable?.() ?? true;
    if (available && (!failing || Date.now() >= retryStoreAt)) {
      try {
        const result = await store.consume(request);
        if (failing) {
          failing = false;
          options.onStoreRecovered?.();
        }
        return result;
      } catch (err) {
        const first = !failing;
        failing = true;
        retryStoreAt = Date.now() + retryMs;
        options.onFallback?.(err, first);
        return onStoreError.consume(request);
      }
    }
    const first = !failing;
    failing = true;
    options.onFallback?.(new Error(`${store.name} store unavailable`), first);
    return onStoreError.consume(request);
  }

  return async (req, res, next) => {
    const state = req.gateway;
    const route = state.route!;
    if (route.rateLimit === 'none') return next();
    const ipScope: RateLimitScope = route.rateLimit === 'auth' ? 'auth_ip' : 'ip';
    const buckets: BucketSpec[] = [
      ipScope === 'auth_ip'
        ? { key: `${prefix}auth_ip:${state.clientIp}`, limit: options.authLimit.limit, windowMs: authWindowMs }
        : { key: `${prefix}ip:${state.clientIp}`, limit: options.limit.limit, windowMs: generalWindowMs },
    ];
    const claims = state.claims;
    if (claims) buckets.push({ key: `${prefix}user:${claims.sub}`, limit: options.limit.limit, windowMs: generalWindowMs });
    const result = await consume({ buckets, jti: claims?.typ === 'access' ? claims.jti : undefined });
    state.revoked = result.revoked === true;
    if (result.revoked === undefined) options.onRevocationUnknown?.(req);
    if (!result.allowed) {
      const empty = result.buckets.findIndex((b) => b.retryAfterMs > 0);
      const limiting = result.buckets[Math.max(0, empty)]!;
      setHeaders(res, limiting);
      const scope: RateLimitScope = empty === 1 ? 'user' : ipScope;
      options.onLimited?.(req, scope);
      throw GatewayErrors.rateLimited(undefined, {
        headers: { 'Retry-After': String(Math.max(1, Math.ceil(limiting.retryAfterMs / 1000))) },
      });
    }
    // The tighter of the two buckets is what the client must pace itself by.
    let shown = result.buckets[0]!;
    if (result.buckets.length > 1 && result.buckets[1]!.remaining < shown.remaining) shown = result.buckets[1]!;
    setHeaders(res, shown);
    next();
  };
}
