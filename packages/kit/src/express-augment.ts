import type { BodyFormat } from './body-reader.js';
import type { TokenClaims } from './jwt.js';

declare module 'express-serve-static-core' {
  interface Request {
    auth?: TokenClaims;
    bodyFormat?: BodyFormat;
    /** Route template for metrics and logs, set by routers that know it better than Express. */
    routeTemplate?: string;
  }
}

export {};
