import { randomUUID } from 'node:crypto';
import { testEnv, http, type HttpResult } from '@heartguard/kit/testing';
import type { StartedService } from '@heartguard/kit';
import { start } from '../src/service.js';

export const PASSWORD = 'correct horse battery';

export async function startAuth(overrides: Record<string, string | undefined> = {}): Promise<StartedService & { adminEmail: string; adminPassword: string }> {
  const adminEmail = `admin-${randomUUID()}@test.heartguard`;
  const adminPassword = `Admin-${randomUUID()}`;
  const service = await start({
    env: testEnv({ BOOTSTRAP_ADMIN_EMAIL: adminEmail, BOOTSTRAP_ADMIN_PASSWORD: adminPassword, AUDIT_URL: 'http://127.0.0.1:9', ...overrides }),
    port: 0,
  });
  return Object.assign(service, { adminEmail, adminPassword });
}

export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomUUID()}@test.heartguard`;
}

export async function registerAndLogin(baseUrl: string, headers: Record<string, string> = {}): Promise<{ email: string; tokens: { access_token: string; refresh_token: string } }> {
  const email = uniqueEmail();
  const reg = await http(`${baseUrl}/auth/register`, { body: { email, password: PASSWORD }, headers });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${reg.text}`);
  const login = await http(`${baseUrl}/auth/login`, { body: { email, password: PASSWORD }, headers });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
  return { email, tokens: login.json() };
}

export function errorCode(res: HttpResult): string | undefined {
  return (res.json() as { error?: { code?: string } }).error?.code;
}
