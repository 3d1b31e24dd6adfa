import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertMatchesSchema, assertValidXml, http } from '@heartguard/kit/testing';
import { PASSWORD, startTestMesh, type TestMesh } from '../support/test-mesh.js';

let t: TestMesh;

beforeAll(async () => {
  t = await startTestMesh();
});

afterAll(async () => {
  await t?.stop();
});

describe('a mobile user through the gateway (JSON)', () => {
  it('when a user signs up, logs in, reads and edits their profile, then every answer matches the contract', async () => {
    const email = `journey-${Date.now()}@test.heartguard`;
    const reg = await http(`${t.gateway}/auth/register`, { body: { email, password: PASSWORD } });
    expect(reg.status).toBe(201);
    assertMatchesSchema('auth#/definitions/registerResponse', reg.json());
    expect(reg.json()).toMatchObject({ role: 'user', org_id: t.orgId });

    const user = await t.login(email);
    const me = await http(`${t.gateway}/users/me`, { token: user.token });
    expect(me.status).toBe(200);
    expect(me.json()).toMatchObject({ id: user.id, email, role: 'user', org_id: t.orgId });

    const put = await http(`${t.gateway}/users/me`, { method: 'PUT', token: user.token, body: { preferences: { lang: 'es', units: { hr: 'bpm' } } } });
    expect(put.status).toBe(200);
    expect(put.json()).toMatchObject({ preferences: { lang: 'es', units: { hr: 'bpm' } } });

    const org = await http(`${t.gateway}/organization`, { token: user.token });
    expect(org.status).toBe(200);
    expect(org.json()).toMatchObject({ id: t.orgId });
  });

  it('when the gateway answers, then request ids are returned and propagated', async () => {
    const res = await http(`${t.gateway}/auth/profile`, { token: t.admin.token, headers: { 'x-request-id': 'journey-request-0001' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('journey-request-0001');
    expect(res.headers.get('x-gateway-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const bad = await http(`${t.gateway}/auth/profile`, { token: t.admin.token, headers: { 'x-request-id': 'bad id with spaces;drop' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when a user logs out, then the gateway refuses the token at once', async () => {
    const user = await t.createAccount('user');
    expect((await http(`${t.gateway}/users/me`, { token: user.token })).status).toBe(200);
    expect((await http(`${t.gateway}/auth/logout`, { method: 'POST', token: user.token })).status).toBe(200);
    const after = await http(`${t.gateway}/users/me`, { token: user.token });
    expect(after.status).toBe(401);
    expect(after.json<{ error: { code: string } }>().error.code).toBe('AUTH_004');
  });
});

describe('the admin portal through the gateway (XML)', () => {
  it('when the admin works in XML, then each XML answer validates against its XSD', async () => {
    const xml = { accept: 'application/xml' };
    const login = await http(`${t.gateway}/auth/login`, {
      raw: `<LoginRequest><email>${t.admin.email}</email><password>${PASSWORD}</password></LoginRequest>`,
      headers: { ...xml, 'content-type': 'application/xml' },
    });
    expect(login.status).toBe(200);
    assertValidXml('auth.xsd', login.text);
    const org = await http(`${t.gateway}/organization`, { token: t.admin.token, headers: xml });
    expect(org.status).toBe(200);
    assertValidXml('organization.xsd', org.text);
    const name = `Clinic <north> & "south" ${Date.now()}`;
    const escaped = name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const put = await http(`${t.gateway}/organization`, {
      method: 'PUT',
      token: t.admin.token,
      raw: `<Organization><name>${escaped}</name></Organization>`,
      headers: { ...xml, 'content-type': 'application/xml' },
    });
    expect(put.status).toBe(200);
    assertValidXml('organization.xsd', put.text);
    const json = await http(`${t.gateway}/organization`, { token: t.admin.token });
    expect(json.json<{ name: string }>().name).toBe(name);
    const health = await http(`${t.gateway}/gateway/health`, { headers: xml });
    assertValidXml('health.xsd', health.text);
    const notFound = await http(`${t.gateway}/nowhere`, { headers: xml });
    expect(notFound.status).toBe(404);
    assertValidXml('error.xsd', notFound.text);
  });
});

describe('the audit trail end to end', () => {
  it('when users log in and fail to, then the admin sees masked events in the audit trail and the chain verifies', async () => {
    const user = await t.createAccount('user');
    await http(`${t.gateway}/auth/login`, { body: { email: user.email, password: 'wrong password' } });
    let items: Array<{ action: string; actor: string; payload?: unknown }> = [];
    for (let i = 0; i < 40; i++) {
      const res = await http(`${t.gateway}/audit/events?action=auth.login_failed&limit=50`, { token: t.admin.token });
      expect(res.status).toBe(200);
      items = res.json<{ items: typeof items }>().items;
      if (items.some((e) => e.actor.includes(user.email.slice(5, 12)) || JSON.stringify(e).includes('***'))) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const failed = items.filter((e) => e.action === 'auth.login_failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(JSON.stringify(failed)).not.toContain(user.email);
    const verify = await http(`${t.gateway}/audit/verify`, { token: t.admin.token });
    expect(verify.status).toBe(200);
    expect(verify.json()).toMatchObject({ valid: true });
  });
});
