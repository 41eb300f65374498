// microsockets client: events over a WebSocket, wire-compatible with the
// original microsockets client 1.0.1. Each message is one JSON text frame
// {"event": "<name>", "payload": <value>}.
//
// No dependencies: it uses the platform's WebSocket (a browser's, or any
// WebSocket-compatible constructor passed as options.WebSocket).

// Parses one incoming frame; null for anything that is not an event.
function parseEvent(data) {
  if (typeof data !== 'string') return null;
  try {
    const message = JSON.parse(data);
    if (message === null || typeof message !== 'object' || typeof message.event !== 'string') return null;
    return message;
  } catch {
    return null;
  }
}

const encode = (event, payload = '') => JSON.stringify({ event, payload });

// The WebSocket constructor to use, or a clear error where there is none
// (Node.js before 22 has no global WebSocket).
function webSocketClass(Impl) {
  if (typeof Impl === 'function') return Impl;
  throw new TypeError(
    'microsockets: no WebSocket implementation: this runtime has no global WebSocket (Node.js before 22?); ' +
      'pass one as the WebSocket option, e.g. MicroSocket(url, undefined, { WebSocket }) with the "ws" package',
  );
}

// A map of event name to handlers, shared by both clients.
class Handlers {
  #byEvent = new Map();

  on(event, handler) {
    if (!this.#byEvent.has(event)) this.#byEvent.set(event, new Set());
    this.#byEvent.get(event).add(handler);
  }

  off(event, handler) {
    if (handler === undefined) this.#byEvent.delete(event);
    else this.#byEvent.get(event)?.delete(handler);
  }

  // Calls handler(payload, event, messageEvent) for each handler of the frame's event.
  deliver(messageEvent) {
    const message = parseEvent(messageEvent.data);
    if (!message) return;
    for (const handler of [...(this.#byEvent.get(message.event) ?? [])])
      handler(message.payload, message.event, messageEvent);
  }
}

/**
 * Opens a WebSocket and extends it with on/off/send. The result is the real
 * WebSocket: readyState, close(), onopen, addEventListener and the rest work
 * as usual. send(event, payload = "") sends an event; sendRaw(data) is the
 * WebSocket's own send.
 */
export function MicroSocket(url, protocols, { WebSocket: Impl = globalThis.WebSocket } = {}) {
  const ws = new (webSocketClass(Impl))(url, protocols);
  const handlers = new Handlers();
  const sendRaw = ws.send.bind(ws);
  ws.addEventListener('message', (messageEvent) => handlers.deliver(messageEvent));
  Object.assign(ws, {
    on(event, handler) {
      handlers.on(event, handler);
      return ws;
    },
    off(event, handler) {
      handlers.off(event, handler);
      return ws;
    },
    send(event, payload = '') {
      sendRaw(encode(event, payload));
    },
    sendRaw,
  });
  return ws;
}

/**
 * A client that survives the host going away: it reconnects with exponential
 * backoff and full jitter, and queues sends made while disconnected (at most
 * maxQueue; beyond that send returns false), delivering each once on reconnect.
 *
 * Handlers registered with on() stay across reconnects. Lifecycle events are
 * dispatched on the client itself (an EventTarget): "open" (every connect),
 * "reconnect" (a connect after the first, detail.attempts), "close" (every
 * disconnect, detail.code) and "drop" (a send refused because the queue is full).
 */
export class ReconnectingMicroSocket extends EventTarget {
  #url;
  #options;
  #handlers = new Handlers();
  #queue = [];
  #socket = null;
  #attempts = 0;
  #connectedBefore = false;
  #closed = false;
  #timer = null;

  constructor(url, options = {}) {
    super();
    this.#url = url;
    this.#options = {
      protocols: undefined,
      minDelay: 250,
      maxDelay: 10_000,
      factor: 2,
      maxQueue: 100,
      WebSocket: globalThis.WebSocket,
      random: Math.random,
      ...options,
    };
    webSocketClass(this.#options.WebSocket);  // fail now, not in a reconnect timer
    this.#connect();
  }

  get socket() {
    return this.#socket;
  }

  get connected() {
    return this.#socket?.readyState === 1;
  }

  get queued() {
    return this.#queue.length;
  }

  on(event, handler) {
    this.#handlers.on(event, handler);
    return this;
  }

  off(event, handler) {
    this.#handlers.off(event, handler);
    return this;
  }

  // Sends now if connected, else queues; false if the queue is full.
  send(event, payload = '') {
    const frame = encode(event, payload);
    if (this.connected) {
      this.#socket.send(frame);
      return true;
    }
    if (this.#queue.length >= this.#options.maxQueue) {
      this.dispatchEvent(new CustomEvent('drop', { detail: { event, payload } }));
      return false;
    }
    this.#queue.push(frame);
    return true;
  }

  // Closes for good: no more reconnects; queued sends are discarded.
  close(code = 1000, reason = '') {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#queue = [];
    this.#socket?.close(code, reason);
  }

  // The delay before reconnect attempt `attempt` (0-based): full jitter.
  delay(attempt) {
    const { minDelay, maxDelay, factor, random } = this.#options;
    return random() * Math.min(maxDelay, minDelay * factor ** attempt);
  }

  #connect() {
    const { WebSocket: Impl, protocols } = this.#options;
    const ws = new Impl(this.#url, protocols);
    this.#socket = ws;
    ws.addEventListener('message', (messageEvent) => this.#handlers.deliver(messageEvent));
    ws.addEventListener('open', () => {
      const attempts = this.#attempts;
      this.#attempts = 0;
      for (const frame of this.#queue.splice(0)) ws.send(frame);
      this.dispatchEvent(new CustomEvent('open'));
      if (this.#connectedBefore) this.dispatchEvent(new CustomEvent('reconnect', { detail: { attempts } }));
      this.#connectedBefore = true;
    });
    // Browsers follow an error with close; some WebSocket implementations
    // (undici's) only report the error of a failed connect. Either ends it, once.
    let ended = false;
    const end = (code, reason) => {
      if (ended) return;
      ended = true;
      this.dispatchEvent(new CustomEvent('close', { detail: { code, reason } }));
      if (this.#closed) return;
      this.#timer = setTimeout(() => this.#connect(), this.delay(this.#attempts++));
    };
    ws.addEventListener('close', (closeEvent) => end(closeEvent.code, closeEvent.reason));
    ws.addEventListener('error', () => end(1006, ''));
  }
}

MicroSocket.reconnecting = (url, options) => new ReconnectingMicroSocket(url, options);

export default MicroSocket;
