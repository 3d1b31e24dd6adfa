import { randomUUID } from 'node:crypto';
import { createServiceTokenIssuer } from '@heartguard/kit';
import { assertMatchesSchema, assertValidXml, http, mintAccessToken } from '@heartguard/kit/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganizationRepository, type OrganizationRepository } from '../src/repository.js';
import { metricValue, startOrganizationService, type TestOrganizationService } from './support.js';

let svc: TestOrganizationService;
let repo: OrganizationRepository;
let redis: Redis;

beforeAll(async () => {
  svc = await startOrganizationService();
  repo = createOrganizationRepository(svc.db);
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await svc?.stop();
  redis?.disconnect();
});

async function newOrg(name = `Org ${randomUUID().slice(0, 8)}`, policies = 'ISO27001'): Promise<string> {
  const id = randomUUID();
  await repo.ensure({ id, name, policies });
  return id;
}

const tokenFor = (orgId: string, role: 'admin' | 'manager' | 'user' = 'admin', sub = randomUUID()) =>
  mintAccessToken({ sub, role, org_id: orgId });

const XML = { accept: 'application/xml' };

async function storedRow(id: string): Promise<Record<string, unknown>> {
  const rows = (await svc.db.query('SELECT * FROM heartguard_core.organizations WHERE id = $1', [id])) as Array<Record<string, unknown>>;
  return rows[0]!;
}

describe('GET /organization', () => {
  it('when a member asks in JSON, then the caller organization is returned with its version and an ETag', async () => {
    const orgId = await newOrg('Clinic North');
    const res = await http(`${svc.url}/organization`, { token: tokenFor(orgId, 'user') });
    expect(res.status).toBe(200);
    const body = res.json();
    assertMatchesSchema('organization', body);
    expect(body).toMatchObject({ id: orgId, name: 'Clinic North', policies: 'ISO27001', version: 1 });
    expect(body.policy_settings).toEqual({
      password_min_length: 12,
      session_timeout_minutes: 60,
      data_retention_days: 365,
      mfa_required: false,
      allowed_upload_types: ['image/png', 'image/jpeg', 'application/pdf'],
    });
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.headers.get('vary')).toMatch(/Accept/);
  });

  it('when a member asks in XML, then <Organization> validates against the XSD', async () => {
    const orgId = await newOrg('Clinic XML');
    const res = await http(`${svc.url}/organization`, { token: tokenFor(orgId, 'manager'), headers: XML });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/xml/);
    assertValidXml('organization.xsd', res.text);
    expect(res.text).toContain(`<Organization><id>${orgId}</id><name>Clinic XML</name><policies>ISO27001</policies>`);
    expect(res.text).toContain('<allowed_upload_types><allowed_upload_type>image/png</allowed_upload_type>');
  });

  it('when the token names an organization that does not exist, then 404 ORG_404', async () => {
    const res = await http(`${svc.url}/organization`, { token: tokenFor(randomUUID()) });
    expect(res.status).toBe(404);
    assertMatchesSchema('error', res.json());
    expect(res.json<{ error: { code: string } }>().error.code).toBe('ORG_404');
  });

  it('when there is no token, then 401 and in XML the error validates', async () => {
    const res = await http(`${svc.url}/organization`, { headers: XML });
    expect(res.status).toBe(401);
    assertValidXml('error.xsd', res.text);
    expect(res.text).toContain('<code>AUTH_002</code>');
  });

  // Needs the shared Redis (REDIS_URL); without it each service has its own in-process store.
  it.skipIf(!process.env.REDIS_URL)('when the token was revoked (hg:revoked:<jti> in Redis), then 401 AUTH_004', async () => {
    const orgId = await newOrg();
    const jti = randomUUID();
    const token = mintAccessToken({ sub: randomUUID(), role: 'admin', org_id: orgId }, { jti });
    expect((await http(`${svc.url}/organization`, { token })).status).toBe(200);
    await redis.set(`hg:revoked:${jti}`, '1', 'EX', 60);
    const res = await http(`${svc.url}/organization`, { token });
    expect(res.status).toBe(401);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('AUTH_004');
  });

  it('when a service token calls, then 403 (organization data is for members only)', async () => {
    const serviceToken = createServiceTokenIssuer(process.env.SERVICE_TOKEN_SECRET!, 'media')();
    const res = await http(`${svc.url}/organization`, { token: serviceToken });
    expect(res.status).toBe(403);
  });
});

