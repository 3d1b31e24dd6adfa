import { createError } from '@heartguard/kit';

/** Codes the gateway itself answers with (the GW_ rows of PLAN.md's table). */
export const GatewayErrors = {
  rateLimited: createError('GW_429', 429, 'Too many requests; retry after the time in Retry-After'),
  badGateway: createError('GW_502', 502, 'The upstream service answered with an invalid response'),
  upstreamUnavailable: createError('GW_503', 503, 'Service unavailable'),
  upstreamTimeout: createError('GW_504', 504, 'The upstream service did not answer in time'),
} as const;
