// --tls-cert/--tls-key: the port speaks TLS only, wss:// and https:// alike,
// with a certificate this test makes with openssl; SIGHUP re-reads it. The
// limits over TLS are the limit suites themselves, which ctest runs on both
// transports (the .tls entries).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Agent, WebSocket as UndiciWebSocket, setGlobalDispatcher } from 'undici';
import { Client, env, makeCertificate, startHost, testPlugin, waitFor } from './harness.mjs';

let base;
let first;  // { cert, key, pem } of the certificate the host starts with
let second; // the one it is given on SIGHUP
let host;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'microsockets-tls-'));
  first = makeCertificate(base, 'microsockets-first');
  second = makeCertificate(base, 'microsockets-second');
  // The host reads its certificate from paths that SIGHUP later finds changed.
  copyFileSync(first.cert, join(base, 'server.crt'));
  copyFileSync(first.key, join(base, 'server.key'));
  mkdirSync(join(base, 'www'));
  writeFileSync(join(base, 'www', 'index.html'), '<h1>over tls</h1>');
  host = await startHost({
    plugins: { '10-probe.so': testPlugin('probe') },
    args: ['--tls-cert', join(base, 'server.crt'), '--tls-key', join(base, 'server.key'),
      '--static', join(base, 'www'), '--max-output', '262144'],
  });
  // fetch and undici's WebSocket trust both test certificates, and nothing else.
  setGlobalDispatcher(new Agent({ connect: { ca: [first.pem, second.pem] } }));
});
after(async () => {
  await host?.stop();
  rmSync(base, { recursive: true, force: true });
});

const ca = () => [first.pem, second.pem];

// The certificate a new TLS connection to the host is shown.
function servedCertificate() {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: host.port, ca: ca() }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      resolve(cert);
    });
    socket.on('error', reject);
  });
}
const fingerprint = (pem) => new X509Certificate(pem).fingerprint256;

// What a plain TCP client gets back for `bytes`, until the host closes the connection.
const plainExchange = (bytes) => plainExchangeTo(host.port, bytes);
function plainExchangeTo(port, bytes) {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => socket.write(bytes));
    let response = '';
    socket.on('data', (d) => (response += d));
    socket.on('close', () => resolve(response));
    socket.on('error', reject);
  });
}

test('the port says wss:// and the JavaScript client talks to it', async () => {
  assert.match(host.url, /^wss:\/\/127\.0\.0\.1:\d+$/);
  assert.match(host.log(), /TLS certificate: CN=microsockets-first, valid until /);
  globalThis.WebSocket ??= UndiciWebSocket;
  const { MicroSocket } = await import(join(env.sdkJs, 'src', 'microsockets.js'));
  const ws = MicroSocket(host.url);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', reject, { once: true });
  });
  const reply = new Promise((resolve) => ws.on('echo', resolve));
  ws.send('echo', 'over tls');
  assert.equal(await reply, 'over tls');
  ws.close();
});

test('https serves /healthz, /metrics and the static files on the same port', async () => {
  const base = `https://127.0.0.1:${host.port}`;
  assert.equal(await (await fetch(`${base}/healthz`)).text(), 'ok\n');
  assert.match(await (await fetch(`${base}/metrics`)).text(), /^microsockets_connections_open \d+$/m);
  const page = await fetch(`${base}/`);
  assert.equal(page.status, 200);
  assert.equal(await page.text(), '<h1>over tls</h1>');
});

test('over wss large messages arrive whole and close codes go both ways', async () => {
  const client = await Client.open(host.url, { ca: ca() });
  const big = 'x'.repeat(60_000); // several TLS records each way
  assert.equal(await client.ask('echo', big), big);
  client.send('close', '4001');
  const closed = await client.waitClosed();
  assert.deepEqual(closed, { code: 4001, reason: 'probe closes' });

  const other = await Client.open(host.url, { ca: ca() });
  assert.equal(await other.ask('echo', 'still here'), 'still here');
  await other.close(1000);
  const probe = await Client.open(host.url, { ca: ca() });
  assert.equal(await probe.ask('last_close_code'), '1000');
  await probe.close();
});

