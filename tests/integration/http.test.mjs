// HTTP answers like a web server: 431, 414, 400 and close; bodies
// refused unread, 501 for a transfer coding but chunked; a frame
// sent with the upgrade request is not lost; behind a trusted proxy,
// ws.remote() is the client the proxy names, and no one else can name it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, env, metrics, startHost, stopAfter, testPlugin, waitFor } from './harness.mjs';
import { rawRequest, rawSocket, rssBytes, serverTexts, textFrame, upgradeRequest } from './raw.mjs';

const probe = { '10-probe.so': testPlugin('probe') };

test('over-long headers get 431, an over-long target 414, a malformed request 400, each closing', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: probe }));
  const get = (target, extra = '') => `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
  const bigHeaders = Array.from({ length: 10 }, (_, i) => `X-Big-${i}: ${'h'.repeat(4000)}\r\n`).join('');
  const cases = [
    [get('/healthz', bigHeaders), 431],
    [get('/healthz', `X-One-Big: ${'h'.repeat(40_000)}\r\n`), 431], // one field, longer than any request line
    [get('/healthz', `X-Big: ${'h'.repeat(9000)}\r\n${bigHeaders}`), 431],
    [get(`/${'t'.repeat(10_000)}`), 414], // under the header limit, over the target's
    [get(`/${'t'.repeat(40_000)}`), 414], // over both
    ['NOT HTTP AT ALL\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n', 400],
  ];
  for (const [request, status] of cases) {
    const res = await rawRequest(host.port, request);
    assert.equal(res.status, status, request.slice(0, 40));
    assert.match(res.text, /\r\nConnection: close\r\n/i);
  }
  // However the header arrives: whole fields in a first write, the rest 20 ms
  // later (Beast does not count the fields it parsed from a first large read).
  const split = [16_000, 30_000];
  for (const at of split) {
    const request = get('/healthz', bigHeaders);
    const socket = await rawSocket(host.port, request.slice(0, at));
    setTimeout(() => socket.write(request.slice(at)), 20);
    await waitFor(() => socket.ended, 'the host to close the connection');
    assert.equal(socket.received.toString().split(' ')[1], '431', `split at ${at}`);
  }
  // A long target within the limit is served (here: not found), not refused.
  assert.equal((await rawRequest(host.port, get(`/${'q'.repeat(7000)}`, 'Connection: close\r\n'))).status, 404);
  assert.equal((await metrics(host)).http_errors_total, cases.length + split.length);
});

test('an upgrade without a valid key gets 400, another version than 13 gets 426 naming 13; neither is accepted', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: probe }));
  const upgrade = (key, version) =>
    `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `${key === undefined ? '' : `Sec-WebSocket-Key: ${key}\r\n`}Sec-WebSocket-Version: ${version}\r\n\r\n`;
  for (const key of [undefined, 'short==', 'dGhlIHNhbXBsZSBub25j!Q==']) {
    const res = await rawRequest(host.port, upgrade(key, 13));
    assert.equal(res.status, 400, `key ${key}`);
  }
  const old = await rawRequest(host.port, upgrade('dGhlIHNhbXBsZSBub25jZQ==', 8));
  assert.equal(old.status, 426);
  assert.match(old.text, /\r\nSec-WebSocket-Version: 13\r\n/i);
  const ok = await rawSocket(host.port, upgradeRequest(host.port));
  await waitFor(() => ok.received.includes('\r\n\r\n'), 'the 101 response');
  assert.match(ok.received.toString(), /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(ok.received.toString(), /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
  ok.destroy();
  assert.equal((await metrics(host)).connections_accepted_total, 1);
});

test('a WebSocket frame in the same packet as the upgrade request is handled, not lost', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: probe }));
  const first = Buffer.concat([Buffer.from(upgradeRequest(host.port)), textFrame('echo', 'early'), textFrame('echo', 'bird')]);
  const socket = await rawSocket(host.port, first);
  const texts = await waitFor(() => {
    const t = serverTexts(socket.received);
    return t.length === 2 && t;
  }, 'both echoes');
  assert.deepEqual(texts.map((x) => JSON.parse(x).payload), ['early', 'bird']);
  socket.destroy();
});

test('behind a trusted proxy ws.remote() is the client it names; untrusted peers cannot name one', async (t) => {
  const trusting = stopAfter(t, await startHost({ plugins: probe, args: ['--trust-proxy', '127.0.0.0/8', '--trust-proxy', '10.0.0.0/8'] }));
  const remoteVia = async (host, headers) => {
    const c = await Client.open(host.url, { headers });
    const remote = (await c.ask('request')).split('|')[3];
    await c.close();
    return remote;
  };
  assert.equal(await remoteVia(trusting, { 'X-Forwarded-For': '203.0.113.7' }), '203.0.113.7');
  // The right-most address that is not a trusted proxy: what the client wrote to the left is not believed.
  assert.equal(await remoteVia(trusting, { 'X-Forwarded-For': '198.51.100.1, 203.0.113.7, 10.1.2.3' }), '203.0.113.7');
  assert.equal(await remoteVia(trusting, { Forwarded: 'for="[2001:db8::17]:4711";proto=https, for=10.0.0.2' }), '2001:db8::17');
  assert.match(await remoteVia(trusting, {}), /^127\.0\.0\.1:\d+$/);

  const plain = stopAfter(t, await startHost({ plugins: probe }));
  assert.match(await remoteVia(plain, { 'X-Forwarded-For': '203.0.113.7' }), /^127\.0\.0\.1:\d+$/);
  const elsewhere = stopAfter(t, await startHost({ plugins: probe, args: ['--trust-proxy', '10.0.0.0/8'] }));
  assert.match(await remoteVia(elsewhere, { Forwarded: 'for=203.0.113.7' }), /^127\.0\.0\.1:\d+$/);
});

