// --static: files from one directory over plain HTTP, and nothing outside it.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startHost, testPlugin } from './harness.mjs';

let host;
let base;
before(async () => {
  base = mkdtempSync(join(tmpdir(), 'microsockets-static-'));
  const root = join(base, 'www');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'index.html'), '<h1>index</h1>');
  writeFileSync(join(root, 'app.js'), 'export {}');
  writeFileSync(join(root, 'style.css'), 'body{}');
  writeFileSync(join(root, 'sub', 'page.html'), 'sub page');
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