test('a plain client to the TLS port fails cleanly and the host keeps serving', async () => {
  // A plain HTTP request gets a plain 400 that says why, as nginx answers it.
  const answer = await plainExchange('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(answer, /this port speaks TLS: use https:\/\/ or wss:\/\//);
  // A ws:// client sees that answer as a failed upgrade.
  await assert.rejects(Client.open(`ws://127.0.0.1:${host.port}`), { status: 400 });
  // Bytes that are neither TLS nor HTTP: the connection is closed.
  assert.equal(await plainExchange('\x00\x01hello\r\n\r\n'), '');

  const client = await Client.open(host.url, { ca: ca() });
  assert.equal(await client.ask('echo', 'after the plain ones'), 'after the plain ones');
  await client.close();
  assert.equal(await (await fetch(`https://127.0.0.1:${host.port}/healthz`)).text(), 'ok\n');
});

test('a handshake not done --tls-handshake-timeout after accept is cut, counted and logged; a failed one is counted too', async (t) => {
  const quick = await startHost({
    plugins: { '10-probe.so': testPlugin('probe') },
    args: ['--tls-cert', first.cert, '--tls-key', first.key, '--tls-handshake-timeout', '1'],
  });
  t.after(() => quick.stop());
  const tcp = (bytes) => new Promise((resolve, reject) => {
    const socket = tcpConnect(quick.port, '127.0.0.1', () => bytes && socket.write(bytes));
    socket.ended = null;
    socket.on('close', () => (socket.ended = true));
    socket.on('error', () => {});
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
  const silent = await tcp(null);
  // A TLS record header that promises a ClientHello which never comes.
  const stalled = await tcp(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01]));
  for (const s of [silent, stalled]) await waitFor(() => s.ended, 'the host to cut the handshake', 15_000);
  assert.equal(await plainExchangeTo(quick.port, '\x00\x01hello\r\n\r\n'), ''); // not TLS: fails at once

  const page = await (await fetch(`${quick.httpUrl}/metrics`)).text();
  assert.match(page, /^microsockets_tls_handshakes_failed_total\{reason="timeout"\} 2$/m);
  assert.match(page, /^microsockets_tls_handshakes_failed_total\{reason="error"\} 1$/m);
  assert.match(quick.log(), /tls: handshake with 127\.0\.0\.1:\d+ cut after --tls-handshake-timeout \(1 s\)/);
  assert.match(quick.log(), /tls: handshake with 127\.0\.0\.1:\d+ failed: /);
  // A client that closes before sending a byte began no handshake: not counted.
  (await tcp(null)).destroy();
  const client = await Client.open(quick.url, { ca: ca() });
  assert.equal(await client.ask('echo', 'served meanwhile'), 'served meanwhile');
  await client.close();
  assert.match(await (await fetch(`${quick.httpUrl}/metrics`)).text(), /^microsockets_tls_handshakes_failed_total\{reason="error"\} 1$/m);
});

test('SIGHUP re-reads a changed certificate: new connections get it, open ones carry on', async () => {
  const open = await Client.open(host.url, { ca: ca() });
  assert.equal((await servedCertificate()).fingerprint256, fingerprint(first.pem));

  copyFileSync(second.cert, join(base, 'server.crt'));
  copyFileSync(second.key, join(base, 'server.key'));
  host.proc.kill('SIGHUP');
  await host.waitForLog(/TLS certificate reloaded: CN=microsockets-second, valid until /);

  const served = await servedCertificate();
  assert.equal(served.fingerprint256, fingerprint(second.pem));
  assert.equal(served.subject, 'CN=microsockets-second');
  assert.equal(await open.ask('echo', 'same connection'), 'same connection');
  const fresh = await Client.open(host.url, { ca: [second.pem] });
  assert.equal(await fresh.ask('echo', 'new certificate'), 'new certificate');
  await Promise.all([open.close(), fresh.close()]);
});

test('a bad certificate on SIGHUP leaves the previous one serving, with one log line', async () => {
  const before = (await servedCertificate()).fingerprint256;
  // A key that is not the certificate's: the pair is refused as a whole.
  copyFileSync(first.key, join(base, 'server.key'));
  host.proc.kill('SIGHUP');
  await host.waitForLog(/TLS certificate not reloaded/);
  const lines = host.log().split('\n').filter((l) => /TLS certificate not reloaded/.test(l));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /the previous one stays: TLS key '.*server\.key' does not match certificate '.*server\.crt'/);
  assert.equal((await servedCertificate()).fingerprint256, before);
  assert.equal(await (await fetch(`https://127.0.0.1:${host.port}/healthz`)).text(), 'ok\n');
});

test('a missing or mismatched certificate stops the start with one line and exit code 1', () => {
  const plugins = mkdtempSync(join(base, 'plugins-'));
  const run = (...args) => spawnSync(env.host, ['--port', '0', '--plugins', plugins, ...args],
    { encoding: 'utf8', timeout: 10000 });
  const encrypted = join(base, 'encrypted.key');
  execFileSync('openssl', ['pkey', '-in', first.key, '-aes256', '-passout', 'pass:secret', '-out', encrypted]);
  const cases = [
    [[base, first.key], /^microsockets: cannot read TLS certificate '.*': Is a directory$/],
    [[first.cert, encrypted], /^microsockets: TLS key '.*encrypted\.key' holds no PEM private key without a passphrase$/],
    [[join(base, 'missing.crt'), first.key], /^microsockets: cannot read TLS certificate '.*missing\.crt': No such file or directory$/],
    [[first.cert, join(base, 'missing.key')], /^microsockets: cannot read TLS key '.*missing\.key': No such file or directory$/],
    [[first.cert, second.key], /^microsockets: TLS key '.*second\.key' does not match certificate '.*first\.crt'$/],
    [[first.key, first.key], /^microsockets: TLS certificate '.*first\.key' holds no PEM certificate$/],
  ];
  for (const [[cert, key], message] of cases) {
    const r = run('--tls-cert', cert, '--tls-key', key);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), message);
  }
  const alone = run('--tls-cert', first.cert);
  assert.equal(alone.status, 2);
  assert.match(alone.stderr.trim(), /^microsockets: --tls-cert and --tls-key go together \(see --help\)$/);
});
