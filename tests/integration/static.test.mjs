// --static: files from one directory over plain HTTP, and nothing outside it.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startHost, testPlugin } from './harness.mjs';

let host;
let base;
let root;
before(async () => {
  base = mkdtempSync(join(tmpdir(), 'microsockets-static-'));
  root = join(base, 'www');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'index.html'), '<h1>index</h1>');
  writeFileSync(join(root, 'app.js'), 'export {}');
  writeFileSync(join(root, 'style.css'), 'body{}');
  writeFileSync(join(root, 'sub', 'page.html'), 'sub page');
  writeFileSync(join(root, 'sub', 'index.html'), 'sub index');
  for (const name of ['font.woff2', 'logo.svg', 'data.json', 'module.wasm', 'blob.unknownext']) writeFileSync(join(root, name), 'x');
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  symlinkSync(join(outside), join(root, 'link-out'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link-file'));
  symlinkSync(join(root, 'sub', 'page.html'), join(root, 'inside-link.html'));
  host = await startHost({ plugins: { '10-probe.so': testPlugin('probe') }, args: ['--static', root] });
});
after(async () => {
  await host.stop();
  rmSync(base, { recursive: true, force: true });
});

// An HTTP/1.1 request with the target exactly as given (fetch would normalise it).
function rawGet(target) {
  return new Promise((resolve, reject) => {
    const socket = connect(host.port, '127.0.0.1', () =>
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
    );
    let response = '';
    socket.on('data', (d) => (response += d));
    socket.on('end', () => resolve({ status: Number(response.split(' ')[1]), body: response.split('\r\n\r\n')[1] }));
    socket.on('error', reject);
  });
}

test('files are served with their content types, / and directories as index.html', async () => {
  const cases = [
    ['/', 'text/html; charset=utf-8', '<h1>index</h1>'],
    ['/index.html', 'text/html; charset=utf-8', '<h1>index</h1>'],
    ['/app.js', 'text/javascript; charset=utf-8', 'export {}'],
    ['/style.css', 'text/css; charset=utf-8', 'body{}'],
    ['/sub/page.html?v=1', 'text/html; charset=utf-8', 'sub page'],
    ['/sub/', 'text/html; charset=utf-8', 'sub index'],
    ['/inside-link.html', 'text/html; charset=utf-8', 'sub page'],
  ];
  for (const [path, type, body] of cases) {
    const res = await fetch(`http://127.0.0.1:${host.port}${path}`);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('content-type'), type, path);
    assert.equal(await res.text(), body, path);
  }
});

test('HEAD gives the length without the body', async () => {
  const res = await fetch(`http://127.0.0.1:${host.port}/app.js`, { method: 'HEAD' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-length'), '9');
});

test('nothing outside the directory is served: dots, encoded dots, absolute paths, symlinks out', async () => {
  const targets = [
    '/../outside/secret.txt',
    '/sub/../../outside/secret.txt',
    '/%2e%2e/outside/secret.txt',
    '/%2E%2E%2Foutside%2Fsecret.txt',
    '/sub/%2e%2e/%2e%2e/outside/secret.txt',
    '/..%5Coutside%5Csecret.txt',
    '//etc/passwd',
    '/etc/passwd',
    'http://127.0.0.1/etc/passwd',
    '/link-out/secret.txt',
    '/link-file',
    '/missing.html',
    '/sub/%00page.html',
  ];
  for (const target of targets) {
    const res = await rawGet(target);
    assert.equal(res.status, 404, target);
    assert.doesNotMatch(res.body ?? '', /secret|root:/, target);
  }
});

test('a missing --static directory is one clear line at startup', async () => {
  await assert.rejects(
    startHost({ plugins: { '10-probe.so': testPlugin('probe') }, args: ['--static', join(base, 'nope')] }),
    /static directory '.*nope' does not exist/,
  );
});

const url = (path) => `http://127.0.0.1:${host.port}${path}`;

test('content types come from /etc/mime.types, text with charset=utf-8', async () => {
  const cases = {
    '/font.woff2': 'font/woff2',
    '/logo.svg': 'image/svg+xml',
    '/data.json': 'application/json',
    '/module.wasm': 'application/wasm',
    '/blob.unknownext': 'application/octet-stream',
  };
  for (const [path, type] of Object.entries(cases))
    assert.equal((await fetch(url(path))).headers.get('content-type'), type, path);
});

test('files carry an ETag, Last-Modified and Cache-Control: no-cache', async () => {
  const res = await fetch(url('/app.js'));
  assert.match(res.headers.get('etag'), /^"[0-9a-f]+-9"$/);
  assert.match(res.headers.get('last-modified'), /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
});

test('a matching If-None-Match or If-Modified-Since gets 304 without a body', async () => {
  const first = await fetch(url('/style.css'));
  const etag = first.headers.get('etag');
  const modified = first.headers.get('last-modified');
  const ask = (headers, method = 'GET') => fetch(url('/style.css'), { headers, method });
  for (const headers of [
    { 'if-none-match': etag },
    { 'if-none-match': `W/${etag}` },
    { 'if-none-match': `"other", ${etag}` },
    { 'if-none-match': '*' },
    { 'if-modified-since': modified },
    { 'if-modified-since': new Date(Date.parse(modified) + 60_000).toUTCString() },
  ]) {
    const res = await ask(headers);
    assert.equal(res.status, 304, JSON.stringify(headers));
    assert.equal(res.headers.get('etag'), etag);
    assert.equal(await res.text(), '');
  }
  assert.equal((await ask({ 'if-none-match': etag }, 'HEAD')).status, 304);
  // Otherwise the whole file; If-None-Match decides alone when both are sent.
  for (const headers of [
    { 'if-none-match': '"other"' },
    { 'if-none-match': '"other"', 'if-modified-since': modified },
    { 'if-modified-since': new Date(Date.parse(modified) - 60_000).toUTCString() },
    { 'if-modified-since': 'not a date' },
  ]) {
    const res = await ask(headers);
    assert.equal(res.status, 200, JSON.stringify(headers));
    assert.equal(await res.text(), 'body{}');
  }
});

test('a changed file has a new ETag, and the old one no longer gets 304', async () => {
  const path = join(root, 'changing.txt');
  writeFileSync(path, 'one');
  utimesSync(path, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
  const before = await fetch(url('/changing.txt'));
  assert.equal(before.headers.get('last-modified'), 'Thu, 01 Jan 2026 00:00:00 GMT');
  writeFileSync(path, 'two');
  const res = await fetch(url('/changing.txt'), { headers: { 'if-none-match': before.headers.get('etag') } });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'two');
  assert.notEqual(res.headers.get('etag'), before.headers.get('etag'));
});

test('a directory without its trailing slash redirects (301) to the slash form, query kept', async () => {
  for (const [path, location] of [['/sub', '/sub/'], ['/sub?x=1', '/sub/?x=1']]) {
    const res = await fetch(url(path), { redirect: 'manual' });
    assert.equal(res.status, 301, path);
    assert.equal(res.headers.get('location'), location, path);
  }
  const followed = await fetch(url('/sub'));
  assert.equal(followed.url, url('/sub/'));
  assert.equal(await followed.text(), 'sub index');
  assert.equal((await rawGet('/link-out')).status, 404, 'a directory outside is not redirected to');
});
