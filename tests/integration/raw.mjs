// Raw sockets for tests that must control every byte: hand-made HTTP requests
// and WebSocket frames, and a look at the host process from /proc.
import { readFileSync, readdirSync } from 'node:fs';
import { connectSocket, waitFor } from './harness.mjs';

export function upgradeRequest(port, { path = '/', headers = {} } = {}) {
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

// A masked client frame (RFC 6455 5.2); opcode 1 text, 9 ping, 8 close.
export function frame(opcode, payload = '') {
  const data = Buffer.from(payload);
  const mask = Buffer.from([1, 2, 3, 4]);
  let head;
  if (data.length < 126) head = Buffer.from([0x80 | opcode, 0x80 | data.length]);
  else head = Buffer.from([0x80 | opcode, 0x80 | 126, data.length >> 8, data.length & 0xff]);
  const body = Buffer.from(data.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([head, mask, body]);
}

export const textFrame = (event, payload = '') => frame(1, JSON.stringify({ event, payload }));

// A socket that keeps what it receives and how it ended; over the suite's
// transport unless options say { tls: false }.
export function rawSocket(port, firstBytes, options) {
  return new Promise((resolve, reject) => {
    const socket = connectSocket(port, () => {
      if (firstBytes) socket.write(firstBytes);
      resolve(socket);
    }, options);
    socket.received = Buffer.alloc(0);
    socket.ended = null;
    socket.on('data', (d) => (socket.received = Buffer.concat([socket.received, d])));
    socket.on('end', () => (socket.ended ??= 'end'));
    socket.on('close', () => (socket.ended ??= 'close'));
    socket.on('error', (e) => (socket.ended ??= e.code));
    socket.once('error', reject);
  });
}

// Sends one HTTP request as given and resolves with the status of the answer
// once the host has closed the connection.
export async function rawRequest(port, text) {
  const socket = await rawSocket(port, text);
  await waitFor(() => socket.ended, 'the host to close the connection');
  return { status: Number(socket.received.toString().split(' ')[1]), text: socket.received.toString() };
}

// The text of the unmasked server frames in `bytes` (small frames only).
export function serverTexts(bytes) {
  const out = [];
  let at = bytes.indexOf('\r\n\r\n') + 4;
  while (at + 2 <= bytes.length) {
    let len = bytes[at + 1] & 0x7f;
    let start = at + 2;
    if (len === 126) {
      len = bytes.readUInt16BE(at + 2);
      start = at + 4;
    }
    if (start + len > bytes.length) break;
    if ((bytes[at] & 0x0f) === 1) out.push(bytes.subarray(start, start + len).toString());
    at = start + len;
  }
  return out;
}

export const rssBytes = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) * 1024;
export const openFds = (pid) => readdirSync(`/proc/${pid}/fd`).length;
// User + system CPU seconds the process has used (fields 14 and 15 of stat).
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
