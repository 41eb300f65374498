// The host executable: flags, startup errors, signals, health pages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, env, startHost, testPlugin, stopAfter } from './harness.mjs';

const run = (...args) => spawnSync(env.host, args, { encoding: 'utf8', timeout: 10000 });
const runWith = (extraEnv, ...args) =>
  spawnSync(env.host, args, { encoding: 'utf8', timeout: 10000, env: { ...process.env, ...extraEnv } });

// A --config file in a folder of its own, removed when the test ends.
function configFile(t, text) {
  const dir = mkdtempSync(join(tmpdir(), 'microsockets-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'microsockets.conf'), text);
  return join(dir, 'microsockets.conf');
}
const probe = { '10-probe.so': testPlugin('probe') };

test('--help lists every flag with its value name, then signals, endpoints, environment and an example', () => {
  const r = run('--help');
  assert.equal(r.status, 0);
  for (const flag of ['--host ADDRESS', '--port PORT', '--plugins DIR', '--threads N', '--log-level LEVEL',
    '--log-format FORMAT', '--set PLUGIN.KEY=VALUE', '--config FILE', '--static DIR', '--version', '--watch',
    '--max-connections-per-address N', '--tls-handshake-timeout SECONDS']) {
    const [name, value = ''] = flag.split(' ');
    assert.match(r.stdout, new RegExp(`^ +(-\\w \\[ )?${name}( \\])? ${value}`, 'm'), flag);
  }
  assert.match(r.stdout, /SIGHUP +reload changed plugins \(and the TLS certificate\); every\s+other setting needs a restart/);
  for (const text of ['SIGTERM', '/healthz', '/metrics', 'MICROSOCKETS_HOST_<FLAG>', 'MICROSOCKETS_<PLUGIN>_<KEY>', 'Example:'])
    assert.ok(r.stdout.includes(text), text);
});

test('--version prints the host version and the plugin ABI version', () => {
  const r = run('--version');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^microsockets \d+\.\d+\.\d+ \(plugin ABI 1\.\d+\)$/m);
});

test('a bad flag is one line on stderr and exit code 2', () => {
  for (const args of [['--bogus'], ['--port', 'eighty'], ['--log-level', 'loud'], ['--threads', '0'], ['--set', 'nodot'],
    ['--log-format', 'xml'], ['--config', '/nonexistent/microsockets.conf'], ['--slow-handler', '0'],
    ['--watchdog-kill', '0.5'], ['--tls-handshake-timeout', '0']]) {
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

test('log lines carry the time to the millisecond', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: probe }));
  const lines = host.log().trim().split('\n');
  for (const line of lines) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info |warn |error) \S/);
});

test('--log-format json writes one object a line: time, level, message, and the plugin of plugin lines', async (t) => {
  const host = stopAfter(t, await startHost({ plugins: probe, args: ['--log-format', 'json'] }));
  host.proc.kill('SIGTERM');
  await host.exited;
  const records = host.log().trim().split('\n').map((line) => JSON.parse(line));
  for (const r of records) {
    assert.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(['debug', 'info', 'warn', 'error'].includes(r.level), r.level);
    assert.equal(typeof r.message, 'string');
  }
  assert.ok(records.some((r) => /^listening on ws:/.test(r.message)));
  assert.ok(records.some((r) => r.plugin === 'probe' && r.message === 'probe shut down'), JSON.stringify(records));
});

test('every flag also comes from MICROSOCKETS_HOST_<FLAG>, a list comma-separated', async (t) => {
  const host = stopAfter(t, await startHost({
    plugins: probe,
    extraEnv: { MICROSOCKETS_HOST_THREADS: '2', MICROSOCKETS_HOST_WATCH: 'true', MICROSOCKETS_HOST_SET: 'probe.a=1,probe.b=2' },
  }));
  assert.match(host.log(), /with 2 threads/);
  await host.waitForLog(/watching .* for plugin changes/);  // logged after the listening line
  const c = await Client.open(host.url);
  assert.equal(await c.ask('setting', 'a'), '1');
  assert.equal(await c.ask('setting', 'b'), '2');
  await c.close();
});

