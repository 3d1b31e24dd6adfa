import type { CorsOptions } from 'cors';

/**
 * CORS for the admin portal: exact origins only, reflected one at a time (never "*"), and no
 * credentials mode since clients authenticate with bearer tokens, not cookies. Preflights end
 * here with 204 whatever the origin; a refused origin simply gets no Access-Control-Allow-Origin.
 */
export function corsOptions(allowedOrigins: string[]): CorsOptions {
  return {
    origin: allowedOrigins,
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Accept', 'X-Request-ID'],
    exposedHeaders: ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After', 'X-Request-ID', 'X-Gateway-Request-ID'],
    credentials: false,
    maxAge: 600,
    preflightContinue: false,
    optionsSuccessStatus: 204,
  };
}
