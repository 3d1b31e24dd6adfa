import { randomUUID } from 'node:crypto';
import { translateDbError, type Role, type TokenClaims } from '@heartguard/kit';
import type { AuthDeps } from './deps.js';
import { AuthErrors } from './errors.js';
import { hashPassword } from './password-hashing.js';

export interface RegistrationInput {
  email: string;
  password: string;
  full_name?: string;
  role?: Role;
}

export interface RegisterResponse {
  user_id: string;
  email: string;
  role: Role;
  org_id: string;
}

/**
 * Anonymous sign-ups always become `user` in the bootstrap organization; an admin may create
 * any role, always inside the admin's own organization.
 */
export async function registerAccount(deps: AuthDeps, input: RegistrationInput, caller: TokenClaims | undefined): Promise<RegisterResponse> {
  const role = input.role ?? 'user';
  const callerIsAdmin = caller?.role === 'admin' && caller.typ === 'access';
  if (role !== 'user' && !callerIsAdmin) throw AuthErrors.roleNotAllowed();
  const orgId = callerIsAdmin && caller.org_id ? caller.org_id : deps.config.bootstrap.orgId;
  const email = input.email.trim().toLowerCase();
  if (await deps.repo.findUserByEmail(email)) throw AuthErrors.emailTaken();
  const passwordHash = await hashPassword(input.password);
  let user;
  try {
    user = await deps.repo.insertUser({ id: randomUUID(), email, passwordHash, fullName: input.full_name ?? null, role, orgId });
  } catch (err) {
    const translated = translateDbError(err);
    if ((translated as { code?: string }).code === 'REQ_409') throw AuthErrors.emailTaken();
    throw translated;
  }
  deps.platform.audit.emit({
    action: 'auth.registered',
    actor: caller?.sub ?? user.id,
    outcome: 'success',
    org_id: orgId,
    payload: { user_id: user.id, role, email },
  });
  return { user_id: user.id, email: user.email, role: user.role, org_id: user.orgId };
}

/** Creates the bootstrap admin once; restarts with the same variables change nothing. */
export async function ensureBootstrapAdmin(deps: AuthDeps): Promise<'created' | 'exists' | 'skipped'> {
  const { adminEmail, adminPassword, orgId } = deps.config.bootstrap;
  if (!adminEmail || !adminPassword) return 'skipped';
  if (await deps.repo.findUserByEmail(adminEmail)) return 'exists';
  const created = await deps.repo.insertUserIfAbsent({
    id: randomUUID(),
    email: adminEmail,
    passwordHash: await hashPassword(adminPassword),
    fullName: 'Bootstrap administrator',
    role: 'admin',
    orgId,
  });
  return created ? 'created' : 'exists';
}