// Sends `head`, then `filler` over and over (a body that never ends), and
// resolves with what the host answered once it has answered or closed.
async function endlessBody(port, head, filler) {
  const socket = await rawSocket(port, head);
  const chunk = Buffer.alloc(64 * 1024, filler);
  let sent = 0;
  while (!socket.ended && !socket.received.includes('\r\n\r\n') && sent < 64 << 20) {
    if (!socket.write(chunk))
      await waitFor(() => !socket.writableNeedDrain || socket.ended || socket.received.length, 'the socket to drain', 20_000);
    sent += chunk.length;
  }
  await waitFor(() => socket.ended || socket.received.includes('\r\n\r\n'), 'an answer');
  socket.destroy();
  return socket.received.toString();
}

test('a request body is refused with 413 from its header alone: an endless chunk line or trailer costs the host nothing', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: probe }));
  const before = rssBytes(host.proc.pid);
  const chunked = (method, path) => `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n`;
  // A chunk-size line that never ends (unbounded, this grew a host by 550 MB in 5 s).
  assert.match(await endlessBody(host.port, chunked('POST', '/'), 'f'), /^HTTP\/1\.1 413 /);
  // A last chunk, then a trailer field that never ends.
  assert.match(await endlessBody(host.port, `${chunked('POST', '/healthz')}0\r\nX-Trailer: `, 't'), /^HTTP\/1\.1 413 /);
  // A body announced on an upgrade or a GET, with Content-Length: refused before a plugin sees it.
  const upgrade = upgradeRequest(host.port, { headers: { 'Content-Length': '100000000' } });
  assert.match(await endlessBody(host.port, upgrade, 'x'), /^HTTP\/1\.1 413 /);
  assert.equal((await rawRequest(host.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello')).status, 413);
  // No body is no body: Content-Length: 0 is served.
  assert.equal((await rawRequest(host.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')).status, 200);
  if (!env.sanitized) assert.ok(rssBytes(host.proc.pid) - before < 4 << 20, `RSS grew by ${rssBytes(host.proc.pid) - before}`);
  assert.equal((await metrics(host)).http_errors_total, 4);
  assert.equal((await metrics(host)).connections_accepted_total, 0);
});

test('a transfer coding other than chunked gets 501, a missing or repeated Host 400, and nothing after them is read', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: probe }));
  const smuggled = 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const cases = [
    [`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n${smuggled}`, 501],
    [`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n${smuggled}`, 501],
    [`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n${smuggled}`, 501],
    // chunked, but not last: where the body ends cannot be told (RFC 9112 6.3: 400).
    [`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n${smuggled}`, 400],
    [`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`, 400],
    [`GET /healthz HTTP/1.1\r\n\r\n${smuggled}`, 400],
    [`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: example.com\r\n\r\n${smuggled}`, 400],
    [`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nHost: example.com\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n', 400],
  ];
  for (const [request, status] of cases) {
    const res = await rawRequest(host.port, request);
    assert.equal(res.status, status, request.split('\r\n\r\n')[0]);
    assert.equal(res.text.match(/HTTP\/1\.1 \d{3} /g).length, 1, `one answer only: ${res.text}`);
  }
  // HTTP/1.0 needs no Host.
  assert.equal((await rawRequest(host.port, 'GET /healthz HTTP/1.0\r\n\r\n')).status, 200);
  assert.equal((await metrics(host)).http_errors_total, cases.length);
  assert.equal((await metrics(host)).connections_accepted_total, 0);
});

test('/healthz and /metrics ignore a query; an absolute-form target is served by its path', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: probe }));
  const get = (target) => rawRequest(host.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  for (const target of ['/healthz?x', '/healthz?', `http://127.0.0.1:${host.port}/healthz`, 'HTTPS://example.com/healthz?probe=1']) {
    const res = await get(target);
    assert.equal(res.status, 200, target);
    assert.match(res.text, /\r\n\r\nok\n$/, target);
  }
  for (const target of ['/metrics?name[]=up', 'http://example.com/metrics']) {
    const res = await get(target);
    assert.equal(res.status, 200, target);
    assert.match(res.text, /^microsockets_connections_open \d+$/m, target);
  }
  assert.equal((await get('http://example.com')).status, 404); // the path "/": not found, not malformed
  assert.equal((await get('/healthzx')).status, 404);
  // An upgrade in absolute form reaches the plugins with the origin form of its target.
  const socket = await rawSocket(host.port, upgradeRequest(host.port, { path: `http://127.0.0.1:${host.port}/room?a=1` }));
  await waitFor(() => socket.received.includes('\r\n\r\n'), 'the 101 response');
  assert.match(socket.received.toString(), /^HTTP\/1\.1 101 /);
  socket.destroy();
});
