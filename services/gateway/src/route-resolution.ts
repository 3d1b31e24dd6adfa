import { Errors } from '@heartguard/kit';
import type { RequestHandler } from 'express';
import type { AccessPolicy } from './access-policy.js';

/** Default deny: a method and path the policy table does not list is a 404 and is never proxied. */
export function resolveRoutes(policy: AccessPolicy): RequestHandler {
  return (req, _res, next) => {
    const route = policy.resolve(req.method, req.gateway.path);
    if (!route) throw Errors.notFound('No such route');
    req.gateway.route = route;
    req.routeTemplate = route.template;
    next();
  };
}
