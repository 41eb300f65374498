// The JavaScript client against the real host, with a browser-compatible
// WebSocket (undici's) where node has no global one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInThisContext } from 'node:vm';
import { after, before, test } from 'node:test';
import { WebSocket as UndiciWebSocket } from 'undici';
import { WebSocketServer } from 'ws';
import { env, startHost, testPlugin, waitFor } from '../integration/harness.mjs';

globalThis.WebSocket ??= UndiciWebSocket;
const { MicroSocket, ReconnectingMicroSocket } = await import(join(env.sdkJs, 'src', 'microsockets.js'));

let host;
before(async () => {
  host = await startHost({ plugins: { '10-probe.so': testPlugin('probe') } });
});
after(() => host.stop());

const opened = (ws) => new Promise((resolve, reject) => {
  ws.addEventListener('open', () => resolve(ws), { once: true });
  ws.addEventListener('error', reject, { once: true });
});
// Resolves with handler arguments the next time `event` arrives.
const nextEvent = (ws, event) => new Promise((resolve) => {
  const handler = (...args) => {
    ws.off(event, handler);
    resolve(args);
  };
  ws.on(event, handler);
});

test('MicroSocket is a real WebSocket with on, off and send', async () => {
  const ws = await opened(MicroSocket(host.url));
  assert.ok(ws instanceof globalThis.WebSocket);
  assert.equal(ws.readyState, globalThis.WebSocket.OPEN);
  assert.equal(typeof ws.on, 'function');
  assert.equal(typeof ws.off, 'function');
  const reply = nextEvent(ws, 'echo');
  ws.send('echo', 'hello');
  const [payload, event, messageEvent] = await reply;
  assert.equal(payload, 'hello');
  assert.equal(event, 'echo');
  assert.equal(JSON.parse(messageEvent.data).payload, 'hello');
  ws.close();
});

test('send puts exactly {"event","payload"} on the wire, with payload defaulting to ""', async () => {
  const sent = [];
  class Recording extends globalThis.WebSocket {
    send(data) {
      sent.push(data);
      super.send(data);
    }
  }
  const ws = await opened(MicroSocket(host.url, undefined, { WebSocket: Recording }));
  const reply = nextEvent(ws, 'echo');
  ws.send('echo');
  assert.deepEqual(await reply, ['', 'echo', (await reply)[2]]);
  ws.send('echo', JSON.stringify({ room: 'r' }));
  assert.deepEqual(sent, ['{"event":"echo","payload":""}', '{"event":"echo","payload":"{\\"room\\":\\"r\\"}"}']);
  ws.close();
});

test('every handler of an event runs; off with a handler removes it, off without removes all', async () => {
  const ws = await opened(MicroSocket(host.url));
  const calls = [];
  const first = (p) => calls.push(`first ${p}`);
  const second = (p) => calls.push(`second ${p}`);
  ws.on('echo', first).on('echo', second);
  const probe = async (text) => {
    const done = nextEvent(ws, 'echo');
    ws.send('echo', text);
    await done;
  };
  await probe('1');
  ws.off('echo', first);
  await probe('2');
  ws.off('echo');
  ws.on('echo', () => calls.push('new'));
  await probe('3');
  assert.deepEqual(calls, ['first 1', 'second 1', 'second 2', 'new']);
  ws.close();
});

test('the subprotocol argument reaches the server', async () => {
  const ws = await opened(MicroSocket(host.url, ['probe.v1']));
  assert.equal(ws.protocol, 'probe.v1');
  ws.close();
});

test('frames that are not events are ignored without throwing', async () => {
  // The host never sends such frames, so a tiny ws server plays a broken peer here.
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => server.on('listening', r));
  server.on('connection', (peer) => {
    for (const frame of ['not json', '[1]', '{"payload":"x"}', '{"event":5}', 'null', Buffer.from([1, 2])]) peer.send(frame);
    peer.send('{"event":"ok","payload":"after the garbage"}');
  });
  const errors = [];
  process.on('uncaughtException', (e) => errors.push(e));
  const ws = MicroSocket(`ws://127.0.0.1:${server.address().port}`);
  const [payload] = await nextEvent(ws, 'ok');
  assert.equal(payload, 'after the garbage');
  assert.deepEqual(errors, []);
  ws.close();
  server.close();
});

test('the <script> build defines a global MicroSocket that works the same', async () => {
  runInThisContext(readFileSync(join(env.sdkJs, 'dist', 'microsockets.global.js'), 'utf8'));
  assert.equal(typeof globalThis.MicroSocket, 'function');
  assert.equal(typeof globalThis.MicroSocket.reconnecting, 'function');
  const ws = await opened(globalThis.MicroSocket(host.url));
  const reply = nextEvent(ws, 'echo');
  ws.send('echo', 'global');
  assert.equal((await reply)[0], 'global');
  ws.close();
});

test('reconnecting backoff is exponential with full jitter, capped', () => {
  const never = { WebSocket: class { addEventListener() {} }, minDelay: 100, maxDelay: 1000 };
  const top = new ReconnectingMicroSocket('ws://unused', { ...never, random: () => 0.999999 });
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => Math.round(top.delay(n))), [100, 200, 400, 800, 1000, 1000]);
  const half = new ReconnectingMicroSocket('ws://unused', { ...never, random: () => 0.5 });
  assert.equal(half.delay(2), 200);
  const zero = new ReconnectingMicroSocket('ws://unused', { ...never, random: () => 0 });
  assert.equal(zero.delay(3), 0);
});

test('sends made while disconnected are queued up to maxQueue, then refused with a drop event', async () => {
  const dropped = [];
  const rs = MicroSocket.reconnecting('ws://127.0.0.1:1', { maxQueue: 2, minDelay: 10_000 });
  rs.addEventListener('drop', (e) => dropped.push(e.detail.payload));
  assert.equal(rs.send('echo', 'a'), true);
  assert.equal(rs.send('echo', 'b'), true);
  assert.equal(rs.send('echo', 'c'), false);
  assert.equal(rs.queued, 2);
  assert.deepEqual(dropped, ['c']);
  rs.close();
});

test('a reconnecting client survives a host restart and delivers queued sends once', async () => {
  const first = await startHost({ plugins: { '10-probe.so': testPlugin('probe') } });
  const lifecycle = [];
  const echoes = [];
  const rs = MicroSocket.reconnecting(first.url, { minDelay: 20, maxDelay: 200 });
  for (const type of ['open', 'close', 'reconnect']) rs.addEventListener(type, () => lifecycle.push(type));
  rs.on('echo', (payload) => echoes.push(payload));
  await waitFor(() => rs.connected, 'the first connection');
  rs.send('echo', 'before');
  await waitFor(() => echoes.includes('before'), 'the first echo');

  await first.stop({ keepPlugins: true });
  await waitFor(() => lifecycle.includes('close'), 'the close event');
  assert.equal(rs.send('echo', 'queued 1'), true);
  assert.equal(rs.send('echo', 'queued 2'), true);
  assert.equal(rs.queued, 2);

  const second = await startHost({ plugins: first.dir, port: first.port });
  try {
    await waitFor(() => lifecycle.includes('reconnect'), 'the reconnect event', 15_000);
    rs.send('echo', 'after');
    await waitFor(() => echoes.includes('after'), 'the echo after reconnecting');
    assert.deepEqual(echoes, ['before', 'queued 1', 'queued 2', 'after']);
    assert.deepEqual(lifecycle.filter((t) => t !== 'close'), ['open', 'open', 'reconnect']);
  } finally {
    rs.close();
    await second.stop();
  }
});
