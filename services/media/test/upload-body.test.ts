import { describe, expect, it } from 'vitest';
import { parseUploadXml } from '../src/upload-body.js';

const doc = (inner: string) => `<?xml version="1.0" encoding="UTF-8"?><MediaUpload>${inner}</MediaUpload>`;

describe('parseUploadXml', () => {
  it('when data_base64 is plain text, then the same object as the full parser gives comes back', () => {
    const body = parseUploadXml(doc('<file_name>a &amp; b.png</file_name><content_type>image/png</content_type><data_base64>\n  iVBORw0K\n</data_base64>'));
    expect(body).toEqual({ file_name: 'a & b.png', content_type: 'image/png', data_base64: 'iVBORw0K' });
  });

  it('when the file is megabytes long, then parsing takes milliseconds, not seconds', () => {
    const big = 'A'.repeat(8 * 1024 * 1024);
    const started = performance.now();
    const body = parseUploadXml(doc(`<file_name>a.png</file_name><content_type>image/png</content_type><data_base64>${big}</data_base64>`)) as { data_base64: string };
    expect(body.data_base64.length).toBe(big.length);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('when the document has a DOCTYPE, then it is still refused', () => {
    expect(() => parseUploadXml(`<!DOCTYPE x [<!ENTITY e "x">]>${doc('<data_base64>AAAA</data_base64>')}`)).toThrow(/DOCTYPE/);
  });

  it('when data_base64 appears twice or not directly under the root, then the body is malformed', () => {
    expect(() => parseUploadXml(doc('<data_base64>AAAA</data_base64><data_base64>BBBB</data_base64>'))).toThrow(/must appear once/);
    expect(() => parseUploadXml(doc('<meta><data_base64>AAAA</data_base64></meta>'))).toThrow(/must appear once/);
  });

  it('when data_base64 holds markup or entities, then it is parsed normally (and later fails base64 validation)', () => {
    expect(parseUploadXml(doc('<data_base64>AA&amp;A</data_base64>'))).toEqual({ data_base64: 'AA&A' });
  });

  it('when the rest of the document is large, then it is refused as too large', () => {
    expect(() => parseUploadXml(doc(`<file_name>${'x'.repeat(70_000)}</file_name><data_base64>AAAA</data_base64>`))).toThrow(/only <data_base64> may be large/);
  });
});
