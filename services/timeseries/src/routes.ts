import { authenticate, isAppError, readBody, requireRole, respond, validateBody, type Platform } from '@heartguard/kit';
import type { Router } from 'express';
import { callerOrgId } from './bucket-names.js';
import { createOrgBucket, deleteOrgBucket, listOrgBuckets, type BucketDeps } from './manage-buckets.js';
import { typeXmlFields, type IncomingPoint } from './point-validation.js';
import { querySeries, type QueryDeps, type QueryRequest } from './query-series.js';
import { writeBatch, type WriteDeps } from './write-points.js';
import { limitBatch, precisionOf, readLinePoints, singleQueryValue, validateWriteBody } from './write-request.js';
import { dropEmptyXmlOptionals } from './xml-optionals.js';

export interface RouteDeps {
  platform: Platform;
  write: WriteDeps;
  query: QueryDeps;
  buckets: BucketDeps;
  maxBatchPoints: number;
  bodyLimitBytes: number;
}

const SMALL_BODY = 64 * 1024;

export function mountRoutes(router: Router, deps: RouteDeps): void {
  const { platform } = deps;
  const auth = authenticate(platform.authenticator);
  const anyMember = requireRole('admin', 'manager', 'user');

  router.post(
    '/timeseries/write',
    auth,
    anyMember,
    readBody({ limitBytes: deps.bodyLimitBytes, textTypes: ['text/plain'] }),
    dropEmptyXmlOptionals(['bucket'], ['timestamp', 'tags']),
    limitBatch(deps.maxBatchPoints),
    validateWriteBody(platform),
    async (req, res) => {
      const orgId = callerOrgId(req.auth);
      const queryBucket = singleQueryValue(req.query.bucket, 'bucket');
      let points: IncomingPoint[];
      let bucket: string | undefined;
      if (req.bodyFormat === 'text') {
        points = readLinePoints(platform.schemas, String(req.body ?? ''), precisionOf(req.query.precision), deps.maxBatchPoints);
        bucket = queryBucket;
      } else {
        const body = req.body as { bucket?: string; points: IncomingPoint[] };
        points = body.points;
        if (req.bodyFormat === 'xml') typeXmlFields(points);
        bucket = body.bucket ?? queryBucket;
      }
      try {
        const result = await writeBatch(deps.write, orgId, bucket, points);
        deps.write.metrics.writeBatches.inc({ store: deps.write.store.kind, outcome: 'ok' });
        respond(res, 200, { root: 'WriteResult' }, result);
      } catch (err) {
        const outcome = isAppError(err) && err.status < 500 ? 'rejected' : 'failed';
        deps.write.metrics.writeBatches.inc({ store: deps.write.store.kind, outcome });
        throw err;
      }
    },
  );

  router.post(
    '/timeseries/query',
    auth,
    anyMember,
    readBody({ limitBytes: SMALL_BODY }),
    dropEmptyXmlOptionals(['bucket', 'field', 'aggregate', 'window', 'tags']),
    validateBody(platform.schemas, 'timeseries#/definitions/queryRequest'),
    async (req, res) => {
      const result = await querySeries(deps.query, callerOrgId(req.auth), req.body as QueryRequest);
      respond(res, 200, { root: 'QueryResult', itemNames: { series: 'Series', points: 'point' } }, result);
    },
  );

  router.post(
    '/timeseries/buckets',
    auth,
    requireRole('admin', 'manager'),
    readBody({ limitBytes: SMALL_BODY }),
    dropEmptyXmlOptionals(['retention']),
    validateBody(platform.schemas, 'timeseries#/definitions/createBucketRequest'),
    async (req, res) => {
      const caller = { userId: req.auth!.sub, orgId: callerOrgId(req.auth) };
      const bucket = await createOrgBucket(deps.buckets, caller, req.body as { name: string; retention?: string });
      respond(res, 201, { root: 'Bucket' }, bucket);
    },
  );

  router.get('/timeseries/buckets', auth, anyMember, async (req, res) => {
    const list = await listOrgBuckets(deps.buckets, callerOrgId(req.auth));
    respond(res, 200, { root: 'Buckets', list: { key: 'buckets', item: 'Bucket' } }, list);
  });

  router.delete('/timeseries/buckets/:bucket', auth, requireRole('admin'), async (req, res) => {
    const caller = { userId: req.auth!.sub, orgId: callerOrgId(req.auth) };
    await deleteOrgBucket(deps.buckets, caller, String(req.params.bucket));
    res.status(204).end();
  });
}
