import { generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto';
import { Storage, type StorageOptions } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsObjectStore } from '../src/gcs-object-store.js';
import { startFakeGcs, type FakeGcs } from './support/fake-gcs-server.js';
import { guardLoopbackOnly, type LoopbackGuard } from './support/loopback-guard.js';
import { pngBytes } from './support/sample-files.js';
import { verifyV4SignedUrl } from './support/v4-signature.js';

const CLIENT_EMAIL = 'media-signer@heartguard-test.iam.gserviceaccount.com';
const PROJECT_ID = 'heartguard-test';
const BUCKET = 'heartguard-media-test';
const KEY = 'org_11111111-1111-4111-8111-111111111111/user_22222222-2222-4222-8222-222222222222/33333333-3333-4333-8333-333333333333-scan (1) é.png';

let guard: LoopbackGuard;
let publicKey: KeyObject;
let otherPublicKey: KeyObject;
let credentials: StorageOptions['credentials'];
let fake: FakeGcs;

beforeAll(async () => {
  guard = guardLoopbackOnly();
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  publicKey = pair.publicKey;
  otherPublicKey = createPublicKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
  // A throw-away service account: the shape of a downloaded key file, never known to Google.
  credentials = {
    type: 'service_account',
    project_id: PROJECT_ID,
    private_key_id: 'throwaway-test-key',
    private_key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: CLIENT_EMAIL,
    client_id: '100000000000000000001',
  } as StorageOptions['credentials'];
  fake = await startFakeGcs(BUCKET);
});

afterAll(async () => {
  await fake?.close();
  guard.restore();
  // Nothing in this file may have tried to leave 127.0.0.1 (token endpoints, metadata server, GCS).
  expect(guard.refused).toEqual([]);
});

