import { randomUUID } from 'node:crypto';
import type { Logger } from './logger.js';
import { currentContext } from './request-context.js';

export interface AuditEventInput {
  action: string;
  actor: string;
  org_id?: string | null;
  outcome?: 'success' | 'failure' | 'denied';
  payload?: Record<string, unknown>;
}

export interface AuditEvent extends AuditEventInput {
  id: string;
  service: string;
  occurred_at: string;
  request_id?: string;
}

export interface AuditEmitter {
  /** Queues an event; never throws and never waits on the audit service. */
  emit(event: AuditEventInput): void;
  /** Tries to deliver what is queued (used at shutdown and by tests). */
  flush(timeoutMs?: number): Promise<void>;
  pending(): number;
  stop(): Promise<void>;
}

export interface HttpAuditEmitterOptions {
  service: string;
  auditUrl: string;
  serviceToken: () => string;
  logger: Logger;
  /** Most events per POST (the audit service takes up to 1000). Default 200. */
  batchSize?: number;
  /** Most bytes of events per POST, kept well under the audit body limit. Default 512 KiB. */
  maxBatchBytes?: number;
  flushIntervalMs?: number;
  /** Events kept while audit is unreachable; beyond this the oldest are dropped. Default 50,000. */
  maxBuffered?: number;
  /** First retry delay after a failed delivery; doubles per failure up to maxBackoffMs. Default 250. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Per-POST timeout. Default 3000. */
  requestTimeoutMs?: number;
  /** Payloads larger than this (serialized) are replaced by a marker instead of being refused later. Default 16 KiB. */
  maxPayloadBytes?: number;
  /** How long stop() keeps trying to deliver what is queued (it gives up after 3 failed attempts in a row). Default 3000. */
  stopTimeoutMs?: number;
  onDropped?: (count: number) => void;
  onDelivered?: (count: number) => void;
  onRetry?: (reason: string, queued: number, delayMs: number) => void;
}

interface Queued {
  id: string;
  json: string;
}

const ACTOR_MAX = 320;
// Statuses that say "this batch is unacceptable as sent": retrying it unchanged cannot help.
const REJECTED = new Set([400, 413, 415, 422]);

// Not unref'd: only flush()/stop() sleep, and their callers await them; an unref'd timer would
// let the process exit in the middle of a shutdown sequence.
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/**
 * Buffers events in memory and ships them to the audit service in batches, retrying with
 * capped exponential backoff (with jitter) while it is unreachable. Each event carries a
 * client-made id, so a batch retried after a lost response is stored once.
 *
 * Why memory and not a durable outbox: the gateway, the heaviest producer, has no database,
 * and the events here are emitted next to (not inside) the producers' transactions. The buffer
 * holds maxBuffered events (minutes of traffic) while audit is down and is flushed on graceful
 * shutdown; what it cannot survive is the producer process crashing during an audit outage.
 * A producer that needs that guarantee for a data change should write the event to an outbox
 * table in the same transaction and relay it with this same batch protocol (ids make it safe).
 */
