import { createHash, createHmac, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mintAccessToken } from '@heartguard/kit/testing';
import { assertMatchesSchema, assertValidXml, http } from '@heartguard/kit/testing';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesUnder, metricValue, newTenant, openTestDb, PUBLIC_URL, startTestMedia, TEST_LINK_SECRET, type TestMedia } from './support/media-harness.js';
import { GIF_BYTES, PDF_BYTES, pngBytes } from './support/sample-files.js';
import type { MediaItem as Item } from '../src/media-item.js';

let media: TestMedia;
let db: DataSource;

beforeAll(async () => {
  media = await startTestMedia();
  db = await openTestDb();
});

afterAll(async () => {
  await media?.stop();
  await db?.destroy();
});


function uploadJson(token: string, body: Record<string, unknown>, accept = 'application/json') {
  return http(`${media.url}/media/upload`, { token, body, headers: { accept } });
}

async function upload(token: string, bytes: Buffer, fileName = 'scan.png', contentType = 'image/png'): Promise<Item> {
  const res = await uploadJson(token, { file_name: fileName, content_type: contentType, data_base64: bytes.toString('base64') });
  expect(res.status, res.text).toBe(201);
  return res.json<Item>();
}

async function rowsFor(column: 'org_id' | 'uploaded_by', id: string) {
  return (await db.query(`SELECT * FROM heartguard_core.media_items WHERE ${column} = $1`, [id])) as Array<Record<string, unknown>>;
}

async function metrics(): Promise<string> {
  return (await http(`${media.url}/metrics`, { headers: { accept: 'text/plain' } })).text;
}

function xmlField(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}

