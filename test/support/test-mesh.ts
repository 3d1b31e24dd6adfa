import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { http, testEnv } from '@heartguard/kit/testing';
import { startMesh, type Mesh } from '../../scripts/lib/mesh.js';

export const PASSWORD = 'e2e correct horse';

export interface Account {
  id: string;
  email: string;
  role: 'admin' | 'manager' | 'user';
  orgId: string;
  token: string;
  refresh: string;
}

export interface TestMesh {
  mesh: Mesh;
  gateway: string;
  db: DataSource;
  orgId: string;
  admin: Account;
  login(email: string, password?: string): Promise<Account>;
  /** Registers an account in the mesh's organization (admin-created for admin/manager). */
  createAccount(role: Account['role']): Promise<Account>;
  /** An admin of a second organization, for tenant-isolation checks. */
  createForeignAdmin(): Promise<Account>;
  stop(): Promise<void>;
}

function claims(token: string): { sub: string; org_id: string; role: Account['role'] } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string; org_id: string; role: Account['role'] };
}

/**
 * Boots all seven services on free ports (as `pnpm start` does on fixed ones) with a private
 * bootstrap organization and admin, so concurrent test files never share tenants.
 */
export async function startTestMesh(overrides: Record<string, string> = {}): Promise<TestMesh> {
  const orgId = randomUUID();
  const adminEmail = `e2e-admin-${orgId}@test.heartguard`;
  const mediaDir = mkdtempSync(join(tmpdir(), 'hg-media-'));
  const mesh = await startMesh({
    ports: 'ephemeral',
    env: testEnv({
      BOOTSTRAP_ORG_ID: orgId,
      BOOTSTRAP_ORG_NAME: `E2E ${orgId.slice(0, 8)}`,
      BOOTSTRAP_ADMIN_EMAIL: adminEmail,
      BOOTSTRAP_ADMIN_PASSWORD: PASSWORD,
      MEDIA_LOCAL_DIR: mediaDir,
      RATE_LIMIT: '100000/min',
      AUTH_RATE_LIMIT: '100000/min',
      ...overrides,
    }),
  });
  const gateway = mesh.url('gateway');
  const db = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL });
  await db.initialize();

  async function login(email: string, password = PASSWORD): Promise<Account> {
    const res = await http(`${gateway}/auth/login`, { body: { email, password } });
    if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${res.text}`);
    const { access_token, refresh_token } = res.json<{ access_token: string; refresh_token: string }>();
    const c = claims(access_token);
    return { id: c.sub, email, role: c.role, orgId: c.org_id, token: access_token, refresh: refresh_token };
  }

  const admin = await login(adminEmail);

  async function register(role: Account['role'], token?: string): Promise<string> {
    const email = `e2e-${role}-${randomUUID()}@test.heartguard`;
    const res = await http(`${gateway}/auth/register`, { body: { email, password: PASSWORD, role }, ...(token ? { token } : {}) });
    if (res.status !== 201) throw new Error(`register ${role}: ${res.status} ${res.text}`);
    return email;
  }

  return {
    mesh,
    gateway,
    db,
    orgId,
    admin,
    login,
    async createAccount(role) {
      return login(await register(role, role === 'user' ? undefined : admin.token));
    },
    async createForeignAdmin() {
      const foreignOrg = randomUUID();
      await db.query(
        `INSERT INTO heartguard_core.organizations (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
        [foreignOrg, `Foreign ${foreignOrg.slice(0, 8)}`],
      );
      const email = await register('admin', admin.token);
      // Test set-up only: there is no public API to create a second tenant.
      await db.query('UPDATE heartguard_core.users SET org_id = $1 WHERE lower(email) = lower($2)', [foreignOrg, email]);
      return login(email);
    },
    async stop() {
      await mesh.stop();
      await db.destroy();
      rmSync(mediaDir, { recursive: true, force: true });
    },
  };
}
