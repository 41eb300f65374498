// A WebSocket client on a raw TCP socket, for tests that must send what no
// well-behaved client library would: any opcode, reserved bits, unmasked or
// fragmented frames, non-minimal lengths, broken UTF-8.
import { randomBytes } from 'node:crypto';
import { DEADLINE_MS, connectSocket, waitFor } from './harness.mjs';

// One client frame. `length` forces a length form: 7, 16 or 64 (bits).
export function encodeFrame({ opcode, payload = Buffer.alloc(0), fin = true, mask = true, rsv = 0, length }) {
  const body = Buffer.from(payload);
  const n = body.length;
  const form = length ?? (n < 126 ? 7 : n <= 0xffff ? 16 : 64);
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (form === 7) head.push(maskBit | n);
  else if (form === 16) head.push(maskBit | 126, n >> 8, n & 0xff);
  else {
    head.push(maskBit | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(n));
    head.push(...big);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), body]);
  const key = randomBytes(4);
  const masked = Buffer.from(body.map((b, i) => b ^ key[i & 3]));
  return Buffer.concat([Buffer.from(head), key, masked]);
}

export const text = (s, options = {}) => encodeFrame({ opcode: 1, payload: Buffer.from(s), ...options });
export const closeBody = (code, reason = '') => Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);

export class RawClient {
  static async open(port, path = '/') {
    let socket;
    await new Promise((resolve, reject) => {
      socket = connectSocket(port, resolve);
      socket.once('error', reject);
    });
    const client = new RawClient(socket);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const head = await waitFor(() => client.takeHead(), 'the upgrade response');
    if (!head.startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${head.split('\r\n')[0]}`);
    return client;
  }

  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.ended = false;
    socket.on('data', (d) => (this.buffer = Buffer.concat([this.buffer, d])));
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => (this.ended = true));
    socket.on('error', () => (this.ended = true));
  }

  takeHead() {
    const at = this.buffer.indexOf('\r\n\r\n');
    if (at < 0) return null;
    const head = this.buffer.subarray(0, at).toString();
    this.buffer = this.buffer.subarray(at + 4);
    return head;
  }

  // The next whole server frame, or null if none has arrived yet.
  takeFrame() {
    const b = this.buffer;
    if (b.length < 2) return null;
    let n = b[1] & 0x7f;
    let at = 2;
    if (n === 126) {
      if (b.length < 4) return null;
      n = b.readUInt16BE(2);
      at = 4;
    } else if (n === 127) {
      if (b.length < 10) return null;
      n = Number(b.readBigUInt64BE(2));
      at = 10;
    }
    if (b.length < at + n) return null;
    const frame = { fin: Boolean(b[0] & 0x80), opcode: b[0] & 0x0f, masked: Boolean(b[1] & 0x80), payload: b.subarray(at, at + n) };
    this.buffer = b.subarray(at + n);
    return frame;
  }

  send(...frames) {
    this.socket.write(Buffer.concat(frames));
  }

  async nextFrame(ms = DEADLINE_MS) {
    return waitFor(() => this.takeFrame() ?? (this.ended && this.buffer.length === 0 ? { ended: true } : null), 'a frame', ms);
  }

  // The next text message's JSON, skipping nothing: it must be the next frame.
  async nextEvent() {
    const frame = await this.nextFrame();
    if (frame.opcode !== 1) throw new Error(`expected a text frame, got ${JSON.stringify(frame)}`);
    return JSON.parse(frame.payload.toString());
  }

  // Waits for the server's close frame; returns its code (1005 when empty) and
  // whether the server then closed the TCP connection.
  async closeFrame() {
    const frame = await this.nextFrame();
    if (frame.ended) throw new Error('the connection ended without a close frame');
    if (frame.opcode !== 8) throw new Error(`expected a close frame, got opcode ${frame.opcode}`);
    const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
    await waitFor(() => this.ended, 'the server to close the TCP connection');
    return { code, reason: frame.payload.subarray(2).toString() };
  }

  destroy() {
    this.socket.destroy();
  }
}