export function createHttpAuditEmitter(options: HttpAuditEmitterOptions): AuditEmitter {
  const { service, auditUrl, serviceToken, logger } = options;
  const batchSize = Math.max(1, Math.min(options.batchSize ?? 200, 1000));
  const maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
  const interval = options.flushIntervalMs ?? 250;
  const maxBuffered = Math.max(1, options.maxBuffered ?? 50_000);
  const minBackoff = Math.max(1, options.minBackoffMs ?? 250);
  const maxBackoff = Math.max(minBackoff, options.maxBackoffMs ?? 15_000);
  const requestTimeout = options.requestTimeoutMs ?? 3000;
  const maxPayloadBytes = options.maxPayloadBytes ?? 16 * 1024;
  const stopTimeout = options.stopTimeoutMs ?? 3000;
  const endpoint = `${auditUrl.replace(/\/+$/, '')}/audit/events`;

  const queue: Queued[] = [];
  // The first inFlight entries of the queue are being sent; overflow never drops those.
  let inFlight = 0;
  // Shrinks while a batch is refused, to isolate the one bad event instead of losing the batch.
  let limit = batchSize;
  let failures = 0;
  // Never reset: lets a flush count the failed attempts that happened during it.
  let failedAttempts = 0;
  let nextAttempt = 0;
  let sending: Promise<void> | undefined;
  let stopped = false;

  // During a long outage every emit may drop one event: log the count now and then, not each time.
  let unloggedDrops = 0;
  let lastDropLog = 0;
  function dropped(count: number, why: string): void {
    if (count <= 0) return;
    unloggedDrops += count;
    if (Date.now() - lastDropLog >= 10_000) {
      logger.error({ dropped: unloggedDrops, queued: queue.length }, why);
      unloggedDrops = 0;
      lastDropLog = Date.now();
    }
    try {
      options.onDropped?.(count);
    } catch {
      // A metrics hook must not break delivery.
    }
  }

  function serialize(input: AuditEventInput): Queued {
    const ctx = currentContext();
    const event: AuditEvent = {
      ...input,
      actor: (typeof input.actor === 'string' ? input.actor : String(input.actor)).slice(0, ACTOR_MAX) || 'unknown',
      id: randomUUID(),
      service,
      occurred_at: new Date().toISOString(),
      ...(ctx ? { request_id: ctx.requestId } : {}),
    };
    if (event.payload !== undefined) {
      let payloadJson: string | undefined;
      try {
        payloadJson = JSON.stringify(event.payload);
      } catch {
        event.payload = { unserializable: true };
      }
      if (payloadJson !== undefined && Buffer.byteLength(payloadJson) > maxPayloadBytes) {
        event.payload = { truncated: true, original_bytes: Buffer.byteLength(payloadJson) };
      }
    }
    return { id: event.id, json: JSON.stringify(event) };
  }

  function takeBatch(): Queued[] {
    const batch: Queued[] = [];
    let bytes = 0;
    for (const item of queue) {
      if (batch.length >= limit) break;
      if (batch.length > 0 && bytes + item.json.length > maxBatchBytes) break;
      batch.push(item);
      bytes += item.json.length + 1;
    }
    return batch;
  }

  function scheduleRetry(reason: string): void {
    failures += 1;
    failedAttempts += 1;
    const ceiling = Math.min(maxBackoff, minBackoff * 2 ** Math.min(failures - 1, 30));
    // Equal jitter: producers that lost audit together do not all come back in the same millisecond.
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    nextAttempt = Date.now() + delay;
    if (failures === 1 || failures % 10 === 0) {
      logger.warn({ reason, queued: queue.length, failures, retry_in_ms: delay }, 'audit delivery failing; events stay buffered');
    }
    try {
      options.onRetry?.(reason, queue.length, delay);
    } catch {
      // ignored: see dropped()
    }
  }

  /** Sends one batch; returns true when the caller may go on sending without waiting. */
  async function sendBatch(): Promise<boolean> {
    const batch = takeBatch();
    if (batch.length === 0) return false;
    inFlight = batch.length;
    let status: number;
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${serviceToken()}` },
        body: `{"events":[${batch.map((item) => item.json).join(',')}]}`,
        signal: AbortSignal.timeout(requestTimeout),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      inFlight = 0;
      scheduleRetry(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
      return false;
    }
    inFlight = 0;
    if (status >= 200 && status < 300) {
      queue.splice(0, batch.length);
      if (failures > 0) logger.info({ after_failures: failures, queued: queue.length }, 'audit delivery recovered');
      failures = 0;
      nextAttempt = 0;
      limit = Math.min(batchSize, limit * 2);
      try {
        options.onDelivered?.(batch.length);
      } catch {
        // ignored: see dropped()
      }
      return true;
    }
    if (REJECTED.has(status)) {
      if (batch.length > 1) {
        limit = Math.ceil(batch.length / 2);
        return true;
      }
      queue.splice(0, 1);
      dropped(1, `audit refused an event (status ${status}); dropping it`);
      return true;
    }
    // 5xx, 429, 401/403 (key rotation, clock skew), 404 (audit not deployed yet): keep and retry.
    scheduleRetry(`audit answered ${status}`);
    return false;
  }

  async function pump(): Promise<void> {
    while (queue.length > 0 && Date.now() >= nextAttempt) {
      if (!(await sendBatch())) return;
    }
  }

  function kick(): void {
    if (sending || queue.length === 0 || Date.now() < nextAttempt) return;
    sending = pump()
      .catch((err: unknown) => logger.error({ err }, 'audit delivery loop failed'))
      .finally(() => {
        sending = undefined;
      });
  }

  const timer = setInterval(kick, interval);
  timer.unref();

  /** Delivers until the queue is empty, the deadline passes or maxFailures attempts in a row failed. */
  async function deliver(deadline: number, maxFailures: number): Promise<void> {
    const failedBefore = failedAttempts;
    // An explicit flush retries now rather than waiting out the current backoff.
    nextAttempt = 0;
    while (queue.length > 0 && Date.now() < deadline && failedAttempts - failedBefore < maxFailures) {
      if (sending) await sending;
      else if (Date.now() >= nextAttempt) kick();
      else await sleep(Math.min(nextAttempt, deadline) - Date.now());
    }
  }

  async function flush(timeoutMs = 5000): Promise<void> {
    await deliver(Date.now() + timeoutMs, Number.POSITIVE_INFINITY);
  }

  return {
    emit(input) {
      try {
        if (stopped) {
          dropped(1, 'audit emitter stopped; event dropped');
          return;
        }
        queue.push(serialize(input));
        const excess = queue.length - maxBuffered;
        if (excess > 0) dropped(queue.splice(inFlight, excess).length, 'audit buffer full; oldest events dropped');
        // Deferred so that even serializing a batch never happens on the caller's request path.
        if (queue.length >= limit && !sending) setImmediate(kick);
      } catch (err) {
        logger.error({ err: err instanceof Error ? err.message : String(err) }, 'audit event could not be queued');
      }
    },
    flush,
    pending: () => queue.length,
    async stop() {
      clearInterval(timer);
      // At shutdown, an audit service that keeps refusing connections is not waited for.
      await deliver(Date.now() + stopTimeout, 3);
      stopped = true;
      if (queue.length > 0) logger.error({ lost: queue.length }, 'audit emitter stopped with undelivered events');
    },
  };
}
