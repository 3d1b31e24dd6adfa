import { Errors } from '@heartguard/kit';
import type { RequestHandler } from 'express';

/**
 * Shapes a path may not take, checked on the raw request target (never on a decoded path) so
 * that what the RBAC table matches is exactly what the upstream router will see:
 * empty segments, backslashes, dot segments, encoded dots/slashes/backslashes, encoded or raw
 * control characters, fragments, and malformed percent-escapes.
 */
const NON_CANONICAL =
  /\/\/|\\|#|%(?:2e|2f|5c|[01][0-9a-f]|7f)|%(?![0-9a-f]{2})|(?:^|\/)\.{1,2}(?:\/|$)|[\u0000-\u001f\u007f]/i;

/** The path part of a raw request target, or undefined when it is not in canonical form. */
export function canonicalPath(rawUrl: string): string | undefined {
  const query = rawUrl.indexOf('?');
  const path = query === -1 ? rawUrl : rawUrl.slice(0, query);
  // Origin-form only: absolute-form ("http://h/p") and asterisk-form targets are refused.
  if (path.charCodeAt(0) !== 47 /* "/" */) return undefined;
  if (NON_CANONICAL.test(path)) return undefined;
  // A trailing slash names a different resource in the table; refusing it beats guessing.
  if (path.length > 1 && path.charCodeAt(path.length - 1) === 47) return undefined;
  return path;
}

/** 400 REQ_404 for any request whose path is not canonical; stores the path for policy lookup. */
export function rejectNonCanonicalPaths(): RequestHandler {
  return (req, _res, next) => {
    const path = canonicalPath(req.originalUrl);
    if (path === undefined) throw Errors.badPath();
    req.gateway.path = path;
    next();
  };
}
