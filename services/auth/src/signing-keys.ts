import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { secretKey, type Jwk, type SigningAlgorithm } from '@heartguard/kit';
import type { AuthRepository } from './repository.js';

export interface ActiveKey {
  kid: string | undefined;
  alg: SigningAlgorithm;
  key: KeyObject;
}

export interface KeyRing {
  active(): ActiveKey;
  /** Public keys that still verify tokens (active + retired ones whose tokens may be alive). */
  jwks(): Jwk[];
  lookup(kid: string): Promise<KeyObject | undefined>;
  /** Generates a new active key when the current one is older than the rotation period. */
  rotateIfDue(): Promise<void>;
}

export function hmacKeyRing(secret: string): KeyRing {
  const key = secretKey(secret);
  return {
    active: () => ({ kid: undefined, alg: 'HS256', key }),
    jwks: () => [],
    lookup: async () => undefined,
    rotateIfDue: async () => undefined,
  };
}

function generate(alg: 'RS256' | 'ES256'): { privatePem: string; publicJwk: Jwk } {
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicJwk: pair.publicKey.export({ format: 'jwk' }) as Jwk,
  };
}

/**
 * Asymmetric keys live in signing_keys: the newest un-retired key signs; retired keys keep
 * verifying (and stay in the JWKS) until every token they signed has expired.
 */
export async function asymmetricKeyRing(
  repo: AuthRepository,
  alg: 'RS256' | 'ES256',
  { rotationSeconds, accessTtlSeconds }: { rotationSeconds: number; accessTtlSeconds: number },
): Promise<KeyRing> {
  let signing: ActiveKey & { createdAt: Date };
  let published: Jwk[] = [];
  let verifying = new Map<string, KeyObject>();

  async function load(): Promise<void> {
    const now = Date.now();
    const keys = (await repo.listSigningKeys()).filter((k) => k.alg === alg);
    const current = keys.find((k) => !k.retiredAt);
    if (!current) throw new Error('no active signing key');
    signing = { kid: current.kid, alg, key: createPrivateKey(current.privatePem), createdAt: current.createdAt };
    const live = keys.filter((k) => !k.retiredAt || k.retiredAt.getTime() + (accessTtlSeconds + 60) * 1000 > now);
    published = live.map((k) => ({ ...(k.publicJwk as Jwk), kid: k.kid, alg, use: 'sig' }));
    verifying = new Map(live.map((k) => [k.kid, createPublicKey({ key: k.publicJwk as Jwk, format: 'jwk' })]));
  }

  async function addKey(): Promise<void> {
    const kid = randomUUID();
    const { privatePem, publicJwk } = generate(alg);
    await repo.insertSigningKey({ kid, alg, privatePem, publicJwk });
    await repo.retireSigningKeysExcept(kid);
  }

  const existing = (await repo.listSigningKeys()).filter((k) => k.alg === alg && !k.retiredAt);
  if (existing.length === 0) await addKey();
  await load();

  return {
    active: () => signing,
    jwks: () => published,
    lookup: async (kid) => verifying.get(kid),
    async rotateIfDue() {
      if (Date.now() - signing.createdAt.getTime() >= rotationSeconds * 1000) await addKey();
      await load();
    },
  };
}