describe('GET /organization/policies', () => {
  it('when a member asks, then the policies resource is returned in JSON and XML', async () => {
    const orgId = await newOrg('Policy Org', 'HIPAA & ISO27001');
    const token = tokenFor(orgId, 'user');
    const json = await http(`${svc.url}/organization/policies`, { token });
    expect(json.status).toBe(200);
    assertMatchesSchema('organization#/definitions/organizationPolicies', json.json());
    expect(json.json()).toMatchObject({ org_id: orgId, statement: 'HIPAA & ISO27001', password_min_length: 12, mfa_required: false, version: 1 });

    const xml = await http(`${svc.url}/organization/policies`, { token, headers: XML });
    expect(xml.status).toBe(200);
    assertValidXml('organization.xsd', xml.text);
    expect(xml.text).toContain('<OrganizationPolicies>');
    expect(xml.text).toContain('<statement>HIPAA &amp; ISO27001</statement>');
  });
});

describe('PUT /organization', () => {
  it('when an admin updates, then the row changes, version increments, an audit event names the changed fields', async () => {
    const orgId = await newOrg('Before');
    const actor = randomUUID();
    const res = await http(`${svc.url}/organization`, {
      method: 'PUT',
      token: tokenFor(orgId, 'admin', actor),
      body: { name: 'After', policies: 'ISO27001', policy_settings: { mfa_required: true, allowed_upload_types: ['image/png'] }, version: 1 },
    });
    expect(res.status).toBe(200);
    const body = res.json();
    assertMatchesSchema('organization', body);
    expect(body).toMatchObject({ id: orgId, name: 'After', version: 2 });
    expect(res.headers.get('etag')).toBe('"2"');
    const row = await storedRow(orgId);
    expect(row).toMatchObject({ name: 'After', version: 2, mfa_required: true, allowed_upload_types: ['image/png'], password_min_length: 12 });
    const event = svc.audit.events.find((e) => e.org_id === orgId);
    expect(event).toEqual({
      action: 'organization.updated',
      actor,
      org_id: orgId,
      outcome: 'success',
      payload: { changed: ['name', 'policy_settings.mfa_required', 'policy_settings.allowed_upload_types'], version: 2 },
    });
  });

  it('when a manager updates without a version, then the write is unconditional and still bumps the version', async () => {
    const orgId = await newOrg();
    const res = await http(`${svc.url}/organization`, { method: 'PUT', token: tokenFor(orgId, 'manager'), body: { name: 'Managed' } });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ name: 'Managed', version: 2, policies: 'ISO27001' });
  });

  it('when nothing differs from the stored organization, then 200 with the same version and no audit event', async () => {
    const orgId = await newOrg('Same');
    const res = await http(`${svc.url}/organization`, { method: 'PUT', token: tokenFor(orgId), body: { name: 'Same', version: 1 } });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ version: 1 });
    expect(svc.audit.events.some((e) => e.org_id === orgId)).toBe(false);
  });

  it('when a user (not admin/manager) calls the service directly, then 403 and nothing changes', async () => {
    const orgId = await newOrg('Locked');
    const res = await http(`${svc.url}/organization`, { method: 'PUT', token: tokenFor(orgId, 'user'), body: { name: 'Hijacked' } });
    expect(res.status).toBe(403);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('AUTH_005');
    expect(await storedRow(orgId)).toMatchObject({ name: 'Locked', version: 1 });
  });

  it('when org A admin updates, then only org A changes and org B stays untouched', async () => {
    const orgA = await newOrg('Tenant A');
    const orgB = await newOrg('Tenant B');
    const res = await http(`${svc.url}/organization`, { method: 'PUT', token: tokenFor(orgA), body: { name: 'Tenant A renamed' } });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ id: orgA });
    expect(await storedRow(orgB)).toMatchObject({ name: 'Tenant B', version: 1 });
    // No request shape lets A address B: ids in the body are refused, the token decides.
    const sneaky = await http(`${svc.url}/organization`, { method: 'PUT', token: tokenFor(orgA), body: { id: orgB, name: 'Pwned' } });
    expect(sneaky.status).toBe(422);
    expect(await storedRow(orgB)).toMatchObject({ name: 'Tenant B', version: 1 });
    const readA = await http(`${svc.url}/organization`, { token: tokenFor(orgA) });
    expect(readA.json()).toMatchObject({ id: orgA, name: 'Tenant A renamed' });
  });

  it('when the version is stale (body or If-Match), then 409 ORG_409, nothing changes and the conflict is counted', async () => {
    const orgId = await newOrg('Versioned');
    const token = tokenFor(orgId);
    expect((await http(`${svc.url}/organization`, { method: 'PUT', token, body: { name: 'V2', version: 1 } })).status).toBe(200);
    const before = await metricValue(svc.url, 'organization_updates_total', 'outcome="conflict"');

    const stale = await http(`${svc.url}/organization`, { method: 'PUT', token, body: { name: 'Lost update', version: 1 } });
    expect(stale.status).toBe(409);
    assertMatchesSchema('error', stale.json());
    expect(stale.json<{ error: { code: string } }>().error.code).toBe('ORG_409');

    const staleHeader = await http(`${svc.url}/organization`, {
      method: 'PUT',
      token,
      headers: { 'if-match': '"1"', accept: 'application/xml' },
      body: { name: 'Lost update' },
    });
    expect(staleHeader.status).toBe(409);
    assertValidXml('error.xsd', staleHeader.text);
    expect(await storedRow(orgId)).toMatchObject({ name: 'V2', version: 2 });
    expect(await metricValue(svc.url, 'organization_updates_total', 'outcome="conflict"')).toBe(before + 2);

    const fresh = await http(`${svc.url}/organization`, { method: 'PUT', token, headers: { 'if-match': '"2"' }, body: { name: 'V3' } });
    expect(fresh.status).toBe(200);
    expect(fresh.json()).toMatchObject({ name: 'V3', version: 3 });
  });

  it('when If-Match is malformed or disagrees with the body version, then 400 ORG_400', async () => {
    const orgId = await newOrg();
    const token = tokenFor(orgId);
    for (const [ifMatch, version] of [['"abc"', undefined], ['"1"', 2]] as const) {
      const res = await http(`${svc.url}/organization`, { method: 'PUT', token, headers: { 'if-match': ifMatch }, body: { name: 'X', version } });
      expect(res.status).toBe(400);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('ORG_400');
    }
  });

  it('when two PUTs race with the same version, then exactly one wins and the other gets 409', async () => {
    const orgId = await newOrg('Race');
    const token = tokenFor(orgId);
    const results = await Promise.all(
      ['Racer 1', 'Racer 2', 'Racer 3', 'Racer 4'].map((name) =>
        http(`${svc.url}/organization`, { method: 'PUT', token, body: { name, version: 1 } }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409, 409]);
    const winner = results.find((r) => r.status === 200)!.json<{ name: string }>().name;
    expect(await storedRow(orgId)).toMatchObject({ name: winner, version: 2 });
  });

  it('when unconditional PUTs race, then none is lost: the version advances once per write', async () => {
    const orgId = await newOrg('Counter');
    const token = tokenFor(orgId);
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => http(`${svc.url}/organization`, { method: 'PUT', token, body: { name: `Write ${n}` } })),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect((await storedRow(orgId)).version).toBe(6);
    expect(new Set(results.map((r) => r.json<{ version: number }>().version))).toEqual(new Set([2, 3, 4, 5, 6]));
  });

  it('when the body is invalid, then 422 with the field list and nothing is stored', async () => {
    const orgId = await newOrg('Valid');
    const token = tokenFor(orgId);
    const cases: Array<[unknown, string]> = [
      [{ name: '' }, '/name'],
      [{ name: 'x'.repeat(201) }, '/name'],
      [{ policies: 'no name' }, '/name'],
      [{ name: 'Ok', policies: 'p'.repeat(2001) }, '/policies'],
      [{ name: 'Ok', role: 'admin' }, '/role'],
      [{ name: 'Ok', contact_email: 'not-an-email' }, '/contact_email'],
      [{ name: 'Ok', policy_settings: { password_min_length: 4 } }, '/policy_settings/password_min_length'],
      [{ name: 'Ok', policy_settings: { allowed_upload_types: [] } }, '/policy_settings/allowed_upload_types'],
      [{ name: 'Ok', version: 0 }, '/version'],
    ];
    for (const [body, field] of cases) {
      const res = await http(`${svc.url}/organization`, { method: 'PUT', token, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      const error = res.json<{ error: { code: string; details: Array<{ field: string }> } }>().error;
      assertMatchesSchema('error', { error });
      expect(error.code).toBe('REQ_422');
      expect(error.details.map((d) => d.field)).toContain(field);
    }
    expect(await storedRow(orgId)).toMatchObject({ name: 'Valid', version: 1 });
  });

  it('when the same update arrives as XML and as JSON, then both store the same organization', async () => {
    const jsonOrg = await newOrg('J');
    const xmlOrg = await newOrg('X');
    const update = {
      name: 'Twin Clinic',
      policies: 'ISO27001',
      contact_email: 'ops@example.org',
      policy_settings: { password_min_length: 14, mfa_required: true, data_retention_days: 90, allowed_upload_types: ['image/png', 'application/pdf'] },
      version: 1,
    };
    const json = await http(`${svc.url}/organization`, { method: 'PUT', token: tokenFor(jsonOrg), body: update });
    expect(json.status).toBe(200);
    const xmlBody =
      '<?xml version="1.0" encoding="UTF-8"?><Organization><name>Twin Clinic</name><policies>ISO27001</policies>' +
      '<contact_email>ops@example.org</contact_email><policy_settings><password_min_length>14</password_min_length>' +
      '<mfa_required>true</mfa_required><data_retention_days>90</data_retention_days><allowed_upload_types>' +
      '<allowed_upload_type>image/png</allowed_upload_type><allowed_upload_type>application/pdf</allowed_upload_type>' +
      '</allowed_upload_types></policy_settings><version>1</version></Organization>';
    const xml = await http(`${svc.url}/organization`, {
      method: 'PUT',
      token: tokenFor(xmlOrg),
      headers: { 'content-type': 'application/xml; charset=utf-8', accept: 'application/xml' },
      raw: xmlBody,
    });
    expect(xml.status, xml.text).toBe(200);
    assertValidXml('organization.xsd', xml.text);
    const strip = ({ id: _id, created_at: _c, updated_at: _u, ...rest }: Record<string, unknown>) => rest;
    expect(strip(await storedRow(xmlOrg))).toEqual(strip(await storedRow(jsonOrg)));
    expect(await storedRow(xmlOrg)).toMatchObject({ password_min_length: 14, mfa_required: true, data_retention_days: 90, version: 2 });
  });

  it('when text carries markup and entities, then it is stored as given and escaped exactly once in XML', async () => {
    const orgId = await newOrg();
    const name = '<script>alert("x")</script> &amp; Co';
    const res = await http(`${svc.url}/organization`, { method: 'PUT', token: tokenFor(orgId), body: { name, policies: "Tom's & Jerry's" } });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ name });
    expect(await storedRow(orgId)).toMatchObject({ name, policies: "Tom's & Jerry's" });
    const xml = await http(`${svc.url}/organization`, { token: tokenFor(orgId), headers: XML });
    assertValidXml('organization.xsd', xml.text);
    expect(xml.text).toContain('<name>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;amp; Co</name>');
    expect(xml.text).toContain('<policies>Tom&apos;s &amp; Jerry&apos;s</policies>');
  });

  it('when contact_email is set and then cleared with an empty XML element, then it becomes null', async () => {
    const orgId = await newOrg('Mail');
    const token = tokenFor(orgId);
    await http(`${svc.url}/organization`, { method: 'PUT', token, body: { name: 'Mail', contact_email: 'a@example.org' } });
    expect((await storedRow(orgId)).contact_email).toBe('a@example.org');
    const res = await http(`${svc.url}/organization`, {
      method: 'PUT',
      token,
      headers: { 'content-type': 'application/xml' },
      raw: '<Organization><name>Mail</name><contact_email/></Organization>',
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json()).not.toHaveProperty('contact_email', 'a@example.org');
    expect((await storedRow(orgId)).contact_email).toBeNull();
  });

  it('when the XML body carries a DOCTYPE, then 400 and nothing is stored', async () => {
    const orgId = await newOrg('NoXXE');
    const res = await http(`${svc.url}/organization`, {
      method: 'PUT',
      token: tokenFor(orgId),
      headers: { 'content-type': 'application/xml' },
      raw: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Organization><name>&e;</name></Organization>',
    });
    expect(res.status).toBe(400);
    expect(await storedRow(orgId)).toMatchObject({ name: 'NoXXE', version: 1 });
  });
});