describe('POST /media/upload', () => {
  it('when a user uploads a real PNG as JSON, then it is stored, recorded, counted and audited', async () => {
    const t = newTenant();
    const bytes = pngBytes(4, 3);
    const before = await metrics();
    const res = await uploadJson(t.userToken, { file_name: 'ecg-strip.png', content_type: 'image/png', data_base64: bytes.toString('base64') });

    expect(res.status).toBe(201);
    const item = res.json<Item>();
    assertMatchesSchema('media-item', item);
    expect(item).toMatchObject({
      file_name: 'ecg-strip.png',
      original_file_name: 'ecg-strip.png',
      content_type: 'image/png',
      size_bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      org_id: t.orgId,
      uploaded_by: t.userId,
    });
    expect(item.object_key).toBe(`org_${t.orgId}/user_${t.userId}/${item.id}-ecg-strip.png`);
    expect(readFileSync(join(media.dir, 'objects', item.object_key)).equals(bytes)).toBe(true);

    const rows = await rowsFor('org_id', t.orgId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: item.id, object_key: item.object_key, size_bytes: String(bytes.length), uploaded_by: t.userId });

    const after = await metrics();
    expect(metricValue(after, 'media_bytes_uploaded_total') - metricValue(before, 'media_bytes_uploaded_total')).toBe(bytes.length);
    expect(metricValue(after, 'media_uploads_total', 'outcome="success"') - metricValue(before, 'media_uploads_total', 'outcome="success"')).toBe(1);
    expect(media.audit.events.find((e) => e.action === 'media.uploaded' && (e.payload as { id?: string }).id === item.id)).toMatchObject({
      actor: t.userId,
      org_id: t.orgId,
      outcome: 'success',
      payload: { object_key: item.object_key, size_bytes: bytes.length, content_type: 'image/png' },
    });
  });

  it('when the upload is XML (<MediaUpload>) and XML is accepted, then the answer is an XSD-valid <MediaItem>', async () => {
    const t = newTenant();
    const bytes = pngBytes(1, 1);
    const xml = `<?xml version="1.0" encoding="UTF-8"?><MediaUpload><file_name>holter &amp; notes.png</file_name><content_type>image/png</content_type><data_base64>${bytes.toString('base64')}</data_base64></MediaUpload>`;
    assertValidXml('media.xsd', xml);
    const res = await http(`${media.url}/media/upload`, {
      token: t.userToken,
      raw: xml,
      headers: { 'content-type': 'application/xml', accept: 'application/xml' },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/xml/);
    assertValidXml('media.xsd', res.text);
    expect(res.text).toContain('<MediaItem>');
    expect(xmlField(res.text, 'file_name')).toBe('holter &amp; notes.png');
    expect(xmlField(res.text, 'size_bytes')).toBe(String(bytes.length));
    const key = xmlField(res.text, 'object_key')!.replace(/&amp;/g, '&');
    expect(key.endsWith('-holter & notes.png')).toBe(true);
    expect(readFileSync(join(media.dir, 'objects', key)).equals(bytes)).toBe(true);
  });

  it('when a 2 MB file is uploaded as XML, then it arrives intact', async () => {
    const t = newTenant();
    const bytes = Buffer.concat([pngBytes(), Buffer.alloc(2 * 1024 * 1024, 0x5a)]);
    const xml = `<MediaUpload><file_name>big.png</file_name><content_type>image/png</content_type><data_base64>${bytes.toString('base64')}</data_base64></MediaUpload>`;
    const res = await http(`${media.url}/media/upload`, { token: t.userToken, raw: xml, headers: { 'content-type': 'text/xml; charset=utf-8' } });
    expect(res.status, res.text).toBe(201);
    const item = res.json<Item>();
    expect(item.size_bytes).toBe(bytes.length);
    expect(readFileSync(join(media.dir, 'objects', item.object_key)).equals(bytes)).toBe(true);
  });

  it('when an XML upload declares a DOCTYPE, then 400 REQ_401 and nothing is stored', async () => {
    const t = newTenant();
    const xml = `<!DOCTYPE MediaUpload [<!ENTITY x "y">]><MediaUpload><file_name>&x;.png</file_name><content_type>image/png</content_type><data_base64>${pngBytes().toString('base64')}</data_base64></MediaUpload>`;
    const res = await http(`${media.url}/media/upload`, { token: t.userToken, raw: xml, headers: { 'content-type': 'application/xml', accept: 'application/xml' } });
    expect(res.status).toBe(400);
    assertValidXml('error.xsd', res.text);
    expect(xmlField(res.text, 'code')).toBe('REQ_401');
    expect(await rowsFor('org_id', t.orgId)).toEqual([]);
  });

  it('when a GIF and a PDF are declared as what they are, then both are accepted', async () => {
    const t = newTenant();
    expect((await upload(t.userToken, GIF_BYTES, 'anim.gif', 'image/gif')).content_type).toBe('image/gif');
    expect((await upload(t.userToken, PDF_BYTES, 'report.pdf', 'Application/PDF; charset=binary')).content_type).toBe('application/pdf');
  });

  it.each([
    ['whitespace inside', (b: string) => `${b.slice(0, 8)}\n${b.slice(8)}`],
    ['a junk character', (b: string) => `${b.slice(0, -4)}*${b.slice(-3)}`],
    ['the URL-safe alphabet', () => '-_-_'],
    ['missing padding', (b: string) => b.replace(/=+$/, '')],
  ])('when data_base64 has %s, then 422 MEDIA_422 names the field and nothing is stored', async (_label, corrupt) => {
    const t = newTenant();
    const before = filesUnder(join(media.dir, 'objects')).length;
    const res = await uploadJson(t.userToken, { file_name: 'x.png', content_type: 'image/png', data_base64: corrupt(pngBytes(1, 2).toString('base64')) });
    expect(res.status).toBe(422);
    const body = res.json<{ error: { code: string; details: Array<{ field: string }> } }>();
    assertMatchesSchema('error', body);
    expect(body.error.code).toBe('MEDIA_422');
    expect(body.error.details[0]!.field).toBe('/data_base64');
    expect(await rowsFor('org_id', t.orgId)).toEqual([]);
    expect(filesUnder(join(media.dir, 'objects')).length).toBe(before);
  });

  it('when the bytes are not what content_type declares, then 415 MEDIA_415 and nothing is stored', async () => {
    const t = newTenant();
    const before = await metrics();
    const res = await uploadJson(t.userToken, { file_name: 'fake.png', content_type: 'image/png', data_base64: PDF_BYTES.toString('base64') });
    expect(res.status).toBe(415);
    expect(res.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'MEDIA_415', message: "The file's content is application/pdf, not image/png" });
    expect(await rowsFor('org_id', t.orgId)).toEqual([]);
    const after = await metrics();
    expect(metricValue(after, 'media_uploads_total', 'outcome="unsupported_type"') - metricValue(before, 'media_uploads_total', 'outcome="unsupported_type"')).toBe(1);
  });

  it('when the declared type is not on the allow-list, then 415 MEDIA_415 in the negotiated format', async () => {
    const t = newTenant();
    const res = await uploadJson(
      t.userToken,
      { file_name: 'page.svg', content_type: 'image/svg+xml', data_base64: Buffer.from('<svg/>').toString('base64') },
      'application/xml',
    );
    expect(res.status).toBe(415);
    assertValidXml('error.xsd', res.text);
    expect(xmlField(res.text, 'code')).toBe('MEDIA_415');
  });

  it('when file names carry paths, control characters or reserved characters, then the stored name is safe and the original is kept', async () => {
    const t = newTenant();
    const cases: Array<[string, string]> = [
      ['../../../etc/passwd.png', 'passwd.png'],
      ['..\\..\\boot.ini\\x.png', 'x.png'],
      ['scan\u0000\u202E.png', 'scan.png'],
      ['a:b*c?.png', 'a_b_c_.png'],
    ];
    for (const [original, safe] of cases) {
      const item = await upload(t.userToken, pngBytes(), original);
      expect(item.file_name).toBe(safe);
      expect(item.original_file_name).toBe(original.replace('\u0000', '\uFFFD'));
      expect(item.object_key).toBe(`org_${t.orgId}/user_${t.userId}/${item.id}-${safe}`);
      expect(existsSync(join(media.dir, 'objects', item.object_key))).toBe(true);
    }
    // Nothing was written outside the store's own directories.
    expect(filesUnder(media.dir).every((f) => /^(objects|meta)\/org_/.test(f))).toBe(true);
  });

  it('when a file name is 600 bytes long, then the stored name fits 255 bytes and the key segment fits a filesystem name', async () => {
    const t = newTenant();
    const item = await upload(t.userToken, pngBytes(), `${'ü'.repeat(300)}.png`);
    expect(Buffer.byteLength(item.file_name)).toBeLessThanOrEqual(255);
    expect(item.file_name.endsWith('.png')).toBe(true);
    expect(Buffer.byteLength(item.object_key.split('/')[2]!)).toBeLessThanOrEqual(255);
    expect(item.original_file_name).toBe(`${'ü'.repeat(300)}.png`);
  });

  it('when nothing of the file name survives sanitizing, then 422 MEDIA_422 names file_name', async () => {
    const t = newTenant();
    const res = await uploadJson(t.userToken, { file_name: '../..', content_type: 'image/png', data_base64: pngBytes().toString('base64') });
    expect(res.status).toBe(422);
    expect(res.json<{ error: { code: string; details: Array<{ field: string }> } }>().error).toMatchObject({ code: 'MEDIA_422', details: [{ field: '/file_name' }] });
  });

  it('when the body misses a field or has an extra one, then 422 from the schema', async () => {
    const t = newTenant();
    const missing = await uploadJson(t.userToken, { file_name: 'x.png', content_type: 'image/png' });
    expect(missing.status).toBe(422);
    expect(missing.json<{ error: { code: string } }>().error.code).toBe('REQ_422');
    const extra = await uploadJson(t.userToken, { file_name: 'x.png', content_type: 'image/png', data_base64: 'iVBO', org_id: randomUUID() });
    expect(extra.status).toBe(422);
  });

  it('when there is no token, then 401; when a service token is used, then 403', async () => {
    const body = { file_name: 'x.png', content_type: 'image/png', data_base64: pngBytes().toString('base64') };
    expect((await http(`${media.url}/media/upload`, { body })).status).toBe(401);
    const serviceToken = media.service.platform.serviceToken();
    expect((await http(`${media.url}/media/upload`, { body, token: serviceToken })).status).toBe(403);
  });
});

