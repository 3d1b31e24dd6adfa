/** One token bucket to draw from: capacity `limit`, refilled evenly over `windowMs`. */
export interface BucketSpec {
  key: string;
  limit: number;
  windowMs: number;
}

export interface BucketState {
  limit: number;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
  /** Milliseconds until the next token, 0 when one is available now. */
  retryAfterMs: number;
}

export interface ConsumeRequest {
  /** Charged together: one token from each, or none when any of them is empty. */
  buckets: BucketSpec[];
  /** Access-token id whose revocation is checked in the same round trip. */
  jti?: string;
}

export interface ConsumeResult {
  allowed: boolean;
  buckets: BucketState[];
  /** True when the jti is revoked; undefined when the store could not tell. */
  revoked: boolean | undefined;
}

/**
 * Where buckets live. Redis makes them shared by every gateway replica; the memory store is the
 * single-instance default and the fallback while Redis is unreachable.
 */
export interface RateLimitStore {
  readonly name: string;
  consume(request: ConsumeRequest): Promise<ConsumeResult>;
  /** False when a call is known to fail right now (e.g. Redis disconnected); absent = always. */
  isAvailable?(): boolean;
}
