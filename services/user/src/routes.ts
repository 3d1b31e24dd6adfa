import { authenticate, readBody, requireRole, respond, validateBody, type Platform, isUuid } from '@heartguard/kit';
import type { Request, RequestHandler, Router } from 'express';
import { readExpectedVersion } from './expected-version.js';
import type { Identity, IdentityClient } from './identity-client.js';
import { checkPreferenceBounds, type Preferences } from './preference-bounds.js';
import type { PreferencesRepository } from './repository.js';
import { UserErrors } from './user-errors.js';
import type { UserMetrics } from './user-metrics.js';
import { changedPreferenceKeys, etagFor, toUserView } from './user-view.js';

export interface RouteDeps {
  platform: Platform;
  identities: IdentityClient;
  preferences: PreferencesRepository;
  metrics: UserMetrics;
}

const USER_VIEW = { root: 'User' };

export function mountUserRoutes(router: Router, { platform, identities, preferences, metrics }: RouteDeps): void {
  const auth = authenticate(platform.authenticator);
  const members = requireRole('admin', 'manager', 'user');

  async function loadCaller(req: Request): Promise<Identity> {
    const identity = await identities.findUser(req.auth!.sub);
    // A valid token for an account auth no longer knows: nothing to show or save.
    if (!identity) throw UserErrors.notFound();
    return identity;
  }

  const getMe: RequestHandler = async (req, res) => {
    const identity = await loadCaller(req);
    const stored = await preferences.find(identity.id, identity.org_id);
    res.setHeader('ETag', etagFor(stored));
    respond(res, 200, USER_VIEW, toUserView(identity, stored));
  };

  const putMe: RequestHandler = async (req, res) => {
    const expected = readExpectedVersion(req.get('if-match'));
    const next = (req.body as { preferences: Preferences }).preferences;
    const identity = await loadCaller(req);
    const outcome = await preferences.replace(identity.id, identity.org_id, next, expected);
    if (outcome.kind === 'conflict') {
      metrics.preferenceUpdates.inc({ outcome: 'conflict' });
      throw UserErrors.versionConflict(undefined, {
        details: [{ field: 'If-Match', problem: `expected ${expected}, current version is ${outcome.currentVersion}` }],
      });
    }
    metrics.preferenceUpdates.inc({ outcome: 'updated' });
    platform.audit.emit({
      action: 'user.preferences_updated',
      actor: req.auth!.sub,
      org_id: identity.org_id,
      outcome: 'success',
      payload: { changed_keys: changedPreferenceKeys(outcome.previous, outcome.record.preferences), version: outcome.record.version },
    });
    res.setHeader('ETag', etagFor(outcome.record));
    respond(res, 200, USER_VIEW, toUserView(identity, outcome.record));
  };

  const getUserById: RequestHandler = async (req, res) => {
    const id = String(req.params.id);
    if (!isUuid(id)) throw UserErrors.notFound();
    const identity = await identities.findUser(id);
    // Another tenant's user answers exactly like a missing one, so ids cannot be probed.
    if (!identity || identity.org_id !== req.auth!.org_id) throw UserErrors.notFound();
    const stored = await preferences.find(identity.id, identity.org_id);
    res.setHeader('ETag', etagFor(stored));
    respond(res, 200, USER_VIEW, toUserView(identity, stored));
  };

  router.get('/users/me', auth, members, getMe);
  router.put(
    '/users/me',
    auth,
    members,
    readBody({ limitBytes: platform.config.bodyLimitBytes }),
    validateBody(platform.schemas, 'user#/definitions/updateRequest'),
    checkPreferenceBounds(),
    putMe,
  );
  router.get('/users/:id', auth, requireRole('admin'), getUserById);
}
