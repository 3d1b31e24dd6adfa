import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { constants, createReadStream, type ReadStream } from 'node:fs';
import { access, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { CheckOutcome } from '@heartguard/kit';
import { isSafeObjectKey, type ObjectStore, type PutObjectInput, type SignedReadUrl } from './object-store.js';

export interface LocalObjectStoreOptions {
  dir: string;
  signingKey: Buffer;
  /** Origin (and optional path) clients use to reach GET /media/files/* — the gateway. */
  publicUrl: string;
  now?: () => number;
}

interface StoredMeta {
  content_type: string;
  file_name: string;
  size_bytes: number;
  sha256: string;
}

export interface LocalObject {
  stream: ReadStream;
  sizeBytes: number;
  contentType: string;
  fileName: string;
}

/** "GET\n<key>\n<expires>" — the method is part of the message so a link can never authorise anything else. */
function signingInput(key: string, expires: number): string {
  return `GET\n${key}\n${expires}`;
}

export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/**
 * Objects as files: <dir>/objects/<key> holds the bytes and <dir>/meta/<key> (JSON) what a
 * download needs (content type, name). Each file is written to <dir>/tmp first and renamed
 * into place, so a reader sees the whole object or none of it.
 */
export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local' as const;
  private readonly root: string;
  private readonly now: () => number;

  private constructor(private readonly options: LocalObjectStoreOptions) {
    this.root = resolve(options.dir);
    this.now = options.now ?? Date.now;
  }

  static async open(options: LocalObjectStoreOptions): Promise<LocalObjectStore> {
    const store = new LocalObjectStore(options);
    for (const part of ['objects', 'meta', 'tmp']) await mkdir(join(store.root, part), { recursive: true });
    return store;
  }

  get directory(): string {
    return this.root;
  }

  /** Absolute path of an object's bytes; throws for a key that could escape the store. */
  objectPath(key: string): string {
    return this.pathIn('objects', key);
  }

  // Same relative path as the object, in its own tree: a suffix could push the last segment past 255 bytes.
  private metaPath(key: string): string {
    return this.pathIn('meta', key);
  }

  private pathIn(area: 'objects' | 'meta', key: string): string {
    if (!isSafeObjectKey(key)) throw new Error('unsafe object key');
    const base = join(this.root, area);
    const path = join(base, key);
    if (!path.startsWith(base + sep)) throw new Error('unsafe object key');
    return path;
  }

  private async writeAtomically(path: string, data: Buffer | string): Promise<void> {
    const temp = join(this.root, 'tmp', randomUUID());
    const handle = await open(temp, 'wx', 0o640);
    try {
      await handle.writeFile(data);
      // Without the sync a crash after rename could leave a complete-looking but empty file.
      await handle.datasync();
    } finally {
      await handle.close();
    }
    try {
      await mkdir(dirname(path), { recursive: true });
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async put({ key, bytes, contentType, fileName, sha256 }: PutObjectInput): Promise<void> {
    const meta: StoredMeta = { content_type: contentType, file_name: fileName, size_bytes: bytes.length, sha256 };
    await this.writeAtomically(this.objectPath(key), bytes);
    await this.writeAtomically(this.metaPath(key), JSON.stringify(meta));
  }

  async delete(key: string): Promise<void> {
    await rm(this.metaPath(key), { force: true });
    await rm(this.objectPath(key), { force: true });
  }

  async exists(key: string): Promise<boolean> {
    try {
      await stat(this.objectPath(key));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  private signature(key: string, expires: number): Buffer {
    return createHmac('sha256', this.options.signingKey).update(signingInput(key, expires), 'utf8').digest();
  }

  async signedReadUrl(key: string, ttlSeconds: number): Promise<SignedReadUrl> {
    if (!isSafeObjectKey(key)) throw new Error('unsafe object key');
    const expires = Math.floor(this.now() / 1000) + ttlSeconds;
    const signature = this.signature(key, expires).toString('base64url');
    return {
      url: `${this.options.publicUrl}/media/files/${encodeKeyPath(key)}?expires=${expires}&signature=${signature}`,
      expiresAt: new Date(expires * 1000),
    };
  }

  /** True only for an unexpired link whose signature matches; compared in constant time. */
  verifyLink(key: string, expiresParam: unknown, signatureParam: unknown): boolean {
    if (typeof expiresParam !== 'string' || typeof signatureParam !== 'string') return false;
    if (!/^\d{1,12}$/.test(expiresParam) || !/^[A-Za-z0-9_-]{43}$/.test(signatureParam)) return false;
    if (!isSafeObjectKey(key)) return false;
    const expires = Number(expiresParam);
    if (expires * 1000 <= this.now()) return false;
    // Compared as text: decoding first would accept variants that differ only in the unused low bits.
    const given = Buffer.from(signatureParam, 'latin1');
    const expected = Buffer.from(this.signature(key, expires).toString('base64url'), 'latin1');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Opens an object for streaming, or undefined when it does not exist (or is half-written). */
  async openObject(key: string): Promise<LocalObject | undefined> {
    let meta: StoredMeta;
    try {
      meta = JSON.parse(await readFile(this.metaPath(key), 'utf8')) as StoredMeta;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const path = this.objectPath(key);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return { stream: createReadStream(path), sizeBytes: size, contentType: meta.content_type, fileName: meta.file_name };
  }

  async check(): Promise<CheckOutcome> {
    try {
      await access(this.root, constants.R_OK | constants.W_OK);
      await access(join(this.root, 'tmp'), constants.W_OK);
      return 'ok';
    } catch {
      try {
        await access(this.root, constants.R_OK);
        return { status: 'degraded', detail: `media directory is read-only: uploads fail, downloads work` };
      } catch {
        return { status: 'down', detail: 'media directory is not accessible' };
      }
    }
  }
}