describe('the loopback guard this file relies on', () => {
  it('when something tries to connect off this machine, then the guard refuses and records it', async () => {
    const before = guard.refused.length;
    await expect(fetch('http://192.0.2.1/', { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    expect(guard.refused.slice(before)).toEqual(['192.0.2.1']);
    guard.refused.splice(before);
  });
});

describe('GCS V4 signed read URLs, verified offline against the public key', () => {
  it('when a link is signed, then the signature checks against the service account public key and names its scope and TTL', async () => {
    const store = new GcsObjectStore(new Storage({ credentials, projectId: PROJECT_ID }), BUCKET);
    const before = Math.floor(Date.now() / 1000);
    const link = await store.signedReadUrl(KEY, 900);

    const url = new URL(link.url);
    expect(url.origin).toBe('https://storage.googleapis.com');
    const check = verifyV4SignedUrl(link.url, publicKey);
    expect(check.valid).toBe(true);
    expect(check.path).toBe(`/${BUCKET}/${KEY.split('/').map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/')}`);
    expect(check.params['X-Goog-Algorithm']).toBe('GOOG4-RSA-SHA256');
    expect(check.params['X-Goog-Expires']).toBe('900');
    expect(check.params['X-Goog-SignedHeaders']).toBe('host');
    const [email, date, location, service, terminator] = check.params['X-Goog-Credential']!.split('/');
    expect(email).toBe(CLIENT_EMAIL);
    expect(date).toMatch(/^\d{8}$/);
    expect([location, service, terminator]).toEqual(['auto', 'storage', 'goog4_request']);
    expect(check.params['X-Goog-Date']!.slice(0, 8)).toBe(date);
    // expires_at is exactly X-Goog-Date + X-Goog-Expires.
    const issued = Date.parse(check.params['X-Goog-Date']!.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    expect(link.expiresAt.getTime()).toBe(issued + 900_000);
    expect(issued / 1000).toBeGreaterThanOrEqual(before);
  });

  it('when any signed part of the link is changed, or another key is used, then the signature no longer verifies', async () => {
    const store = new GcsObjectStore(new Storage({ credentials, projectId: PROJECT_ID }), BUCKET);
    const { url } = await store.signedReadUrl(KEY, 900);
    expect(verifyV4SignedUrl(url, otherPublicKey).valid).toBe(false);
    const longer = new URL(url);
    longer.searchParams.set('X-Goog-Expires', '604800');
    expect(verifyV4SignedUrl(longer.href, publicKey).valid).toBe(false);
    const otherObject = new URL(url);
    otherObject.pathname = otherObject.pathname.replace('user_2222', 'user_9999');
    expect(verifyV4SignedUrl(otherObject.href, publicKey).valid).toBe(false);
    expect(verifyV4SignedUrl(url, publicKey, { method: 'DELETE' }).valid).toBe(false);
  });

  it('when the TTL is the 7-day maximum, then the client signs it and X-Goog-Expires says 604800', async () => {
    const store = new GcsObjectStore(new Storage({ credentials, projectId: PROJECT_ID }), BUCKET);
    const { url } = await store.signedReadUrl(KEY, 604_800);
    const check = verifyV4SignedUrl(url, publicKey);
    expect(check.valid).toBe(true);
    expect(check.params['X-Goog-Expires']).toBe('604800');
  });
});

describe('GCS object calls against a local JSON API endpoint (apiEndpoint)', () => {
  const client = () => new Storage({ apiEndpoint: fake.url, projectId: PROJECT_ID, credentials, retryOptions: { maxRetries: 0 } });

  it('when an object is put, then one multipart upload carries its bytes, content type and metadata, create-only', async () => {
    const store = new GcsObjectStore(client(), BUCKET);
    const bytes = pngBytes(3, 2);
    const key = `${KEY.slice(0, KEY.lastIndexOf('/'))}/44444444-4444-4444-8444-444444444444-put.png`;
    const seen = fake.requests.length;
    await store.put({ key, bytes, contentType: 'image/png', fileName: 'put.png', sha256: 'ab'.repeat(32) });

    const uploads = fake.requests.slice(seen).filter((r) => r.method === 'POST');
    expect(uploads).toHaveLength(1);
    const upload = uploads[0]!;
    expect(upload.path).toBe(`/upload/storage/v1/b/${BUCKET}/o`);
    expect(upload.query).toMatchObject({ uploadType: 'multipart', name: key, ifGenerationMatch: '0' });
    expect(String(upload.headers['content-type'])).toMatch(/^multipart\/related; boundary=/);
    // Custom endpoints are called without OAuth: no token was fetched or sent.
    expect(upload.headers.authorization).toBeUndefined();
    const stored = fake.objects.get(key)!;
    expect(stored.bytes.equals(bytes)).toBe(true);
    expect(stored.contentType).toBe('image/png');
    expect(stored.metadata).toMatchObject({
      contentType: 'image/png',
      contentDisposition: `attachment; filename="put.png"; filename*=UTF-8''put.png`,
      metadata: { sha256: 'ab'.repeat(32) },
    });
  });

  it('when an object is checked and deleted twice, then exists() follows it and the second delete is a no-op', async () => {
    const store = new GcsObjectStore(client(), BUCKET);
    const key = `${KEY.slice(0, KEY.lastIndexOf('/'))}/55555555-5555-4555-8555-555555555555-del.png`;
    await store.put({ key, bytes: pngBytes(), contentType: 'image/png', fileName: 'del.png', sha256: '00'.repeat(32) });
    expect(await store.exists(key)).toBe(true);

    const seen = fake.requests.length;
    await store.delete(key);
    expect(await store.exists(key)).toBe(false);
    await expect(store.delete(key)).resolves.toBeUndefined();

    const calls = fake.requests.slice(seen).map((r) => `${r.method} ${r.path}`);
    // The JSON API takes the whole object name as one path segment, slashes percent-encoded.
    const objectPath = `/storage/v1/b/${BUCKET}/o/${encodeURIComponent(key)}`;
    expect(calls).toEqual([`DELETE ${objectPath}`, `GET ${objectPath}`, `DELETE ${objectPath}`]);
    expect(fake.objects.has(key)).toBe(false);
  });

  it('when the service answers an upload with an error, then put rejects and no object exists', async () => {
    const store = new GcsObjectStore(client(), BUCKET);
    const key = `${KEY.slice(0, KEY.lastIndexOf('/'))}/66666666-6666-4666-8666-666666666666-fail.png`;
    fake.failNextUpload(403);
    await expect(store.put({ key, bytes: pngBytes(), contentType: 'image/png', fileName: 'fail.png', sha256: '00'.repeat(32) })).rejects.toMatchObject({ code: 403 });
    expect(fake.objects.has(key)).toBe(false);
  });

  it('when the stored checksum does not match the bytes sent, then the client deletes the object and put rejects', async () => {
    const store = new GcsObjectStore(client(), BUCKET);
    const key = `${KEY.slice(0, KEY.lastIndexOf('/'))}/77777777-7777-4777-8777-777777777777-crc.png`;
    fake.corruptNextUploadChecksum();
    const seen = fake.requests.length;
    await expect(store.put({ key, bytes: pngBytes(), contentType: 'image/png', fileName: 'crc.png', sha256: '00'.repeat(32) })).rejects.toMatchObject({
      code: 'FILE_NO_UPLOAD',
    });
    expect(fake.objects.has(key)).toBe(false);
    expect(fake.requests.slice(seen).map((r) => r.method)).toEqual(['POST', 'DELETE']);
  });

  it('when readiness is checked, then an existing bucket is ok and a missing one is down', async () => {
    expect(await new GcsObjectStore(client(), BUCKET).check()).toBe('ok');
    expect(await new GcsObjectStore(client(), 'no-such-bucket-here').check()).toEqual({ status: 'down', detail: 'bucket no-such-bucket-here does not exist' });
    expect(fake.requests.some((r) => r.method === 'GET' && r.path === `/storage/v1/b/${BUCKET}`)).toBe(true);
  });

  it('when the endpoint is unreachable, then readiness says degraded instead of hanging', async () => {
    const unreachable = new Storage({ apiEndpoint: 'http://127.0.0.1:9', projectId: PROJECT_ID, credentials, retryOptions: { maxRetries: 0 } });
    const outcome = await new GcsObjectStore(unreachable, BUCKET).check();
    expect(outcome).toMatchObject({ status: 'degraded' });
  });

  it('when auth is required on the custom endpoint, then the auth client’s Authorization header reaches each object call', async () => {
    // A stand-in for OAuth: production's token comes from the service-account key the same way.
    const authClient = { getRequestHeaders: async () => ({ Authorization: 'Bearer test-access-token' }) } as unknown as StorageOptions['authClient'];
    const storage = new Storage({ apiEndpoint: fake.url, projectId: PROJECT_ID, authClient, useAuthWithCustomEndpoint: true, retryOptions: { maxRetries: 0 } });
    const store = new GcsObjectStore(storage, BUCKET);
    const key = `${KEY.slice(0, KEY.lastIndexOf('/'))}/88888888-8888-4888-8888-888888888888-auth.png`;
    const seen = fake.requests.length;
    await store.put({ key, bytes: pngBytes(), contentType: 'image/png', fileName: 'auth.png', sha256: '00'.repeat(32) });
    await store.delete(key);
    const calls = fake.requests.slice(seen);
    expect(calls.map((r) => r.method)).toEqual(['POST', 'DELETE']);
    for (const call of calls) expect(call.headers.authorization).toBe('Bearer test-access-token');
  });
});
