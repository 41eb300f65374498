// The watchdog: a plugin call that does not return is named (log line,
// /metrics, /healthz's 503), its worker gets no new connections while
// another is free, SIGTERM still ends the host within --close-timeout, and
// --watchdog-kill ends it with SIGABRT naming the plugin.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, env, metrics, startHost, testPlugin, waitFor } from './harness.mjs';

const plugins = { '10-faulty.so': testPlugin('faulty') };
const slowLine = (event) =>
  new RegExp(`watchdog: worker (\\d+) has been in plugin 'faulty' \\([^)]*10-faulty\\.so, modified [^)]*\\) handler for event '${event}' for [\\d.]+ s`, 'g');

// How the host ended, or a failure past `ms`.
async function exitWithin(host, ms) {
  let timer;
  const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`host still running after ${ms} ms:\n${host.log()}`)), ms)));
  try {
    return await Promise.race([host.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

// Clients until one is on each worker: { 0: client, 1: client }.
async function onEachWorker(host, threads) {
  const found = {};
  while (Object.keys(found).length < threads) {
    const c = await Client.open(host.url);
    const worker = await c.ask('where');
    if (found[worker]) c.ws.close();
    else found[worker] = c;
  }
  return found;
}

const health = async (host) => {
  const res = await fetch(`${host.httpUrl}/healthz`);
  return { status: res.status, body: await res.text() };
};

test('a 5 s sleep is logged once, /healthz answers 503 naming it and ok once it returns; the other worker serves throughout', async (t) => {
  const host = await startHost({ plugins, args: ['--threads', '2'] });
  t.after(() => host.stop());
  const clients = await onEachWorker(host, 2);
  const [sleeper, other] = [clients[0], clients[1]];
  sleeper.send('sleep', '5000');
  await host.waitForLog(slowLine('sleep'));
  assert.equal([...host.log().matchAll(slowLine('sleep'))][0][1], '0');

  const stuck = await health(host);
  assert.equal(stuck.status, 503);
  assert.match(stuck.body, /^stuck: .*\nworker 0: [\d.]+ s in plugin 'faulty' \(.*10-faulty\.so.*\) handler for event 'sleep'\n/);
  const during = await metrics(host);
  assert.equal(during.slow_handlers_total, 1);
  assert.equal(during.workers_stuck, 1);
  // The other worker's client is served, and new connections go to it.
  assert.equal(await other.ask('where'), '1');
  for (let i = 0; i < 3; ++i) {
    const c = await Client.open(host.url);
    assert.equal(await c.ask('where'), '1', 'a new connection went to the stuck worker');
    c.ws.close();
  }
  assert.equal(sleeper.inbox.length, 0, 'the sleeping worker answered while it slept');

  await sleeper.next('slept', 15000);
  await waitFor(async () => (await health(host)).status === 200, '/healthz to be ok again');
  assert.equal((await health(host)).body, 'ok\n');
  await host.waitForLog(/watchdog: worker 0 is back from plugin 'faulty' .* handler for event 'sleep' after about [\d.]+ s/);
  assert.equal([...host.log().matchAll(slowLine('sleep'))].length, 1, 'logged more than once');
  const after = await metrics(host);
  assert.equal(after.slow_handlers_total, 1);
  assert.equal(after.workers_stuck, 0);
  assert.equal(await sleeper.ask('where'), '0');
});

test('--threads 1: while the only worker spins, /healthz answers 503 at once, and SIGTERM ends the host within --close-timeout', async (t) => {
  const host = await startHost({ plugins, args: ['--close-timeout', '2'] });
  t.after(() => host.stop({ killed: true }));
  const c = await Client.open(host.url);
  c.send('spin');
  await host.waitForLog(slowLine('spin'));
  const stuck = await health(host);
  assert.equal(stuck.status, 503);
  assert.match(stuck.body, /worker 0: [\d.]+ s in plugin 'faulty' .* handler for event 'spin'/);

  host.proc.kill('SIGTERM');
  // Two --close-timeouts at most (clients, then on_shutdown hooks), with slack for a loaded machine.
  assert.deepEqual(await exitWithin(host, 12000), { code: 1, signal: null });
  assert.match(host.log(), /every worker is stuck in a plugin call: on_shutdown hooks do not run/);
  assert.match(host.log(), /exiting with a worker stuck in a plugin call:\nworker 0: .* handler for event 'spin'/);
});

test('--threads 2: SIGTERM with a spinning handler closes the other worker\'s clients with 1001, runs on_shutdown there, and exits', async (t) => {
  const host = await startHost({ plugins, args: ['--threads', '2', '--close-timeout', '2'] });
  t.after(() => host.stop({ killed: true }));
  const clients = await onEachWorker(host, 2);
  clients[1].send('spin');
  await host.waitForLog(slowLine('spin'));

  host.proc.kill('SIGTERM');
  assert.equal((await clients[0].waitClosed(10000)).code, 1001);
  assert.deepEqual(await exitWithin(host, 12000), { code: 1, signal: null });
  assert.match(host.log(), /\[faulty\] on_shutdown ran/);
  assert.match(host.log(), /exiting with a worker stuck in a plugin call:\nworker 1: .* handler for event 'spin'/);
});

test('--watchdog-kill: a handler spinning that long ends the host with SIGABRT, naming the plugin and event', async (t) => {
  const host = await startHost({ plugins, args: ['--threads', '2', '--watchdog-kill', '2'],
                                 extraEnv: { ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? ''}:handle_abort=0` } });
  t.after(() => host.stop({ killed: true }));
  const clients = await onEachWorker(host, 2);
  clients[1].send('spin');
  assert.deepEqual(await exitWithin(host, 20000), { code: null, signal: 'SIGABRT' });
  assert.match(host.log(), /watchdog: worker 1 has been in plugin 'faulty' \(.*10-faulty\.so.*\) handler for event 'spin' for [\d.]+ s, over --watchdog-kill 2 s: aborting/);
  assert.match(host.log(), /^microsockets: fatal: SIGABRT on worker 1 in plugin 'faulty' \(.*10-faulty\.so.*\) handler for event 'spin', running for \d+ ms; sent by the watchdog/m);
});

test('a handler that returns within --slow-handler is not reported', async (t) => {
  const host = await startHost({ plugins, args: ['--slow-handler', '3'] });
  t.after(() => host.stop());
  const c = await Client.open(host.url);
  c.send('sleep', '1500');
  await c.next('slept', 15000);
  assert.equal((await health(host)).status, 200);
  assert.doesNotMatch(host.log(), /watchdog:/);
  assert.equal((await metrics(host)).slow_handlers_total, 0);
});

test('under systemd\'s WatchdogSec the host sends WATCHDOG=1 while no worker is stuck, and not while one is', async (t) => {
  const address = `@microsockets-watchdog-${process.pid}`;
  const proc = spawn(join(env.build, 'tests/notify_socket'), [address], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => proc.kill());
  let received = '';
  proc.stdout.on('data', (d) => (received += d));
  const pings = () => received.split('\0').filter((m) => m === 'WATCHDOG=1').length;
  await waitFor(() => received.startsWith('bound\0'), 'the notify socket to be bound');
  // WatchdogSec=0.4s: a ping every 200 ms.
  const host = await startHost({ plugins, args: ['--threads', '2'], extraEnv: { NOTIFY_SOCKET: address, WATCHDOG_USEC: '400000' } });
  t.after(() => host.stop());
  await waitFor(() => pings() >= 3, 'three WATCHDOG=1');

  const clients = await onEachWorker(host, 2);
  clients[1].send('spin');
  await host.waitForLog(slowLine('spin'));
  const whenStuck = pings();
  await waitFor(async () => Number((await health(host)).body.match(/worker 1: ([\d.]+) s/)?.[1]) >= 2.5, 'a second and a half more of the spin');
  assert.ok(pings() <= whenStuck + 1, `${pings() - whenStuck} pings while a worker was stuck`);

  assert.equal(await clients[0].ask('release', '', 'released'), '');
  await clients[1].next('spun', 15000);
  const whenBack = pings();
  await waitFor(() => pings() >= whenBack + 2, 'WATCHDOG=1 again once the worker is back');
});

test('an on_shutdown that does not return within --close-timeout is named, and the host exits anyway', async (t) => {
  const host = await startHost({ plugins, args: ['--close-timeout', '2', '--set', 'faulty.hang_on_shutdown=1'] });
  t.after(() => host.stop({ killed: true }));
  host.proc.kill('SIGTERM');
  assert.deepEqual(await exitWithin(host, 12000), { code: 1, signal: null });
  assert.match(host.log(), /on_shutdown hooks did not return within --close-timeout 2 s: still in plugin 'faulty' \(.*10-faulty\.so.*\) on_shutdown/);
});
