import cors, { type CorsOptions } from 'cors';
import type { RequestHandler } from 'express';

/**
 * CORS for the admin portal: exact origins only, reflected one at a time (never "*"), and no
 * credentials mode since clients authenticate with bearer tokens, not cookies. Preflights end
 * here with 204 whatever the origin; a refused origin simply gets no Access-Control-Allow-Origin.
 */
export function corsOptions(allowedOrigins: string[]): CorsOptions {
  return {
    origin: allowedOrigins,
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    // If-Match/ETag carry the optimistic-concurrency versions of organization and preferences.
    allowedHeaders: ['Authorization', 'Content-Type', 'Accept', 'X-Request-ID', 'If-Match'],
    exposedHeaders: ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After', 'X-Request-ID', 'X-Gateway-Request-ID', 'ETag'],
    credentials: false,
    maxAge: 600,
    preflightContinue: false,
    optionsSuccessStatus: 204,
  };
}

/**
 * CORS only concerns browsers, which always send Origin on cross-origin requests: requests
 * without one (mobile apps, services, curl) skip the header work and just learn that the
 * answer varies by Origin. Preflights are always answered here, never proxied.
 */
export function corsPolicy(allowedOrigins: string[]): RequestHandler {
  const handle = cors(corsOptions(allowedOrigins));
  return (req, res, next) => {
    if (req.headers.origin === undefined && req.method !== 'OPTIONS') {
      res.setHeader('Vary', 'Origin');
      return next();
    }
    handle(req, res, next);
  };
}
