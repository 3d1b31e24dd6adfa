import express, { type Express, type Router } from 'express';
import helmet from 'helmet';
import { errorHandler, notFoundHandler } from './error-handler.js';
import { mountHealth, type ReadinessChecks } from './health.js';
import type { Logger } from './logger.js';
import type { ServiceMetrics } from './metrics.js';
import { requireAcceptable } from './negotiation.js';
import { currentContext, requestContext } from './request-context.js';

export interface ServiceAppOptions {
  service: string;
  /** Path prefix the gateway forwards unchanged (e.g. "auth" for /auth/*). */
  prefix: string;
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: ReadinessChecks;
}

export const securityHeaders = helmet({
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginResourcePolicy: { policy: 'same-site' },
});

function routeTemplate(req: express.Request): string {
  if (req.routeTemplate) return req.routeTemplate;
  const path = req.route?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched';
}

/** Access log line and request metrics, both written once the response is finished. */
export function observeRequests(logger: Logger, metrics: ServiceMetrics): express.RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const labels = { method: req.method, route: routeTemplate(req), status: String(res.statusCode) };
      metrics.requests.inc(labels);
      metrics.latency.observe(labels, seconds);
      const ctx = currentContext();
      logger.info(
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          latency_ms: Math.round(seconds * 100_000) / 100,
          ...(ctx?.userId || req.auth?.sub ? { user_id: ctx?.userId ?? req.auth?.sub } : {}),
        },
        'request',
      );
    });
    next();
  };
}

/**
 * The pipeline every service shares: request id, access log + metrics, security headers,
 * Accept check, and /health, /ready, /metrics under both "/" and "/<prefix>/".
 */
export function createServiceApp({ service, prefix, logger, metrics, readiness }: ServiceAppOptions): { app: Express; router: Router } {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext());
  app.use(observeRequests(logger, metrics));
  app.use(securityHeaders);
  const metricsHandler: express.RequestHandler = async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
  app.get('/metrics', metricsHandler);
  app.get(`/${prefix}/metrics`, metricsHandler);
  app.use(requireAcceptable());
  const router = express.Router();
  mountHealth(router, ['', `/${prefix}`], service, readiness);
  app.use(router);
  return { app, router };
}

/** Adds the 404 and error renderer; call after the service has mounted its routes. */
export function finishApp(app: Express, logger: Logger): Express {
  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  return app;
}