test('settings come from --config FILE; flags win over the environment, which wins over the file', async (t) => {
  const config = configFile(t, '# settings\nthreads = 3\nlog-format = json\nset = probe.a=file\nset = probe.b=file\n');
  const fromFile = stopAfter(t, await startHost({ plugins: probe, args: ['--config', config] }));
  assert.match(fromFile.log(), /"message":"listening on ws:.* with 3 threads"/);

  const envOverFile = stopAfter(t, await startHost({ plugins: probe, extraEnv: { MICROSOCKETS_HOST_CONFIG: config, MICROSOCKETS_HOST_THREADS: '2' } }));
  assert.match(envOverFile.log(), /with 2 threads/);

  const flagOverAll = stopAfter(t, await startHost({
    plugins: probe,
    args: ['--config', config, '--threads', '1', '--set', 'probe.a=flag'],
    extraEnv: { MICROSOCKETS_HOST_THREADS: '2' },
  }));
  assert.match(flagOverAll.log(), /with 1 thread"/);
  const c = await Client.open(flagOverAll.url);
  assert.equal(await c.ask('setting', 'a'), 'flag');
  assert.equal(await c.ask('setting', 'b'), '<none>', 'a list given as flags replaces the file\'s');
  await c.close();
});

test('an unknown variable, a bad value or an unknown name in the file is one line and exit code 2', (t) => {
  const cases = [
    [{ MICROSOCKETS_HOST_BOGUS: '1' }, [], /^microsockets: environment: unknown variable MICROSOCKETS_HOST_BOGUS/],
    [{ MICROSOCKETS_HOST_PORT: 'eighty' }, [], /^microsockets: environment: .*port/],
    [{}, ['--config', configFile(t, 'colour = blue\n')], /microsockets\.conf: .*colour/],
    [{}, ['--config', configFile(t, 'help = 1\n')], /microsockets\.conf: .*help/],
  ];
  for (const [extraEnv, args, message] of cases) {
    const r = runWith(extraEnv, '--plugins', '/nonexistent', ...args);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
  }
});

test('settings that contradict each other are refused with one line; doubtful ones are warned at start', async (t) => {
  for (const [args, message] of [
    [['--max-message', '2000000'], /--max-message 2000000 cannot be delivered within --max-output 1048576 \(a frame of it takes 2000010 bytes\)/],
    [['--max-output', '65536'], /--max-message 65536 cannot be delivered within --max-output 65536/],
    [['--max-rate', '10', '--max-rate-burst', '0.5'], /--max-rate-burst 0\.5 admits no message: it must be at least 1/],
    [['--max-control-rate', '-1'], /must not be negative/],
  ]) {
    const r = run('--plugins', '/nonexistent', ...args);
    assert.equal(r.status, 2, `${args}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
  }
  const host = stopAfter(t, await startHost({
    plugins: probe, args: ['--max-rate-burst', '5', '--max-rooms-per-connection', '0', '--max-message', '65000', '--max-output', '65004'],
  }));
  assert.match(host.log(), /warn.*--max-rate-burst has no effect without --max-rate/);
  assert.match(host.log(), /warn.*every join is refused/);
});

test('a plugin named host is refused: MICROSOCKETS_HOST_* belong to the host', async (t) => {
  const host = stopAfter(t, await startHost({
    plugins: { ...probe, '20-host.so': testPlugin('named_host') },
    args: ['--allow-missing-plugins'],
  }));
  assert.match(host.log(), /refusing plugin 'host' \(20-host\.so\): its name is reserved: MICROSOCKETS_HOST_\* configure the host itself/);
  const c = await Client.open(host.url);
  assert.equal(await c.ask('hosted', '', 'unknown'), 'hosted', 'its handler is not there');
  await c.close();
});
