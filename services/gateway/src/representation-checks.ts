import { Errors, negotiateFormat } from '@heartguard/kit';
import type { RequestHandler } from 'express';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

function mediaType(header: string): { type: string; charsetOk: boolean } {
  const [rawType, ...params] = header.split(';');
  let charsetOk = true;
  for (const param of params) {
    const [key, value] = param.split('=').map((s) => s.trim().toLowerCase());
    if (key === 'charset' && value !== 'utf-8' && value !== 'utf8' && value !== '"utf-8"') charsetOk = false;
  }
  return { type: rawType!.trim().toLowerCase(), charsetOk };
}

/**
 * Refuses, before any upstream work, what no service could accept: an Accept we cannot answer
 * (406), a body type the route does not take (415), a declared body over the limit (413).
 * The body itself is never read here; it streams to the upstream.
 */
export function checkRepresentations(bodyLimitBytes: number): RequestHandler {
  return (req, res, next) => {
    const route = req.gateway.route!;
    if (route.negotiated) {
      res.vary('Accept');
      if (negotiateFormat(req.headers.accept) === null) throw Errors.notAcceptable();
    }
    if (!METHODS_WITH_BODY.has(req.method)) return next();
    const declared = req.headers['content-length'];
    const hasBody = (declared !== undefined && declared !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return next();
    if (declared !== undefined && Number(declared) > bodyLimitBytes) throw Errors.tooLarge();
    const header = req.headers['content-type'];
    if (!header) throw Errors.unsupportedMediaType('Content-Type header is required for a request body');
    const { type, charsetOk } = mediaType(header);
    if (!charsetOk) throw Errors.unsupportedMediaType('Only UTF-8 bodies are accepted');
    if (!route.bodyTypes.has(type)) {
      throw Errors.unsupportedMediaType(
        route.bodyTypes.size > 3 ? `Content-Type must be one of ${[...route.bodyTypes].join(', ')}` : undefined,
      );
    }
    next();
  };
}
