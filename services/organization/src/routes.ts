import {
  authenticate,
  readBody,
  requireRole,
  respond,
  validateBody,
  type Platform,
  isUuid,
} from '@heartguard/kit';
import type { Request, RequestHandler, Router } from 'express';
import { readExpectedVersion } from './expected-version.js';
import type { OrganizationMetrics } from './organization-metrics.js';
import { OrgErrors } from './organization-errors.js';
import { etagFor, toOrganizationView, toPoliciesView } from './organization-view.js';
import type { OrganizationRecord, OrganizationRepository } from './repository.js';
import { mergeOrganizationUpdate, type OrganizationUpdate } from './update-organization.js';

export interface RouteDeps {
  platform: Platform;
  organizations: OrganizationRepository;
  metrics: OrganizationMetrics;
}


/** The caller's organization id from the verified token: the only tenant this request may touch. */
function callerOrgId(req: Request): string {
  const orgId = req.auth?.org_id;
  if (!orgId || !isUuid(orgId)) throw OrgErrors.notFound();
  return orgId;
}

export function mountOrganizationRoutes(router: Router, { platform, organizations, metrics }: RouteDeps): void {
  const auth = authenticate(platform.authenticator);
  const members = requireRole('admin', 'manager', 'user');

  async function loadCallerOrganization(req: Request): Promise<OrganizationRecord> {
    const org = await organizations.find(callerOrgId(req));
    if (!org) throw OrgErrors.notFound();
    return org;
  }

  const getOrganization: RequestHandler = async (req, res) => {
    const org = await loadCallerOrganization(req);
    res.setHeader('ETag', etagFor(org));
    respond(res, 200, { root: 'Organization' }, toOrganizationView(org));
  };

  const getPolicies: RequestHandler = async (req, res) => {
    const org = await loadCallerOrganization(req);
    res.setHeader('ETag', etagFor(org));
    respond(res, 200, { root: 'OrganizationPolicies' }, toPoliciesView(org));
  };

  const updateOrganization: RequestHandler = async (req, res) => {
    const update = req.body as OrganizationUpdate;
    const expected = readExpectedVersion(update.version, req.get('if-match'));
    const orgId = callerOrgId(req);
    const outcome = await organizations.update(orgId, expected, (current) => mergeOrganizationUpdate(current, update));
    if (outcome.kind === 'not_found') throw OrgErrors.notFound();
    if (outcome.kind === 'conflict') {
      metrics.updates.inc({ outcome: 'conflict' });
      throw OrgErrors.versionConflict(undefined, {
        details: [{ field: '/version', problem: `expected ${expected}, current version is ${outcome.current.version}` }],
      });
    }
    metrics.updates.inc({ outcome: outcome.kind });
    if (outcome.kind === 'updated') {
      platform.audit.emit({
        action: 'organization.updated',
        actor: req.auth!.sub,
        org_id: orgId,
        outcome: 'success',
        payload: { changed: outcome.changed, version: outcome.organization.version },
      });
    }
    res.setHeader('ETag', etagFor(outcome.organization));
    respond(res, 200, { root: 'Organization' }, toOrganizationView(outcome.organization));
  };

  router.get('/organization', auth, members, getOrganization);
  router.get('/organization/policies', auth, members, getPolicies);
  router.put(
    '/organization',
    auth,
    requireRole('admin', 'manager'),
    readBody({ limitBytes: platform.config.bodyLimitBytes }),
    validateBody(platform.schemas, 'organization#/definitions/updateRequest'),
    updateOrganization,
  );
}
