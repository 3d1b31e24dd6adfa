import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { AppError} from './errors.js';
import { Errors, isAppError } from './errors.js';
import type { Logger } from './logger.js';
import { negotiateFormat } from './negotiation.js';
import { currentContext } from './request-context.js';
import { toXml, type XmlView } from './xml-codec.js';

const ERROR_VIEW: XmlView = { root: 'Error', itemNames: { details: 'detail' } };

function normalize(err: unknown): AppError {
  if (isAppError(err)) return err;
  const status = (err as { status?: number; statusCode?: number })?.status ?? (err as { statusCode?: number })?.statusCode;
  if (status === 413) return Errors.tooLarge();
  if (status === 400) return Errors.malformedBody();
  return Errors.internal();
}

/** Writes the error envelope in the negotiated format (JSON when the client accepts neither). */
export function sendError(res: Response, error: AppError): void {
  const requestId = currentContext()?.requestId ?? String(res.getHeader('X-Request-ID') ?? '');
  const envelope: Record<string, unknown> = { code: error.code, message: error.message, request_id: requestId };
  if (error.details?.length) envelope.details = error.details;
  if (error.headers) for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  // The unread rest of an oversized body would otherwise keep the connection busy.
  if (error.status === 413) res.setHeader('Connection', 'close');
  res.status(error.status);
  res.vary('Accept');
  if (negotiateFormat(res.req.headers.accept) === 'xml') {
    res.type('application/xml; charset=utf-8').send(toXml(ERROR_VIEW, envelope));
  } else {
    res.type('application/json; charset=utf-8').send(JSON.stringify({ error: envelope }));
  }
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  // Keep all four parameters: that is how Express recognises an error handler.
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const error = normalize(err);
    if (error.status >= 500 && !isAppError(err)) {
      logger.error({ err, method: req.method, path: req.path }, 'unhandled error');
    } else if (error.status >= 500) {
      logger.warn({ code: error.code, cause: error.cause instanceof Error ? error.cause.message : undefined }, error.message);
    }
    sendError(res, error);
  };
}

export function notFoundHandler(): RequestHandler {
  return (req) => {
    throw Errors.notFound(`No route for ${req.method} ${req.path}`);
  };
}
