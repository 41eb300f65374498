// The host executable: flags, startup errors, signals, health pages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { Client, env, startHost, testPlugin, stopAfter } from './harness.mjs';

const run = (...args) => spawnSync(env.host, args, { encoding: 'utf8', timeout: 10000 });

test('--help lists every flag and exits 0', () => {
  const r = run('--help');
  assert.equal(r.status, 0);
  for (const flag of ['--host', '--port', '--plugins', '--threads', '--log-level', '--set', '--version'])
    assert.match(r.stdout, new RegExp(flag));
});

test('--version prints the version', () => {
  const r = run('--version');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^microsockets \d+\.\d+\.\d+/);
});

test('a bad flag is one line on stderr and exit code 2', () => {
  for (const args of [['--bogus'], ['--port', 'eighty'], ['--log-level', 'loud'], ['--threads', '0'], ['--set', 'nodot']]) {
    const r = run(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^microsockets: .*\(see --help\)$/m);
  }
});

test('a missing plugins directory is one clear line and exit code 1', () => {
  const r = run('--port', '0', '--plugins', '/nonexistent/plugins');
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim(), "microsockets: plugins directory '/nonexistent/plugins' does not exist");
});

test('a port in use is one clear line and exit code 1', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: { '10-probe.so': testPlugin('probe') } }));
  const r = run('--port', String(host.port), '--plugins', host.dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`^microsockets: cannot listen on 127\\.0\\.0\\.1:${host.port}: Address already in use$`, 'm'));
});

test('SIGTERM closes clients with 1001, runs on_shutdown and exits 0', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: { '10-probe.so': testPlugin('probe') } }));
  const clients = await Promise.all([Client.open(host.url), Client.open(host.url)]);
  assert.equal(await clients[0].ask('echo', 'up'), 'up');
  host.proc.kill('SIGTERM');
  for (const c of clients) assert.equal((await c.waitClosed()).code, 1001);
  const exit = await host.exited;
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.match(host.log(), /\[probe\] probe shut down/);
});

test('SIGINT shuts down cleanly too', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: { '10-probe.so': testPlugin('probe') } }));
  host.proc.kill('SIGINT');
  assert.deepEqual(await host.exited, { code: 0, signal: null });
});

test('the host logs its plugins with their events, and serves /healthz', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: { '10-probe.so': testPlugin('probe') }, args: ['--threads', '2'] }));
  assert.match(host.log(), /loaded plugin 'probe' \(10-probe\.so\): events \[echo, echo_json, join/);
  assert.match(host.log(), /listening on ws:\/\/127\.0\.0\.1:\d+ with 2 threads/);
  const res = await fetch(`http://127.0.0.1:${host.port}/healthz`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'ok\n');
  assert.equal((await fetch(`http://127.0.0.1:${host.port}/nothing-here`)).status, 404);
});
