import { describe, expect, it } from 'vitest';
import { REDACTED, TRUNCATED, isSecretKey, maskActor, maskPayload, maskText, storableText } from '../src/masking.js';

const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const BASE64_96 = Buffer.from(Array.from({ length: 72 }, (_, i) => (i * 37) % 256)).toString('base64');

describe('masking', () => {
  it('when a payload holds an email, then only its first letter and domain remain', () => {
    expect(maskPayload({ contact: 'alice.smith@example.com' })).toEqual({ contact: 'a***@example.com' });
    expect(maskText('sent to bob@mail.example.org and carol@x.io today')).toBe('sent to b***@mail.example.org and c***@x.io today');
  });

  it('when an actor is an email, then it is masked like payload text', () => {
    expect(maskActor('Admin@HeartGuard.io')).toBe('A***@HeartGuard.io');
    expect(maskActor('svc:gateway')).toBe('svc:gateway');
    expect(maskActor('3f2c1b0a-1111-4222-8333-444455556666')).toBe('3f2c1b0a-1111-4222-8333-444455556666');
  });

  it('when keys name secrets, then their values are redacted whatever their type', () => {
    const masked = maskPayload({
      password: 'hunter2',
      new_password: 'x',
      refresh_token: 'abc',
      accessToken: 'abc',
      Authorization: 'Bearer abc',
      client_secret: { nested: true },
      api_key: 42,
      token_type: 'Bearer',
      tokens_revoked: 3,
    });
    expect(masked).toEqual({
      password: REDACTED,
      new_password: REDACTED,
      refresh_token: REDACTED,
      accessToken: REDACTED,
      Authorization: REDACTED,
      client_secret: REDACTED,
      api_key: REDACTED,
      token_type: 'Bearer',
      tokens_revoked: 3,
    });
    expect(isSecretKey('x-refresh-token')).toBe(true);
    expect(isSecretKey('token_count')).toBe(false);
  });

  it('when text holds a JWT or a bearer/basic credential, then the credential is redacted', () => {
    expect(maskText(`token was ${JWT}`)).toBe(`token was ${REDACTED}`);
    expect(maskText('Authorization: Bearer abc.def-ghi')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(maskText('basic Zm9vOmJhcg==')).toBe(`basic ${REDACTED}`);
  });

  it('when text holds a long base64 run, then it becomes a byte count; hex digests and uuids stay', () => {
    expect(BASE64_96.length).toBe(96);
    expect(maskPayload({ data_base64: BASE64_96, note: `img:${BASE64_96}!` })).toEqual({
      data_base64: '[BASE64 72 bytes]',
      note: 'img:[BASE64 72 bytes]!',
    });
    const sha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(maskText(sha256)).toBe(sha256);
    const key = 'org_00000000-0000-4000-8000-000000000001/user_00000000-0000-4000-8000-000000000002/file.png';
    expect(maskText(key)).toBe(key);
    expect(maskText('short+base64/AAAA==')).toBe('short+base64/AAAA==');
  });

  it('when values are nested in arrays and objects, then masking reaches them, keys included', () => {
    expect(maskPayload({ users: [{ email: 'dan@example.com', tags: ['eve@example.com'] }], 'frank@example.com': 1 })).toEqual({
      users: [{ email: 'd***@example.com', tags: ['e***@example.com'] }],
      'f***@example.com': 1,
    });
  });

  it('when a payload nests deeper than the limit, then the deep part is truncated', () => {
    const deep = { a: { b: { c: { d: 'x' } } } };
    expect(maskPayload(deep, { maxDepth: 2 })).toEqual({ a: { b: TRUNCATED } });
  });

  it('when emails sit at edges of text, then only the address is masked', () => {
    expect(maskText('mail alice@example.com.')).toBe('mail a***@example.com.');
    expect(maskText('<bob@sub.example.co.uk>')).toBe('<b***@sub.example.co.uk>');
    expect(maskText('not an email: x@y, @home, a@b.c0m, a@-b.com')).toBe('not an email: x@y, @home, a@b.c0m, a@-b.com');
    expect(maskText('a@b.example.c0m')).toBe('a***@b.example.c0m');
  });

  it('when text is crafted to make pattern matching backtrack, then masking still takes linear time', () => {
    const crafted = ['a'.repeat(16_000) + '@', 'a@' + 'b'.repeat(16_000), 'a@' + 'b-'.repeat(8000) + '!', 'eyJ-'.repeat(4000), 'x@'.repeat(8000)];
    const started = performance.now();
    for (const text of crafted) maskText(text);
    // The regular expressions these scanners replaced needed about 0.5 s for each of the first three.
    expect(performance.now() - started).toBeLessThan(300);
  });

  it('when masking is applied twice, then the second pass changes nothing', () => {
    const once = maskPayload({ who: 'alice@example.com', jwt: JWT, blob: BASE64_96, auth: `Bearer ${JWT}` });
    expect(maskPayload(once)).toEqual(once);
  });

  it('when text has NUL characters or lone surrogates, then it is made storable in PostgreSQL', () => {
    expect(storableText('a\u0000b')).toBe('ab');
    expect(storableText('x\uD800y')).toBe('x\uFFFDy');
    expect(storableText('ok \uD83D\uDE00')).toBe('ok \uD83D\uDE00');
  });

  it('when numbers are not finite, then they become null as they would through JSON', () => {
    expect(maskPayload({ n: Number.POSITIVE_INFINITY, m: 1.5 })).toEqual({ n: null, m: 1.5 });
  });
});
