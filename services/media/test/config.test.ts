import { describe, expect, it } from 'vitest';
import { loadMediaConfig } from '../src/config.js';

const base = { SERVICE_TOKEN_SECRET: 's'.repeat(40), JWT_SECRET: 'j'.repeat(40) };

describe('loadMediaConfig', () => {
  it('when nothing media-specific is set, then the documented defaults apply and the link key is derived', () => {
    const config = loadMediaConfig(base);
    expect(config.maxUploadBytes).toBe(10 * 1024 * 1024);
    expect(config.uploadBodyLimitBytes).toBeGreaterThan(Math.ceil((10 * 1024 * 1024 * 4) / 3));
    expect(config.signedUrlTtlSeconds).toBe(900);
    expect(config.publicUrl).toBe('http://localhost:5000');
    expect(config.allowedTypes).toEqual(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf']);
    expect(config.store).toMatchObject({ kind: 'local', signingKeyDerived: true });
    if (config.store.kind === 'local') {
      expect(config.store.dir.endsWith('/.data/media')).toBe(true);
      expect(config.store.signingKey.length).toBe(32);
      expect(config.store.signingKey.toString('utf8')).not.toContain('ssss');
    }
  });

  it('when SIGNED_URL_TTL is written as a duration, then it is read in seconds; beyond 7 days it is refused', () => {
    expect(loadMediaConfig({ ...base, SIGNED_URL_TTL: '15m' }).signedUrlTtlSeconds).toBe(900);
    expect(loadMediaConfig({ ...base, SIGNED_URL_TTL: '604800' }).signedUrlTtlSeconds).toBe(604_800);
    expect(() => loadMediaConfig({ ...base, SIGNED_URL_TTL: '604801' })).toThrow(/SIGNED_URL_TTL must be at most 604800s/);
    expect(() => loadMediaConfig({ ...base, SIGNED_URL_TTL: '8d' })).toThrow(/SIGNED_URL_TTL/);
  });

  it('when a variable is invalid, then the error names it', () => {
    expect(() => loadMediaConfig({ ...base, MEDIA_URL_SIGNING_SECRET: 'short' })).toThrow(/MEDIA_URL_SIGNING_SECRET must be at least 32/);
    expect(() => loadMediaConfig({ ...base, MEDIA_ALLOWED_TYPES: 'image/png,image/svg+xml' })).toThrow(/MEDIA_ALLOWED_TYPES contains "image\/svg\+xml"/);
    expect(() => loadMediaConfig({ ...base, MAX_UPLOAD_MB: '0' })).toThrow(/MAX_UPLOAD_MB/);
    expect(() => loadMediaConfig({ ...base, GCS_BUCKET: 'Bad_Bucket!' })).toThrow(/GCS_BUCKET/);
    expect(() => loadMediaConfig({ ...base, GCS_BUCKET: 'ok-bucket', GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent/key.json' })).toThrow(
      /GOOGLE_APPLICATION_CREDENTIALS/,
    );
  });

  it('when GCS_BUCKET is set, then the GCS backend is chosen', () => {
    const config = loadMediaConfig({ ...base, GCS_BUCKET: 'heartguard-media', GCS_API_ENDPOINT: 'http://127.0.0.1:4443/' });
    expect(config.store).toEqual({ kind: 'gcs', bucket: 'heartguard-media', projectId: undefined, apiEndpoint: 'http://127.0.0.1:4443', keyFilename: undefined });
  });
});
