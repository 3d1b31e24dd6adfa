import type { RevocationStore } from '@heartguard/kit';
import type { BucketState, ConsumeRequest, ConsumeResult, RateLimitStore } from './store.js';

interface Bucket {
  tokens: number;
  stampMs: number;
  windowMs: number;
}

export interface MemoryStoreOptions {
  /** Revocations to consult; without it results report revoked = undefined (unknown). */
  revocations?: RevocationStore;
  /** Buckets kept before full ones are swept (a full bucket is the same as no bucket). */
  maxBuckets?: number;
  now?: () => number;
}

/** The token buckets of the Redis script, in process: same arithmetic, same answers. */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly name = 'memory';
  private readonly buckets = new Map<string, Bucket>();
  private readonly revocations: RevocationStore | undefined;
  private readonly maxBuckets: number;
  private readonly now: () => number;
  private lastSweep = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.revocations = options.revocations;
    this.maxBuckets = options.maxBuckets ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  async consume({ buckets, jti }: ConsumeRequest): Promise<ConsumeResult> {
    const now = this.now();
    const current = buckets.map((spec) => {
      const bucket = this.buckets.get(spec.key);
      if (!bucket) return spec.limit;
      return Math.min(spec.limit, bucket.tokens + (Math.max(0, now - bucket.stampMs) * spec.limit) / spec.windowMs);
    });
    const allowed = current.every((tokens) => tokens >= 1);
    const states: BucketState[] = buckets.map((spec, i) => {
      let tokens = current[i]!;
      if (allowed) {
        tokens -= 1;
        this.buckets.set(spec.key, { tokens, stampMs: now, windowMs: spec.windowMs });
      }
      return {
        limit: spec.limit,
        remaining: Math.floor(tokens),
        resetMs: Math.ceil(((spec.limit - tokens) * spec.windowMs) / spec.limit),
        retryAfterMs: tokens >= 1 ? 0 : Math.ceil(((1 - tokens) * spec.windowMs) / spec.limit),
      };
    });
    if (this.buckets.size > this.maxBuckets && now - this.lastSweep > 1000) this.sweep(now);
    const revoked = jti === undefined ? false : this.revocations ? await this.revocations.isRevoked(jti) : undefined;
    return { allowed, buckets: states, revoked };
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    // A bucket untouched for its whole window has refilled completely; forgetting it changes nothing.
    for (const [key, bucket] of this.buckets) if (now - bucket.stampMs >= bucket.windowMs) this.buckets.delete(key);
  }
}
