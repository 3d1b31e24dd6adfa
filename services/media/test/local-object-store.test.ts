import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../src/local-object-store.js';
import { pngBytes } from './support/sample-files.js';

const KEY = 'org_11111111-1111-4111-8111-111111111111/user_22222222-2222-4222-8222-222222222222/33333333-3333-4333-8333-333333333333-scan é.png';
const SECRET = Buffer.from('local-store-test-secret-of-at-least-32-chars', 'utf8');

let dir: string;
let store: LocalObjectStore;
let clock = Date.parse('2030-01-01T00:00:00Z');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hg-media-store-'));
  store = await LocalObjectStore.open({ dir, signingKey: SECRET, publicUrl: 'http://localhost:5000', now: () => clock });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function linkParts(url: string) {
  const parsed = new URL(url);
  const key = parsed.pathname.replace(/^\/media\/files\//, '').split('/').map(decodeURIComponent).join('/');
  return { key, expires: parsed.searchParams.get('expires')!, signature: parsed.searchParams.get('signature')! };
}

describe('LocalObjectStore', () => {
  it('when an object is put, then its bytes sit under objects/<key> and no temporary file is left', async () => {
    const bytes = pngBytes(2, 2);
    await store.put({ key: KEY, bytes, contentType: 'image/png', fileName: 'scan é.png', sha256: 'aa'.repeat(32) });
    expect(readFileSync(join(dir, 'objects', KEY)).equals(bytes)).toBe(true);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
    expect(await store.exists(KEY)).toBe(true);
    const opened = await store.openObject(KEY);
    expect(opened).toMatchObject({ sizeBytes: bytes.length, contentType: 'image/png', fileName: 'scan é.png' });
    opened!.stream.destroy();
  });

  it('when a link is made, then it is the documented HMAC over "GET\\n<key>\\n<expires>" and verifies until it expires', async () => {
    const link = await store.signedReadUrl(KEY, 900);
    expect(link.url.startsWith('http://localhost:5000/media/files/org_11111111-1111-4111-8111-111111111111/')).toBe(true);
    const { key, expires, signature } = linkParts(link.url);
    expect(key).toBe(KEY);
    expect(Number(expires)).toBe(clock / 1000 + 900);
    expect(link.expiresAt.getTime()).toBe(clock + 900_000);
    expect(signature).toBe(createHmac('sha256', SECRET).update(`GET\n${KEY}\n${expires}`).digest('base64url'));
    expect(store.verifyLink(key, expires, signature)).toBe(true);

    clock += 899_000;
    expect(store.verifyLink(key, expires, signature)).toBe(true);
    clock += 1_000;
    expect(store.verifyLink(key, expires, signature)).toBe(false);
    clock -= 900_000;
  });

  it('when any part of a link is altered, then it does not verify', async () => {
    const { key, expires, signature } = linkParts((await store.signedReadUrl(KEY, 900)).url);
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    expect(store.verifyLink(key, expires, flipped)).toBe(false);
    expect(store.verifyLink(key, String(Number(expires) + 1), signature)).toBe(false);
    expect(store.verifyLink(key.replace('user_2222', 'user_9999'), expires, signature)).toBe(false);
    expect(store.verifyLink(key, expires, signature.slice(0, -1))).toBe(false);
    expect(store.verifyLink(key, undefined, signature)).toBe(false);
    expect(store.verifyLink(key, [expires, expires], signature)).toBe(false);
  });

  it('when a key would climb out of the store, then it is refused before touching the filesystem', async () => {
    for (const key of ['../outside.png', 'org_x/../../etc/passwd', 'org_x//y', '/etc/passwd', 'org_x\\..\\y', 'a/./b']) {
      await expect(store.exists(key)).rejects.toThrow('unsafe object key');
      expect(store.verifyLink(key, String(clock / 1000 + 60), 'A'.repeat(43))).toBe(false);
    }
  });

  it('when an object is deleted twice, then both succeed and nothing is left', async () => {
    const key = `${KEY}.copy.png`;
    await store.put({ key, bytes: pngBytes(), contentType: 'image/png', fileName: 'copy.png', sha256: 'bb'.repeat(32) });
    await store.delete(key);
    await store.delete(key);
    expect(await store.exists(key)).toBe(false);
    expect(await store.openObject(key)).toBeUndefined();
  });

  it('when the directory is usable, then readiness is ok; when it is gone, then it is down', async () => {
    expect(await store.check()).toBe('ok');
    const gone = mkdtempSync(join(tmpdir(), 'hg-media-gone-'));
    const doomed = await LocalObjectStore.open({ dir: gone, signingKey: SECRET, publicUrl: 'http://localhost:5000' });
    rmSync(gone, { recursive: true, force: true });
    expect(await doomed.check()).toMatchObject({ status: 'down' });
  });
});

describe('LocalObjectStore signature encoding', () => {
  it('when the last signature character differs only in unused bits, then the link is still refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hg-media-sig-'));
    try {
      const store = await LocalObjectStore.open({ dir, signingKey: SECRET, publicUrl: 'http://localhost:5000' });
      const { key, expires, signature } = linkParts((await store.signedReadUrl(KEY, 60)).url);
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(signature.at(-1)!);
      // 32 bytes in 43 characters leave the final character's two low bits unused.
      const sibling = signature.slice(0, -1) + alphabet[last ^ 1];
      expect(Buffer.from(sibling, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
      expect(store.verifyLink(key, expires, sibling)).toBe(false);
      expect(store.verifyLink(key, expires, signature)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
