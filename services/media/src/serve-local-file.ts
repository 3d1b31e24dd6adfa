import { pipeline } from 'node:stream/promises';
import type { RequestHandler } from 'express';
import type { MediaMetrics } from './deps.js';
import { MediaErrors } from './errors.js';
import { attachmentDisposition } from './file-name.js';
import type { LocalObjectStore } from './local-object-store.js';

/**
 * GET /media/files/<key>?expires=&signature= — the local store's answer to a GCS signed URL.
 * Public: the signature is the credential, so it is checked before anything else is looked at.
 */
export function serveLocalFile(store: LocalObjectStore, metrics: MediaMetrics): RequestHandler {
  return async (req, res) => {
    const segments = (req.params as Record<string, string[] | string | undefined>).key;
    const key = Array.isArray(segments) ? segments.join('/') : (segments ?? '');
    if (!store.verifyLink(key, req.query.expires, req.query.signature)) {
      metrics.fileDownloads.inc({ outcome: 'denied' });
      throw MediaErrors.linkInvalid();
    }
    const object = await store.openObject(key);
    if (!object) {
      metrics.fileDownloads.inc({ outcome: 'missing' });
      throw MediaErrors.notFound('The file no longer exists');
    }
    const remaining = Math.max(0, Number(req.query.expires) - Math.floor(Date.now() / 1000));
    res.status(200);
    res.setHeader('Content-Type', object.contentType);
    res.setHeader('Content-Length', String(object.sizeBytes));
    res.setHeader('Content-Disposition', attachmentDisposition(object.fileName));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // The link is the capability; shared caches must not hand it to anyone else.
    res.setHeader('Cache-Control', `private, max-age=${Math.min(remaining, 3600)}`);
    metrics.fileDownloads.inc({ outcome: 'served' });
    await pipeline(object.stream, res);
  };
}
