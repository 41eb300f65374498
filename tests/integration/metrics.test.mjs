// /metrics: Prometheus text that promtool accepts, and numbers that follow the traffic.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, metrics, startHost, stopAfter, testPlugin, waitFor } from './harness.mjs';

const page = async (host) => {
  const res = await fetch(`http://127.0.0.1:${host.port}/metrics`);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return res.text();
};

test('the page passes promtool check metrics after traffic on two threads', async (t) => {
  const host = stopAfter(t, await startHost({
    plugins: { '10-probe.so': testPlugin('probe'), '30-bad.so': testPlugin('refused_throwing_init') },
    args: ['--threads', '2', '--allow-missing-plugins'],
  }));
  const a = await Client.open(host.url);
  assert.equal(await a.ask('echo', 'hi'), 'hi');
  assert.equal(await a.ask('no such event', '', 'unknown'), 'no such event');
  const text = await page(host);
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(check.error, undefined, 'promtool is installed by scripts/install-deps.sh');
  assert.equal(check.status, 0, `${check.stdout}${check.stderr}\n${text}`);
  // Every family has its help and type, and every sample belongs to a declared family.
  const declared = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]));
  for (const [, name] of text.matchAll(/^# HELP (\S+) /gm)) assert.ok(declared.has(name), name);
  for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
    const name = line.match(/^[a-z_]+/)[0].replace(/_(bucket|sum|count)$/, '');
    assert.ok(declared.has(name) || declared.has(line.match(/^[a-z_]+/)[0]), line);
  }
  assert.match(text, /^microsockets_build_info\{version="\d+\.\d+\.\d+",abi_version="1\.\d+"\} 1$/m);
  await a.close();
});

test('messages and bytes in and out are counted', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: { '10-probe.so': testPlugin('probe') } }));
  const a = await Client.open(host.url);
  const frame = JSON.stringify({ event: 'echo', payload: 'x'.repeat(100) });
  for (let i = 0; i < 5; i++) {
    a.sendRaw(frame);
    await a.next('echo');
  }
  const m = await metrics(host);
  assert.equal(m.messages_received_total, 5);
  assert.equal(m.messages_received_bytes_total, 5 * frame.length);
  assert.equal(m.messages_sent_total, 5);
  assert.equal(m.messages_sent_bytes_total, 5 * (frame.length + 4)); // a 4-byte header: 126 to 65535 bytes
  assert.equal(m.connections_open, 1);
  assert.equal(m.connections_accepted_total, 1);
  await a.close();
  await waitFor(async () => (await metrics(host)).connections_open === 0, 'the connection to be closed');
});

test('handler time is a histogram per registered event; unknown events share (other)', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: { '10-probe.so': testPlugin('probe') } }));
  const a = await Client.open(host.url);
  for (let i = 0; i < 3; i++) await a.ask('echo', String(i));
  for (const name of ['made up 1', 'made up 2']) assert.equal(await a.ask(name, '', 'unknown'), name);
  const m = await metrics(host);
  assert.equal(m['event_duration_seconds_count{event="echo"}'], 3);
  assert.equal(m['event_duration_seconds_bucket{event="echo",le="+Inf"}'], 3);
  assert.ok(m['event_duration_seconds_sum{event="echo"}'] > 0);
  assert.equal(m['event_duration_seconds_count{event="(other)"}'], 2);
  assert.equal(m['event_duration_seconds_count{event="join"}'], 0, 'registered events have a series from the start');
  assert.doesNotMatch(await page(host), /made up/);
  await a.close();
});

test('a room with members on two threads counts once', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: { '10-probe.so': testPlugin('probe') }, args: ['--threads', '2'] }));
  // Connections go to the threads in turn: these two land on different ones.
  const [a, b] = [await Client.open(host.url), await Client.open(host.url)];
  assert.equal(await a.ask('join', 'shared', 'joined'), 'shared');
  assert.equal(await b.ask('join', 'shared', 'joined'), 'shared');
  assert.equal(await b.ask('join', 'b only', 'joined'), 'b only');
  // With several threads the room names are published once a second.
  await waitFor(async () => (await metrics(host)).rooms === 2, 'the two rooms to count once each');
  await b.close();
  await waitFor(async () => (await metrics(host)).rooms === 1, 'b only to vanish');
  await a.close();
});

test('reloads and refusals are counted per plugin', async (t) => {
  const host = stopAfter(t, await startHost({
    plugins: {
      '10-probe.so': testPlugin('probe'),
      '20-versioned.so': testPlugin('versioned_v1'),
      '30-bad.so': testPlugin('refused_throwing_init'),
    },
    args: ['--allow-missing-plugins'],
  }));
  let m = await metrics(host);
  assert.equal(m['plugin_refusals_total{plugin="30-bad.so"}'], 1, 'a library that failed to load: its file name');
  assert.equal(m['plugin_reloads_total{plugin="versioned"}'], 0, 'a loaded plugin has its series from the start');
  assert.equal(m['plugin_refusals_total{plugin="versioned"}'], 0);

  copyFileSync(testPlugin('versioned_v2'), join(host.dir, '20-versioned.so'));
  copyFileSync(testPlugin('refused_conflicting'), join(host.dir, '40-conflicting.so'));  // claims probe's echo
  host.proc.kill('SIGHUP');
  await host.waitForLog(/reloaded plugin 'versioned'/);
  m = await metrics(host);
  assert.equal(m['plugin_reloads_total{plugin="versioned"}'], 1);
  assert.equal(m['plugin_refusals_total{plugin="conflicting"}'], 1);
  assert.equal(m.reloads_total, 1);
});
