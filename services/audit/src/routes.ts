import {
  Errors,
  authenticate,
  readBody,
  requireRole,
  respond,
  responseFormat,
  validateBody,
  type Platform,
} from '@heartguard/kit';
import type { RequestHandler, Router } from 'express';
import type { AuditMetrics } from './audit-metrics.js';
import type { AuditConfig } from './config.js';
import { listEvents, pageForXml, parseEventQuery, readerOrg } from './list-events.js';
import { callerService, isBatch, recordEvents, type AuditEventInput } from './record-events.js';
import { pgCode } from './chain-writer.js';
import type { AuditRepository } from './repository.js';
import { verifyChain, type ChainVerification } from './verify-chain.js';

export interface AuditRouteDeps {
  platform: Platform;
  config: AuditConfig;
  repository: AuditRepository;
  metrics: AuditMetrics;
}

// Lock timeouts, lost connections and a duplicate race that outlived its retries are worth a
// retry by the producer (ids make that safe): say 503, not 500.
function unavailableOnDbTrouble(err: unknown): unknown {
  const code = pgCode(err);
  if (code && ['55P03', '57P01', '08006', '08003', '23505', 'ECONNREFUSED'].includes(code)) {
    return Errors.unavailable('The audit store is busy or unreachable; retry later', { cause: err });
  }
  return err;
}

export function mountAuditRoutes(router: Router, { platform, config, repository, metrics }: AuditRouteDeps): void {
  const auth = authenticate(platform.authenticator);
  const limits = { payloadMaxBytes: config.payloadMaxBytes, maxClockSkewSeconds: config.maxClockSkewSeconds };

  const validateSingle = validateBody(platform.schemas, 'audit#/definitions/event_input');
  const validateBatch = validateBody(platform.schemas, 'audit#/definitions/batch_input');
  const validateEventBody: RequestHandler = (req, res, next) => (isBatch(req.body) ? validateBatch : validateSingle)(req, res, next);

  const recordHandler: RequestHandler = async (req, res) => {
    const service = callerService(req.auth);
    const batched = isBatch(req.body);
    const inputs: AuditEventInput[] = batched ? (req.body as { events: AuditEventInput[] }).events : [req.body as AuditEventInput];
    const result = await recordEvents(repository, inputs, service, limits, batched).catch((err: unknown) => {
      throw unavailableOnDbTrouble(err);
    });
    if (result.recorded.length) metrics.recorded.inc({ service }, result.recorded.length);
    if (result.duplicates.length) metrics.duplicates.inc({ service }, result.duplicates.length);
    if (result.headSeq) metrics.headSeq.set(Number(result.headSeq));
    if (batched) {
      respond(res, result.recorded.length ? 201 : 200, { root: 'AuditBatchResult' }, {
        recorded: result.recorded.length,
        duplicates: result.duplicates.length,
      });
    } else {
      const recorded = result.recorded[0];
      respond(res, recorded ? 201 : 200, { root: 'AuditEvent' }, {
        id: recorded ?? result.duplicates[0],
        status: recorded ? 'recorded' : 'duplicate',
      });
    }
  };

  const listHandler: RequestHandler = async (req, res) => {
    const filter = parseEventQuery(req.query as Record<string, unknown>, readerOrg(req.auth));
    const page = await listEvents(repository, filter);
    const view = { root: 'AuditEvents', list: { key: 'items', item: 'AuditEvent' } };
    respond(res, 200, view, responseFormat(req) === 'xml' ? pageForXml(page) : page);
  };

  // Concurrent verify requests share one run: each is a full scan of the table.
  let running: Promise<ChainVerification> | undefined;
  const verifyHandler: RequestHandler = async (_req, res) => {
    running ??= verifyChain(repository, config.verifyChunkSize).finally(() => {
      running = undefined;
    });
    const result = await running;
    if (result.last_seq !== null) metrics.headSeq.set(result.last_seq);
    if (!result.valid) platform.logger.error({ first_broken_seq: result.first_broken_seq, reason: result.reason }, 'audit hash chain is broken');
    metrics.verifications.inc({ result: result.valid ? 'valid' : 'broken' });
    respond(res, 200, { root: 'AuditVerification' }, result);
  };

  router.post(
    '/audit/events',
    auth,
    requireRole('service'),
    readBody({ limitBytes: config.bodyLimitBytes }),
    validateEventBody,
    recordHandler,
  );
  router.get('/audit/events', auth, requireRole('admin'), listHandler);
  router.get('/audit/verify', auth, requireRole('admin'), verifyHandler);
}
