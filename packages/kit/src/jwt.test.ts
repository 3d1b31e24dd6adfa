import { generateKeyPairSync, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { createTokenVerifier, secretKey } from './jwt.js';

const SECRET = 'k'.repeat(48);
const base = { issuer: 'heartguard-auth', audience: 'heartguard' };
const claims = { role: 'user', org_id: randomUUID(), typ: 'access' };

function sign(payload: object = claims, options: jwt.SignOptions = {}, key: jwt.Secret = secretKey(SECRET)): string {
  return jwt.sign(payload, key, { algorithm: 'HS256', expiresIn: 600, subject: randomUUID(), jwtid: randomUUID(), ...base, ...options });
}

const hs = createTokenVerifier({ algorithm: 'HS256', secret: SECRET, ...base });

function encode(part: object): string {
  return Buffer.from(JSON.stringify(part)).toString('base64url');
}

describe('createTokenVerifier (HS256 pinned)', () => {
  it('when the token is valid, then its claims come back', async () => {
    await expect(hs.verify(sign(), 'access')).resolves.toMatchObject({ role: 'user', typ: 'access' });
  });

  it.each([
    ['alg none', () => `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ ...claims, sub: 'x', jti: 'y', iat: 1, exp: 9999999999, ...{ iss: base.issuer, aud: base.audience } })}.`],
    ['expired', () => sign(claims, { expiresIn: -60 })],
    ['wrong audience', () => sign(claims, { audience: 'someone-else' })],
    ['wrong issuer', () => sign(claims, { issuer: 'evil' })],
    ['other secret', () => sign(claims, {}, secretKey('x'.repeat(48)))],
    ['tampered payload', () => {
      const [h, , s] = sign().split('.');
      return `${h}.${encode({ ...claims, role: 'admin', sub: 'x', jti: 'y', iat: 1, exp: 9999999999, iss: base.issuer, aud: base.audience })}.${s}`;
    }],
    ['refresh type used as access', () => sign({ ...claims, typ: 'refresh' })],
    ['missing exp', () => jwt.sign({ ...claims, iat: Math.floor(Date.now() / 1000) }, secretKey(SECRET), { algorithm: 'HS256', subject: 'x', jwtid: 'y', ...base })],
  ])('when the token is %s, then it is rejected with AUTH_003', async (_name, make) => {
    await expect(hs.verify(make(), 'access')).rejects.toMatchObject({ code: 'AUTH_003', status: 401 });
  });

  it('when an RS256 token arrives at an HS256-pinned verifier, then it is rejected', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expect(hs.verify(sign(claims, { algorithm: 'RS256' }, privateKey), 'access')).rejects.toMatchObject({ code: 'AUTH_003' });
  });
});

describe('createTokenVerifier (RS256 pinned)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rs = createTokenVerifier({ algorithm: 'RS256', ...base, keyLookup: async (kid) => (kid === 'k1' ? publicKey : undefined) });

  it('when signed by the known key, then it verifies', async () => {
    await expect(rs.verify(sign(claims, { algorithm: 'RS256', keyid: 'k1' }, privateKey), 'access')).resolves.toMatchObject({ typ: 'access' });
  });

  it('when HS256-signed with the public key PEM as secret (HS/RS confusion), then it is rejected', async () => {
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const forged = jwt.sign({ ...claims }, pem, { algorithm: 'HS256', keyid: 'k1', expiresIn: 600, subject: 'x', jwtid: 'y', ...base });
    await expect(rs.verify(forged, 'access')).rejects.toMatchObject({ code: 'AUTH_003' });
  });

  it('when the kid is unknown, then it is rejected', async () => {
    await expect(rs.verify(sign(claims, { algorithm: 'RS256', keyid: 'other' }, privateKey), 'access')).rejects.toMatchObject({ code: 'AUTH_003' });
  });
});
