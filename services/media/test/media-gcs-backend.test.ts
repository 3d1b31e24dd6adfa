import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertMatchesSchema, http } from '@heartguard/kit/testing';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGcs, type FakeGcs } from './support/fake-gcs-server.js';
import { guardLoopbackOnly, type LoopbackGuard } from './support/loopback-guard.js';
import { newTenant, openTestDb, startTestMedia, type TestMedia } from './support/media-harness.js';
import { pngBytes } from './support/sample-files.js';
import { verifyV4SignedUrl } from './support/v4-signature.js';

const BUCKET = 'heartguard-media-e2e';
const CLIENT_EMAIL = 'media-e2e@heartguard-test.iam.gserviceaccount.com';

let guard: LoopbackGuard;
let fake: FakeGcs;
let media: TestMedia;
let db: DataSource;
let publicKey: KeyObject;
let keyDir: string;

beforeAll(async () => {
  guard = guardLoopbackOnly();
  fake = await startFakeGcs(BUCKET);
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  publicKey = pair.publicKey;
  fake.trustSigningKey(publicKey);
  // The production path: a service-account key file named by GOOGLE_APPLICATION_CREDENTIALS.
  keyDir = mkdtempSync(join(tmpdir(), 'hg-media-sa-'));
  const keyFile = join(keyDir, 'service-account.json');
  writeFileSync(
    keyFile,
    JSON.stringify({
      type: 'service_account',
      project_id: 'heartguard-test',
      private_key_id: 'throwaway',
      private_key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: CLIENT_EMAIL,
      client_id: '100000000000000000002',
    }),
  );
  media = await startTestMedia({
    GCS_BUCKET: BUCKET,
    GCS_API_ENDPOINT: fake.url,
    GCS_PROJECT_ID: 'heartguard-test',
    GOOGLE_APPLICATION_CREDENTIALS: keyFile,
    SIGNED_URL_TTL: '10m',
  });
  db = await openTestDb();
});

afterAll(async () => {
  await media?.stop();
  await db?.destroy();
  await fake?.close();
  rmSync(keyDir, { recursive: true, force: true });
  guard.restore();
  expect(guard.refused).toEqual([]);
});

describe('media service on the GCS backend (official client → local JSON API endpoint)', () => {
  it('when a PNG is uploaded, linked, fetched and deleted, then each step reaches the bucket and the bytes round-trip', async () => {
    const t = newTenant();
    const bytes = pngBytes(6, 4);
    const up = await http(`${media.url}/media/upload`, { token: t.userToken, body: { file_name: 'e2e.png', content_type: 'image/png', data_base64: bytes.toString('base64') } });
    expect(up.status, up.text).toBe(201);
    const item = up.json<{ id: string; object_key: string }>();
    const stored = fake.objects.get(item.object_key)!;
    expect(stored.bytes.equals(bytes)).toBe(true);
    expect(stored.contentType).toBe('image/png');

    const res = await http(`${media.url}/media/items/${item.id}/download`, { token: t.userToken });
    expect(res.status).toBe(200);
    const link = res.json<{ url: string; expires_at: string }>();
    assertMatchesSchema('media-download', link);
    expect(link.url.startsWith(`${fake.url}/${BUCKET}/org_${t.orgId}/`)).toBe(true);
    // The client signs the host without its port (irrelevant on storage.googleapis.com:443).
    const check = verifyV4SignedUrl(link.url, publicKey, { host: '127.0.0.1' });
    expect(check.valid).toBe(true);
    expect(check.params['X-Goog-Expires']).toBe('600');
    expect(check.params['X-Goog-Credential']!.startsWith(`${CLIENT_EMAIL}/`)).toBe(true);

    const file = await fetch(link.url);
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true);
    const forged = new URL(link.url);
    forged.searchParams.set('X-Goog-Expires', '604800');
    expect((await fetch(forged)).status).toBe(403);

    const del = await http(`${media.url}/media/items/${item.id}`, { method: 'DELETE', token: t.adminToken });
    expect(del.status).toBe(204);
    expect(fake.objects.has(item.object_key)).toBe(false);
    expect(fake.requests.some((r) => r.method === 'DELETE' && r.path === `/storage/v1/b/${BUCKET}/o/${encodeURIComponent(item.object_key)}`)).toBe(true);
    expect(await db.query('SELECT 1 FROM heartguard_core.media_items WHERE id = $1', [item.id])).toEqual([]);
    expect((await http(`${media.url}/media/items/${item.id}`, { method: 'DELETE', token: t.adminToken })).status).toBe(204);
  });

  it('when the bucket refuses the upload, then 503 MEDIA_503 and no row', async () => {
    const t = newTenant();
    fake.failNextUpload(403);
    const res = await http(`${media.url}/media/upload`, { token: t.userToken, body: { file_name: 'no.png', content_type: 'image/png', data_base64: pngBytes().toString('base64') } });
    expect(res.status).toBe(503);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('MEDIA_503');
    expect(await db.query('SELECT 1 FROM heartguard_core.media_items WHERE org_id = $1', [t.orgId])).toEqual([]);
    expect([...fake.objects.keys()].some((k) => k.startsWith(`org_${t.orgId}/`))).toBe(false);
  });

  it('when the stored checksum does not match, then the upload fails with no object and no row', async () => {
    const t = newTenant();
    fake.corruptNextUploadChecksum();
    const res = await http(`${media.url}/media/upload`, { token: t.userToken, body: { file_name: 'crc.png', content_type: 'image/png', data_base64: pngBytes().toString('base64') } });
    expect(res.status).toBe(503);
    expect(await db.query('SELECT 1 FROM heartguard_core.media_items WHERE org_id = $1', [t.orgId])).toEqual([]);
    expect([...fake.objects.keys()].some((k) => k.startsWith(`org_${t.orgId}/`))).toBe(false);
  });

  it('when readiness is asked, then the bucket check goes to the endpoint and reports ok', async () => {
    const res = await http(`${media.url}/media/ready`);
    expect(res.status).toBe(200);
    expect(res.json<{ checks: unknown[] }>().checks).toEqual(expect.arrayContaining([{ name: 'object_store', status: 'ok' }]));
  });

  it('when the local file route is asked for on the GCS backend, then it does not exist', async () => {
    expect((await http(`${media.url}/media/files/org_x/y?expires=1&signature=x`)).status).toBe(404);
  });
});