describe('service plumbing', () => {
  it('when started, then the bootstrap organization exists, and a restart with another name does not overwrite it', async () => {
    const id = randomUUID();
    const first = await startOrganizationService({ BOOTSTRAP_ORG_ID: id, BOOTSTRAP_ORG_NAME: 'Boot One' });
    await first.stop();
    const second = await startOrganizationService({ BOOTSTRAP_ORG_ID: id, BOOTSTRAP_ORG_NAME: 'Boot Two' });
    try {
      expect(await storedRow(id)).toMatchObject({ name: 'Boot One', version: 1 });
      const res = await http(`${second.url}/organization`, { token: tokenFor(id, 'user') });
      expect(res.json()).toMatchObject({ id, name: 'Boot One' });
    } finally {
      await second.stop();
    }
  });

  it('when BOOTSTRAP_ORG_ID is not a UUID, then start fails naming the variable', async () => {
    await expect(startOrganizationService({ BOOTSTRAP_ORG_ID: 'org-1' })).rejects.toThrow(/BOOTSTRAP_ORG_ID/);
  });

  it('when probed, then health, ready (database) and metrics answer under both roots', async () => {
    const health = await http(`${svc.url}/organization/health`, { headers: XML });
    expect(health.status).toBe(200);
    assertValidXml('health.xsd', health.text);
    const ready = await http(`${svc.url}/organization/ready`);
    expect(ready.status).toBe(200);
    assertMatchesSchema('health', ready.json());
    expect(ready.json()).toMatchObject({ status: 'ready', checks: [{ name: 'database', status: 'ok' }] });
    const metrics = await fetch(`${svc.url}/metrics`);
    const text = await metrics.text();
    expect(text).toContain('# TYPE organization_updates_total counter');
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/organization",status="200"/);
  });
});
