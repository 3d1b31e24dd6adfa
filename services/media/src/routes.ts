import { authenticate, requireRole, respond, validateBody } from '@heartguard/kit';
import { Router } from 'express';
import type { MediaDeps } from './deps.js';
import { deleteMedia } from './delete-media.js';
import { createDownloadLink } from './download-link.js';
import { listMedia, parseListQuery } from './list-media.js';
import { callerOf, requireTenant, toMediaItem } from './media-item.js';
import { serveLocalFile } from './serve-local-file.js';
import { readUploadBody } from './upload-body.js';
import { uploadMedia, type UploadRequest } from './upload-media.js';

export function mediaRoutes(deps: MediaDeps): Router {
  const { platform, config, localFiles, metrics } = deps;
  const signedIn = authenticate(platform.authenticator);
  const router = Router();

  router.post(
    '/media/upload',
    signedIn,
    requireTenant,
    ...readUploadBody(config.uploadBodyLimitBytes),
    validateBody(platform.schemas, 'media-upload'),
    async (req, res) => {
      const item = await uploadMedia(deps, callerOf(req), req.body as UploadRequest);
      respond(res, 201, { root: 'MediaItem' }, toMediaItem(item));
    },
  );

  router.get('/media/items', signedIn, async (req, res) => {
    const caller = callerOf(req);
    const page = await listMedia(deps, caller, parseListQuery(req.query as Record<string, unknown>));
    respond(res, 200, { root: 'MediaItems', list: { key: 'items', item: 'MediaItem' } }, page);
  });

  router.get('/media/items/:id/download', signedIn, async (req, res) => {
    const link = await createDownloadLink(deps, callerOf(req), req.params.id as string);
    respond(res, 200, { root: 'MediaDownload' }, link);
  });

  router.delete('/media/items/:id', signedIn, requireRole('admin'), async (req, res) => {
    await deleteMedia(deps, callerOf(req), req.params.id as string);
    res.status(204).end();
  });

  // Only the local store needs the service to serve bytes; GCS links point at Google.
  if (localFiles) router.get('/media/files/*key', serveLocalFile(localFiles, metrics));

  return router;
}
