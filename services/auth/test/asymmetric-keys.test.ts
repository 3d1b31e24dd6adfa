import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import jwt from 'jsonwebtoken';
import { createJwksLookup, createTokenVerifier } from '@heartguard/kit';
import { assertMatchesSchema, http } from '@heartguard/kit/testing';
import { PASSWORD, registerAndLogin, startAuth } from './support.js';

describe.each(['RS256', 'ES256'] as const)('%s signing with JWKS', (algorithm) => {
  let auth: Awaited<ReturnType<typeof startAuth>>;

  beforeAll(async () => {
    auth = await startAuth({ JWT_ALGORITHM: algorithm });
  });
  afterAll(async () => {
    await auth?.stop();
  });

  it('when a user logs in, then the token carries a kid published in the JWKS and verifies with it', async () => {
    const { tokens } = await registerAndLogin(auth.url);
    const header = jwt.decode(tokens.access_token, { complete: true })!.header;
    expect(header.alg).toBe(algorithm);
    const jwks = await http(`${auth.url}/auth/.well-known/jwks.json`);
    assertMatchesSchema('auth#/definitions/jwks', jwks.json());
    const kids = jwks.json<{ keys: Array<{ kid: string; d?: string }> }>().keys.map((k) => k.kid);
    expect(kids).toContain(header.kid);
    expect(jwks.text).not.toContain('"d"');
    const verifier = createTokenVerifier({ algorithm, issuer: 'heartguard-auth', audience: 'heartguard', keyLookup: createJwksLookup(`${auth.url}/auth/.well-known/jwks.json`) });
    await expect(verifier.verify(tokens.access_token, 'access')).resolves.toMatchObject({ typ: 'access' });
    const profile = await http(`${auth.url}/auth/profile`, { token: tokens.access_token });
    expect(profile.status).toBe(200);
  });

  it('when a token is HS256-signed with the published public key, then auth rejects it', async () => {
    const jwks = (await http(`${auth.url}/auth/.well-known/jwks.json`)).json<{ keys: Array<Record<string, string>> }>();
    const forged = jwt.sign({ role: 'admin', org_id: null, typ: 'access' }, JSON.stringify(jwks.keys[0]), {
      algorithm: 'HS256',
      keyid: jwks.keys[0]!.kid,
      expiresIn: 600,
      subject: 'x',
      jwtid: 'y',
      issuer: 'heartguard-auth',
      audience: 'heartguard',
    });
    const res = await http(`${auth.url}/auth/profile`, { token: forged });
    expect(res.status).toBe(401);
  });

  it('when auth restarts, then the same key keeps signing and old tokens still verify', async () => {
    const { tokens } = await registerAndLogin(auth.url);
    await auth.stop();
    auth = await startAuth({ JWT_ALGORITHM: algorithm });
    const profile = await http(`${auth.url}/auth/profile`, { token: tokens.access_token });
    expect(profile.status).toBe(200);
    expect(PASSWORD).toBeTruthy();
  });
});
