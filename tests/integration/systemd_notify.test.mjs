// The host tells systemd what it does through $NOTIFY_SOCKET (Type=notify):
// READY=1 once it listens, RELOADING=1 then READY=1 around a SIGHUP reload,
// STOPPING=1 when it shuts down. The test plays systemd's socket.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, env, startHost, testPlugin, waitFor } from './harness.mjs';

// An AF_UNIX datagram socket at `address`, and the messages it received.
async function notifySocket(t, address) {
  const proc = spawn(join(env.build, 'tests/notify_socket'), [address], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => proc.kill());
  let received = '';
  proc.stdout.on('data', (d) => (received += d));
  const lines = () => received.split('\0').slice(0, -1);
  await waitFor(() => lines()[0] === 'bound', 'the notify socket to be bound');
  const messages = () => lines().slice(1);
  return { messages, waitFor: (n, what) => waitFor(() => messages().length >= n, what) };
}

async function notifiesThroughout(t, address) {
  const systemd = await notifySocket(t, address);
  const host = await startHost({ plugins: { '10-probe.so': testPlugin('probe') }, extraEnv: { NOTIFY_SOCKET: address } });
  t.after(() => host.stop());

  await systemd.waitFor(1, 'READY=1');
  assert.deepEqual(systemd.messages(), ['READY=1']);
  const c = await Client.open(host.url);  // ready means serving
  assert.equal(await c.ask('echo', 'ready'), 'ready');
  await c.close();

  host.proc.kill('SIGHUP');
  await systemd.waitFor(3, 'RELOADING=1 and READY=1');
  const [, reloading, readyAgain] = systemd.messages();
  assert.match(reloading, /^RELOADING=1\nMONOTONIC_USEC=\d+$/);
  assert.equal(readyAgain, 'READY=1');

  host.proc.kill('SIGTERM');
  assert.deepEqual(await host.exited, { code: 0, signal: null });
  await systemd.waitFor(4, 'STOPPING=1');
  assert.deepEqual(systemd.messages().slice(3), ['STOPPING=1']);
}

test('with NOTIFY_SOCKET a socket path, the host notifies ready, reloading, ready, stopping', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'microsockets-notify-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await notifiesThroughout(t, join(dir, 'notify'));
});

test('with NOTIFY_SOCKET an abstract name (@...), the host notifies the same', async (t) => {
  await notifiesThroughout(t, `@microsockets-test-${process.pid}`);
});

test('a NOTIFY_SOCKET nobody listens on changes nothing', async (t) => {
  const host = await startHost({ plugins: { '10-probe.so': testPlugin('probe') },
                                 extraEnv: { NOTIFY_SOCKET: `@microsockets-nobody-${process.pid}` } });
  t.after(() => host.stop());
  const c = await Client.open(host.url);
  assert.equal(await c.ask('echo', 'still serving'), 'still serving');
  await c.close();
});
