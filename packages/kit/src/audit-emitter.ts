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
  batchSize?: number;
  flushIntervalMs?: number;
  maxBuffered?: number;
  maxBackoffMs?: number;
  onDropped?: (count: number) => void;
}

/**
 * Buffers events locally and ships them in batches. Each event carries a client-made id, so a
 * batch retried after a lost response is stored once (the audit service ignores known ids).
 */
export function createHttpAuditEmitter(options: HttpAuditEmitterOptions): AuditEmitter {
  const { service, auditUrl, serviceToken, logger } = options;
  const batchSize = options.batchSize ?? 200;
  const interval = options.flushIntervalMs ?? 250;
  const maxBuffered = options.maxBuffered ?? 50_000;
  const maxBackoff = options.maxBackoffMs ?? 15_000;
  const queue: AuditEvent[] = [];
  let backoff = 0;
  let nextAttempt = 0;
  let sending: Promise<void> | undefined;
  let stopped = false;

  async function sendBatch(): Promise<boolean> {
    const batch = queue.slice(0, batchSize);
    if (batch.length === 0) return true;
    try {
      const res = await fetch(`${auditUrl}/audit/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${serviceToken()}` },
        body: JSON.stringify({ events: batch }),
        signal: AbortSignal.timeout(3000),
      });
      if (res.status >= 500 || res.status === 429 || res.status === 401 || res.status === 403) throw new Error(`audit answered ${res.status}`);
      // A 4xx other than auth means the batch itself is unacceptable; retrying cannot help.
      if (!res.ok) logger.error({ status: res.status, count: batch.length }, 'audit rejected a batch; dropping it');
      queue.splice(0, batch.length);
      backoff = 0;
      return true;
    } catch (err) {
      backoff = Math.min(maxBackoff, backoff ? backoff * 2 : 250);
      nextAttempt = Date.now() + backoff;
      logger.warn({ err: err instanceof Error ? err.message : String(err), queued: queue.length, retry_in_ms: backoff }, 'audit delivery failed');
      return false;
    }
  }

  async function drain(): Promise<void> {
    while (queue.length > 0 && Date.now() >= nextAttempt) {
      if (!(await sendBatch())) return;
    }
  }

  function kick(): void {
    if (sending || queue.length === 0 || Date.now() < nextAttempt) return;
    sending = drain().finally(() => {
      sending = undefined;
    });
  }

  const timer = setInterval(kick, interval);
  timer.unref();

  return {
    emit(input) {
      if (stopped) return;
      const ctx = currentContext();
      queue.push({
        ...input,
        id: randomUUID(),
        service,
        occurred_at: new Date().toISOString(),
        ...(ctx ? { request_id: ctx.requestId } : {}),
      });
      if (queue.length > maxBuffered) {
        const dropped = queue.splice(0, queue.length - maxBuffered).length;
        options.onDropped?.(dropped);
        logger.error({ dropped }, 'audit buffer full; oldest events dropped');
      }
      if (queue.length >= batchSize) kick();
    },
    async flush(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      nextAttempt = 0;
      while (queue.length > 0 && Date.now() < deadline) {
        if (sending) await sending;
        else if (!(await sendBatch())) await new Promise((r) => setTimeout(r, Math.min(backoff, Math.max(0, deadline - Date.now()))));
      }
    },
    pending: () => queue.length,
    async stop() {
      clearInterval(timer);
      await this.flush(3000);
      stopped = true;
    },
  };
}
