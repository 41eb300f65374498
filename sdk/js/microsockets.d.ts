// Type declarations for the microsockets client.

export type Handler<P = unknown> = (payload: P, event: string, messageEvent: MessageEvent) => void;

export interface MicroSocketOptions {
  /** A WebSocket-compatible constructor; defaults to globalThis.WebSocket. */
  WebSocket?: typeof WebSocket;
}

/** The real WebSocket, with events on top. */
export interface MicroSocket extends Omit<WebSocket, 'send'> {
  on<P = unknown>(event: string, handler: Handler<P>): this;
  /** Without a handler: removes every handler of the event. */
  off(event: string, handler?: Handler<any>): this;
  /** Sends {"event", "payload"} as one JSON text frame. */
  send(event: string, payload?: unknown): void;
  /** The WebSocket's own send. */
  sendRaw(data: string | ArrayBufferLike | Blob | ArrayBufferView): void;
}

export interface ReconnectingOptions extends MicroSocketOptions {
  protocols?: string | string[];
  /** First backoff ceiling in ms (default 250). */
  minDelay?: number;
  /** Largest backoff ceiling in ms (default 10000). */
  maxDelay?: number;
  /** Growth of the ceiling per attempt (default 2). */
  factor?: number;
  /** Sends kept while disconnected (default 100). */
  maxQueue?: number;
  /** Source of randomness in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
}

export declare class ReconnectingMicroSocket extends EventTarget {
  constructor(url: string | URL, options?: ReconnectingOptions);
  readonly socket: WebSocket | null;
  readonly connected: boolean;
  readonly queued: number;
  on<P = unknown>(event: string, handler: Handler<P>): this;
  off(event: string, handler?: Handler<any>): this;
  /** Sends now, or queues while disconnected; false when the queue is full. */
  send(event: string, payload?: unknown): boolean;
  close(code?: number, reason?: string): void;
  /** The backoff before attempt n (0-based): random() * min(maxDelay, minDelay * factor ** n). */
  delay(attempt: number): number;
}

export declare function MicroSocket(url: string | URL, protocols?: string | string[], options?: MicroSocketOptions): MicroSocket;
export declare namespace MicroSocket {
  function reconnecting(url: string | URL, options?: ReconnectingOptions): ReconnectingMicroSocket;
}
export default MicroSocket;
