import net from 'node:net';

export interface LoopbackGuard {
  /** Connections the guard refused because they were headed off this machine. */
  refused: string[];
  restore(): void;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);

/**
 * Refuses every outgoing TCP connection that is not to the loopback interface, and records
 * it. Every client in the process (the GCS client, its auth library, fetch) ends up in
 * net.Socket#connect, so nothing can reach the internet unnoticed while it is installed.
 */
export function guardLoopbackOnly(): LoopbackGuard {
  const original = net.Socket.prototype.connect;
  const refused: string[] = [];
  const patched = function (this: net.Socket, ...args: unknown[]) {
    const first = args[0];
    let host: string | undefined;
    let path: string | undefined;
    if (Array.isArray(first)) {
      const options = first[0] as { host?: string; path?: string } | undefined;
      host = options?.host;
      path = options?.path;
    } else if (first && typeof first === 'object') {
      host = (first as { host?: string }).host;
      path = (first as { path?: string }).path;
    } else if (typeof first === 'number') {
      host = typeof args[1] === 'string' ? args[1] : 'localhost';
    } else if (typeof first === 'string') {
      path = first;
    }
    if (!path && host !== undefined && !LOOPBACK.has(host)) {
      refused.push(host);
      const refuse = (socket: net.Socket) => socket.destroy(new Error(`loopback guard: refused connection to ${host}`));
      process.nextTick(refuse, this);
      return this;
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  };
  net.Socket.prototype.connect = patched as typeof net.Socket.prototype.connect;
  return {
    refused,
    restore() {
      net.Socket.prototype.connect = original;
    },
  };
}
