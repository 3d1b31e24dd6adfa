import { createHash, type KeyObject } from 'node:crypto';
import type { Server } from 'node:http';
import express from 'express';
import { verifyV4SignedUrl } from './v4-signature.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
}

export interface FakeObject {
  bytes: Buffer;
  contentType: string;
  metadata: Record<string, unknown>;
  generation: string;
}

export interface FakeGcs {
  url: string;
  bucket: string;
  requests: RecordedRequest[];
  objects: Map<string, FakeObject>;
  /** Next upload answers with this status instead of storing (e.g. 503). */
  failNextUpload(status: number): void;
  /** Next upload is stored but reported with a wrong CRC32C, as a corrupted transfer would be. */
  corruptNextUploadChecksum(): void;
  /** Public key to check signed-URL reads with; unset means signed reads are refused. */
  trustSigningKey(key: KeyObject): void;
  close(): Promise<void>;
}

// CRC32C (Castagnoli), the checksum the JSON API reports and the client validates uploads against.
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32cBase64(bytes: Buffer): string {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC32C_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

interface Part {
  contentType: string;
  body: Buffer;
}

/** multipart/related as the client's simple upload sends it: metadata JSON part, then media part. */
function parseMultipartRelated(body: Buffer, contentType: string): Part[] {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  if (!boundary) throw new Error('no boundary');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const afterDelimiter = start + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, afterDelimiter);
    if (next === -1) break;
    const raw = body.subarray(afterDelimiter + 2, next - 2); // strip the CRLF after the delimiter and before the next
    const headerEnd = raw.indexOf('\r\n\r\n');
    const headers = raw.subarray(0, headerEnd).toString('utf8');
    parts.push({
      contentType: /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim() ?? '',
      body: raw.subarray(headerEnd + 4),
    });
    start = next;
  }
  return parts;
}

function notFound(res: express.Response, what: string): void {
  res.status(404).json({ error: { code: 404, message: `No such ${what}`, errors: [{ reason: 'notFound', message: `No such ${what}` }] } });
}

/**
 * A minimal stand-in for the Cloud Storage JSON API on 127.0.0.1: the endpoints
 * @google-cloud/storage 7 uses for simple uploads, deletes, existence checks and bucket
 * metadata, plus XML-API style GETs of V4 signed URLs checked against a trusted public key.
 */
export async function startFakeGcs(bucket: string): Promise<FakeGcs> {
  const requests: RecordedRequest[] = [];
  const objects = new Map<string, FakeObject>();
  let failUpload: number | undefined;
  let corruptChecksum = false;
  let signingKey: KeyObject | undefined;
  let generation = 1_700_000_000_000_000;

  const app = express();
  app.use((req, _res, next) => {
    // The raw path: object names arrive with "/" encoded as %2F, and that encoding is part of the contract.
    requests.push({ method: req.method, path: req.originalUrl.split('?')[0]!, query: { ...(req.query as Record<string, string>) }, headers: { ...req.headers } });
    next();
  });

  const resource = (name: string, object: FakeObject, crc32c = crc32cBase64(object.bytes)) => ({
    kind: 'storage#object',
    id: `${bucket}/${name}/${object.generation}`,
    name,
    bucket,
    generation: object.generation,
    metageneration: '1',
    contentType: object.contentType,
    size: String(object.bytes.length),
    md5Hash: createHash('md5').update(object.bytes).digest('base64'),
    crc32c,
    ...object.metadata,
  });

  app.post('/upload/storage/v1/b/:bucket/o', express.raw({ type: () => true, limit: '64mb' }), (req, res) => {
    if (req.params.bucket !== bucket) return notFound(res, 'bucket');
    if (failUpload) {
      const status = failUpload;
      failUpload = undefined;
      return void res.status(status).json({ error: { code: status, message: 'injected failure' } });
    }
    if (req.query.uploadType !== 'multipart') return void res.status(400).json({ error: { code: 400, message: 'only multipart' } });
    const name = String(req.query.name ?? '');
    if (req.query.ifGenerationMatch === '0' && objects.has(name)) {
      return void res.status(412).json({ error: { code: 412, message: 'Precondition Failed' } });
    }
    const [metaPart, mediaPart] = parseMultipartRelated(req.body as Buffer, String(req.headers['content-type']));
    if (!metaPart || !mediaPart) return void res.status(400).json({ error: { code: 400, message: 'two parts expected' } });
    const metadata = JSON.parse(metaPart.body.toString('utf8')) as Record<string, unknown>;
    const object: FakeObject = { bytes: Buffer.from(mediaPart.body), contentType: mediaPart.contentType, metadata, generation: String(generation++) };
    objects.set(name, object);
    const reportedCrc = corruptChecksum ? crc32cBase64(Buffer.from('something else')) : undefined;
    corruptChecksum = false;
    res.status(200).json(resource(name, object, reportedCrc));
  });

  app.get('/storage/v1/b/:bucket', (req, res) => {
    if (req.params.bucket !== bucket) return notFound(res, 'bucket');
    res.json({ kind: 'storage#bucket', id: bucket, name: bucket, location: 'EU', storageClass: 'STANDARD' });
  });

  app.get('/storage/v1/b/:bucket/o/:object', (req, res) => {
    const object = req.params.bucket === bucket ? objects.get(req.params.object) : undefined;
    if (!object) return notFound(res, 'object');
    res.json(resource(req.params.object, object));
  });

  app.delete('/storage/v1/b/:bucket/o/:object', (req, res) => {
    if (req.params.bucket !== bucket || !objects.delete(req.params.object)) return notFound(res, 'object');
    res.status(204).end();
  });

  // XML API read of a signed URL: https://<host>/<bucket>/<object>?X-Goog-...
  app.get('/:bucket/*object', (req, res) => {
    const name = (req.params as unknown as { object: string[] }).object.join('/');
    const check = signingKey && verifyV4SignedUrl(`http://${req.headers.host}${req.originalUrl}`, signingKey, { host: req.hostname });
    if (!check || !check.valid) return void res.status(403).type('application/xml').send('<Error><Code>SignatureDoesNotMatch</Code></Error>');
    const issuedAt = Date.parse(
      (check.params['X-Goog-Date'] ?? '').replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
    );
    if (Date.now() > issuedAt + Number(check.params['X-Goog-Expires']) * 1000) {
      return void res.status(400).type('application/xml').send('<Error><Code>ExpiredToken</Code></Error>');
    }
    const object = req.params.bucket === bucket ? objects.get(name) : undefined;
    if (!object) return void res.status(404).type('application/xml').send('<Error><Code>NoSuchKey</Code></Error>');
    res.type(object.contentType).send(object.bytes);
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    bucket,
    requests,
    objects,
    failNextUpload(status) {
      failUpload = status;
    },
    corruptNextUploadChecksum() {
      corruptChecksum = true;
    },
    trustSigningKey(key) {
      signingKey = key;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