describe('upload size limit', () => {
  let small: TestMedia;
  beforeAll(async () => {
    small = await startTestMedia({ MAX_UPLOAD_MB: '1' });
  });
  afterAll(() => small?.stop());

  it('when the decoded file is one byte over MAX_UPLOAD_MB, then 413 MEDIA_413 and nothing is stored', async () => {
    const t = newTenant();
    const bytes = Buffer.concat([pngBytes(), Buffer.alloc(1024 * 1024 + 1 - pngBytes().length)]);
    const res = await http(`${small.url}/media/upload`, { token: t.userToken, body: { file_name: 'big.png', content_type: 'image/png', data_base64: bytes.toString('base64') } });
    expect(res.status).toBe(413);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('MEDIA_413');
    expect(filesUnder(small.dir)).toEqual([]);
    expect(await rowsFor('org_id', t.orgId)).toEqual([]);
  });

  it('when the file is exactly MAX_UPLOAD_MB, then it is accepted', async () => {
    const t = newTenant();
    const bytes = Buffer.concat([pngBytes(), Buffer.alloc(1024 * 1024 - pngBytes().length)]);
    const res = await http(`${small.url}/media/upload`, { token: t.userToken, body: { file_name: 'edge.png', content_type: 'image/png', data_base64: bytes.toString('base64') } });
    expect(res.status).toBe(201);
    expect(res.json<Item>().size_bytes).toBe(1024 * 1024);
  });

  it('when the body itself is far beyond the limit, then 413 before it is read', async () => {
    const t = newTenant();
    const res = await http(`${small.url}/media/upload`, {
      token: t.userToken,
      raw: JSON.stringify({ file_name: 'huge.png', content_type: 'image/png', data_base64: 'A'.repeat(3 * 1024 * 1024) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(413);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('REQ_413');
  });
});

describe('GET /media/items', () => {
  it('when an org has 5 items across pages of 2, then pages are newest first, complete, without repeats, and never show other orgs', async () => {
    const t = newTenant();
    const other = newTenant();
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) mine.push((await upload(t.userToken, pngBytes(i + 1, 1), `p${i}.png`)).id);
    await upload(other.userToken, pngBytes(), 'theirs.png');

    const seen: string[] = [];
    let cursor: string | null = null;
    const pageSizes: number[] = [];
    do {
      const qs: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const res = await http(`${media.url}/media/items${qs}`, { token: t.adminToken });
      expect(res.status).toBe(200);
      const page = res.json<{ items: Item[]; next_cursor: string | null }>();
      assertMatchesSchema('media-items', page);
      pageSizes.push(page.items.length);
      for (const item of page.items) {
        expect(item.org_id).toBe(t.orgId);
        seen.push(item.id);
      }
      cursor = page.next_cursor;
    } while (cursor);
    expect(pageSizes).toEqual([2, 2, 1]);
    expect(seen).toEqual([...mine].reverse());
  });

  it('when items share the same created_at, then the id tie-break still pages through all of them once', async () => {
    const t = newTenant();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await upload(t.userToken, pngBytes(), `tie${i}.png`)).id);
    await db.query(`UPDATE heartguard_core.media_items SET created_at = '2030-01-01T00:00:00.123456Z' WHERE org_id = $1`, [t.orgId]);
    const first = (await http(`${media.url}/media/items?limit=1`, { token: t.userToken })).json<{ items: Item[]; next_cursor: string }>();
    const second = (await http(`${media.url}/media/items?limit=1&cursor=${first.next_cursor}`, { token: t.userToken })).json<{ items: Item[]; next_cursor: string }>();
    const third = (await http(`${media.url}/media/items?limit=5&cursor=${second.next_cursor}`, { token: t.userToken })).json<{ items: Item[]; next_cursor: string | null }>();
    expect([...first.items, ...second.items, ...third.items].map((i) => i.id)).toEqual([...ids].sort().reverse());
    expect(third.next_cursor).toBeNull();
  });

  it('when XML is accepted, then the page is <MediaItems> with one <MediaItem> per item and validates', async () => {
    const t = newTenant();
    await upload(t.userToken, pngBytes(), 'one.png');
    await upload(t.userToken, pngBytes(), 'two.png');
    const res = await http(`${media.url}/media/items?limit=1`, { token: t.userToken, headers: { accept: 'application/xml' } });
    expect(res.status).toBe(200);
    assertValidXml('media.xsd', res.text);
    expect(res.text.match(/<MediaItem>/g)).toHaveLength(1);
    expect(xmlField(res.text, 'next_cursor')).toMatch(/^[A-Za-z0-9_-]+$/);
    const empty = await http(`${media.url}/media/items`, { token: newTenant().userToken, headers: { accept: 'application/xml' } });
    assertValidXml('media.xsd', empty.text);
    expect(empty.text).toContain('<MediaItems></MediaItems>');
  });

  it('when limit or cursor is invalid, then 400 REQ_405 names the parameter', async () => {
    const t = newTenant();
    for (const qs of ['limit=0', 'limit=101', 'limit=abc', 'cursor=not-a-cursor', `cursor=${Buffer.from('["x","y"]').toString('base64url')}`]) {
      const res = await http(`${media.url}/media/items?${qs}`, { token: t.userToken });
      expect(res.status, qs).toBe(400);
      const body = res.json<{ error: { code: string; details: Array<{ field: string }> } }>();
      assertMatchesSchema('error', body);
      expect(body.error.code).toBe('REQ_405');
    }
  });
});

describe('download links', () => {
  it('when a link is requested and fetched, then the same bytes come back as an attachment with the stored type', async () => {
    const t = newTenant();
    const bytes = pngBytes(5, 5);
    const item = await upload(t.userToken, bytes, 'résumé scan.png');
    const res = await http(`${media.url}/media/items/${item.id}/download`, { token: t.userToken });
    expect(res.status).toBe(200);
    const link = res.json<{ id: string; url: string; expires_at: string }>();
    assertMatchesSchema('media-download', link);
    expect(link.id).toBe(item.id);
    expect(link.url.startsWith(`${PUBLIC_URL}/media/files/org_${t.orgId}/user_${t.userId}/`)).toBe(true);
    const ttl = (Date.parse(link.expires_at) - Date.now()) / 1000;
    expect(ttl).toBeGreaterThan(890);
    expect(ttl).toBeLessThanOrEqual(900);

    // Public route: no bearer token.
    const file = await fetch(media.direct(link.url));
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true);
    expect(file.headers.get('content-type')).toBe('image/png');
    expect(file.headers.get('content-length')).toBe(String(bytes.length));
    expect(file.headers.get('x-content-type-options')).toBe('nosniff');
    expect(file.headers.get('content-disposition')).toBe(`attachment; filename="r_sum_ scan.png"; filename*=UTF-8''r%C3%A9sum%C3%A9%20scan.png`);
    expect(file.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
  });

  it('when XML is accepted, then the link is an XSD-valid <MediaDownload> whose escaped URL still works', async () => {
    const t = newTenant();
    const bytes = pngBytes(2, 1);
    const item = await upload(t.userToken, bytes);
    const res = await http(`${media.url}/media/items/${item.id}/download`, { token: t.userToken, headers: { accept: 'application/xml' } });
    expect(res.status).toBe(200);
    assertValidXml('media.xsd', res.text);
    const url = xmlField(res.text, 'url')!.replace(/&amp;/g, '&');
    const file = await fetch(media.direct(url));
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('when a link is tampered with, then 403 MEDIA_403 and no bytes', async () => {
    const t = newTenant();
    const mine = await upload(t.userToken, pngBytes());
    const theirs = await upload(newTenant().userToken, pngBytes());
    const link = new URL(media.direct((await http(`${media.url}/media/items/${mine.id}/download`, { token: t.userToken })).json<{ url: string }>().url));
    const signature = link.searchParams.get('signature')!;

    const variants: URL[] = [];
    const badSig = new URL(link);
    badSig.searchParams.set('signature', (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1));
    variants.push(badSig);
    const longer = new URL(link);
    longer.searchParams.set('expires', String(Number(link.searchParams.get('expires')) + 3600));
    variants.push(longer);
    const otherFile = new URL(link);
    otherFile.pathname = `/media/files/${theirs.object_key.split('/').map(encodeURIComponent).join('/')}`;
    variants.push(otherFile);
    const noSig = new URL(link);
    noSig.searchParams.delete('signature');
    variants.push(noSig);

    for (const variant of variants) {
      const res = await http(variant.href);
      expect(res.status, variant.href).toBe(403);
      const body = res.json<{ error: { code: string } }>();
      assertMatchesSchema('error', body);
      expect(body.error.code).toBe('MEDIA_403');
    }
  });

  it('when a correctly signed link has expired, then 403 MEDIA_403', async () => {
    const t = newTenant();
    const item = await upload(t.userToken, pngBytes());
    const expires = Math.floor(Date.now() / 1000) - 1;
    const signature = createHmac('sha256', TEST_LINK_SECRET).update(`GET\n${item.object_key}\n${expires}`).digest('base64url');
    const path = item.object_key.split('/').map(encodeURIComponent).join('/');
    const expired = await http(`${media.url}/media/files/${path}?expires=${expires}&signature=${signature}`);
    expect(expired.status).toBe(403);
    expect(expired.json<{ error: { code: string } }>().error.code).toBe('MEDIA_403');
    // The same construction one minute ahead is accepted: only the expiry made the difference.
    const fresh = expires + 61;
    const freshSig = createHmac('sha256', TEST_LINK_SECRET).update(`GET\n${item.object_key}\n${fresh}`).digest('base64url');
    expect((await http(`${media.url}/media/files/${path}?expires=${fresh}&signature=${freshSig}`)).status).toBe(200);
  });

  it('when the item belongs to another org, is unknown or the id is not a uuid, then 404 MEDIA_404', async () => {
    const t = newTenant();
    const theirs = await upload(newTenant().userToken, pngBytes());
    for (const id of [theirs.id, randomUUID(), 'not-a-uuid', '..%2F..%2Fetc']) {
      const res = await http(`${media.url}/media/items/${id}/download`, { token: t.adminToken });
      expect(res.status, id).toBe(404);
      if (!id.includes('%2F')) expect(res.json<{ error: { code: string } }>().error.code).toBe('MEDIA_404');
    }
  });
});

describe('DELETE /media/items/:id', () => {
  it('when a user or manager deletes, then 403 and the item stays', async () => {
    const t = newTenant();
    const item = await upload(t.userToken, pngBytes());
    for (const token of [t.userToken, t.managerToken]) {
      const res = await http(`${media.url}/media/items/${item.id}`, { method: 'DELETE', token });
      expect(res.status).toBe(403);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('AUTH_005');
    }
    expect(await rowsFor('org_id', t.orgId)).toHaveLength(1);
    expect(existsSync(join(media.dir, 'objects', item.object_key))).toBe(true);
  });

  it('when an admin deletes, then object and row are gone, it is audited, and a repeat delete is 204 again', async () => {
    const t = newTenant();
    const item = await upload(t.userToken, pngBytes());
    const link = (await http(`${media.url}/media/items/${item.id}/download`, { token: t.userToken })).json<{ url: string }>().url;

    const res = await http(`${media.url}/media/items/${item.id}`, { method: 'DELETE', token: t.adminToken });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(existsSync(join(media.dir, 'objects', item.object_key))).toBe(false);
    expect(existsSync(join(media.dir, 'meta', item.object_key))).toBe(false);
    expect(await rowsFor('org_id', t.orgId)).toEqual([]);
    expect(media.audit.events.filter((e) => e.action === 'media.deleted' && (e.payload as { id?: string }).id === item.id)).toEqual([
      expect.objectContaining({ actor: t.adminId, org_id: t.orgId, outcome: 'success' }),
    ]);

    const again = await http(`${media.url}/media/items/${item.id}`, { method: 'DELETE', token: t.adminToken, headers: { accept: 'application/xml' } });
    expect(again.status).toBe(204);
    expect(media.audit.events.filter((e) => e.action === 'media.deleted' && (e.payload as { id?: string }).id === item.id)).toHaveLength(1);
    // An outstanding link now finds nothing.
    expect((await http(media.direct(link))).status).toBe(404);
    expect((await http(`${media.url}/media/items/${item.id}/download`, { token: t.userToken })).status).toBe(404);
  });

  it('when an admin of another org deletes an item, then it answers like any absent item and nothing is removed', async () => {
    const owner = newTenant();
    const item = await upload(owner.userToken, pngBytes());
    const res = await http(`${media.url}/media/items/${item.id}`, { method: 'DELETE', token: newTenant().adminToken });
    expect(res.status).toBe(204);
    expect(await rowsFor('org_id', owner.orgId)).toHaveLength(1);
    expect(existsSync(join(media.dir, 'objects', item.object_key))).toBe(true);
  });

  it('when the id is not a uuid, then 404', async () => {
    const res = await http(`${media.url}/media/items/nope`, { method: 'DELETE', token: newTenant().adminToken });
    expect(res.status).toBe(404);
  });
});

describe('consistency between object and row', () => {
  it('when the database refuses the row, then the object already written is removed again', async () => {
    const t = newTenant();
    const suffix = randomUUID().replace(/-/g, '');
    // A real PostgreSQL failure for this org only, so concurrent tests are unaffected.
    await db.query(`CREATE FUNCTION heartguard_core.media_test_refuse_${suffix}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$`);
    await db.query(
      `CREATE TRIGGER media_test_refuse_${suffix} BEFORE INSERT ON heartguard_core.media_items FOR EACH ROW WHEN (NEW.org_id = '${t.orgId}') EXECUTE FUNCTION heartguard_core.media_test_refuse_${suffix}()`,
    );
    try {
      const before = await metrics();
      const res = await uploadJson(t.userToken, { file_name: 'doomed.png', content_type: 'image/png', data_base64: pngBytes().toString('base64') });
      expect(res.status).toBe(500);
      expect(res.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'SRV_500', message: 'Internal server error' });
      expect(filesUnder(join(media.dir, 'objects')).filter((f) => f.startsWith(`org_${t.orgId}/`))).toEqual([]);
      expect(filesUnder(join(media.dir, 'meta')).filter((f) => f.startsWith(`org_${t.orgId}/`))).toEqual([]);
      expect(await rowsFor('org_id', t.orgId)).toEqual([]);
      const after = await metrics();
      expect(metricValue(after, 'media_uploads_total', 'outcome="db_error"') - metricValue(before, 'media_uploads_total', 'outcome="db_error"')).toBe(1);
    } finally {
      await db.query(`DROP TRIGGER media_test_refuse_${suffix} ON heartguard_core.media_items`);
      await db.query(`DROP FUNCTION heartguard_core.media_test_refuse_${suffix}()`);
    }
  });
});

describe('with an object store that fails', () => {
  let flaky: TestMedia;
  const faults = { putAfterWrite: false, delete: false };
  beforeAll(async () => {
    flaky = await startTestMedia({}, {
      wrapStore: (store) => ({
        kind: store.kind,
        exists: (key) => store.exists(key),
        signedReadUrl: (key, ttl) => store.signedReadUrl(key, ttl),
        check: () => store.check(),
        async put(input) {
          await store.put(input);
          // The bytes landed but the store still reports failure (e.g. a lost response).
          if (faults.putAfterWrite) throw new Error('injected put failure');
        },
        async delete(key) {
          if (faults.delete) throw new Error('injected delete failure');
          await store.delete(key);
        },
      }),
    });
  });
  afterAll(() => flaky?.stop());

  it('when the store fails a put after writing, then the partial object is removed and no row is inserted', async () => {
    const t = newTenant();
    faults.putAfterWrite = true;
    try {
      const res = await http(`${flaky.url}/media/upload`, { token: t.userToken, body: { file_name: 'half.png', content_type: 'image/png', data_base64: pngBytes().toString('base64') } });
      expect(res.status).toBe(503);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('MEDIA_503');
    } finally {
      faults.putAfterWrite = false;
    }
    expect(filesUnder(flaky.dir).filter((f) => f.includes(`org_${t.orgId}`))).toEqual([]);
    expect(await rowsFor('org_id', t.orgId)).toEqual([]);
    expect(flaky.audit.events.filter((e) => e.org_id === t.orgId)).toEqual([]);
  });

  it('when the store cannot delete the object, then 503 and the row stays so the delete can be retried', async () => {
    const t = newTenant();
    const res = await http(`${flaky.url}/media/upload`, { token: t.userToken, body: { file_name: 'keep.png', content_type: 'image/png', data_base64: pngBytes().toString('base64') } });
    const item = res.json<Item>();
    faults.delete = true;
    try {
      const del = await http(`${flaky.url}/media/items/${item.id}`, { method: 'DELETE', token: t.adminToken });
      expect(del.status).toBe(503);
      expect(await rowsFor('org_id', t.orgId)).toHaveLength(1);
    } finally {
      faults.delete = false;
    }
    expect((await http(`${flaky.url}/media/items/${item.id}`, { method: 'DELETE', token: t.adminToken })).status).toBe(204);
    expect(await rowsFor('org_id', t.orgId)).toEqual([]);
    expect(filesUnder(flaky.dir).filter((f) => f.includes(`org_${t.orgId}`))).toEqual([]);
  });
});

describe('health, readiness, metrics', () => {
  it('when the database and the directory are fine, then /ready lists both as ok, in JSON and XML', async () => {
    for (const path of ['/ready', '/media/ready']) {
      const res = await http(`${media.url}${path}`);
      expect(res.status).toBe(200);
      const body = res.json();
      assertMatchesSchema('health', body);
      expect(body).toMatchObject({ status: 'ready' });
      expect((body as { checks: unknown[] }).checks).toEqual(
        expect.arrayContaining([{ name: 'database', status: 'ok' }, { name: 'object_store', status: 'ok' }]),
      );
    }
    const xml = await http(`${media.url}/media/ready`, { headers: { accept: 'application/xml' } });
    assertValidXml('health.xsd', xml.text);
    const health = await http(`${media.url}/media/health`);
    assertMatchesSchema('health', health.json());
  });

  it('when /metrics is scraped, then the media counters are there with the service label', async () => {
    const text = (await http(`${media.url}/media/metrics`, { headers: { accept: 'text/plain' } })).text;
    expect(text).toMatch(/^# TYPE media_bytes_uploaded_total counter$/m);
    expect(text).toMatch(/^media_uploads_total\{outcome="success",service="media"\} \d+$/m);
    expect(text).toContain('http_requests_total{method="POST",route="/media/upload",status="201",service="media"}');
  });

  it('when an unknown user-scoped token asks, then tokens from a different signer are refused', async () => {
    const forged = mintAccessToken({ sub: randomUUID(), role: 'admin', org_id: randomUUID() }, { secret: 'x'.repeat(40) });
    expect((await http(`${media.url}/media/items`, { token: forged })).status).toBe(401);
  });
});
