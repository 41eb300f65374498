// A crash names its cause: a handler that dereferences null, aborts or
// overflows its stack kills the host as before (the same signal, for the
// supervisor and the core dump), but first one line names the signal, the
// worker, the plugin's file and version and the event, and a backtrace follows.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, startHost, testPlugin } from './harness.mjs';

// How the host ended, or a failure past `ms`.
async function exitWithin(host, ms, what = 'the host to exit') {
  let timer;
  const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}:\n${host.log()}`)), ms)));
  try {
    return await Promise.race([host.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

// ASan would report these signals itself, in place of the host's handler.
const sanitizerLetsThrough = { ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? ''}:handle_segv=0:handle_abort=0` };

async function crashOn(t, event, threads) {
  const host = await startHost({ plugins: { '10-faulty.so': testPlugin('faulty') }, args: ['--threads', String(threads)],
                                 extraEnv: sanitizerLetsThrough });
  t.after(() => host.stop({ killed: true }));
  const c = await Client.open(host.url);
  const worker = await c.ask('where');
  c.send(event);
  const exit = await exitWithin(host, 30000, 'the host to die');
  return { host, exit, worker };
}

function assertCrashLine(host, signal, worker, event) {
  const line = host.log().match(/^microsockets: fatal: .*$/m)?.[0];
  assert.ok(line, `no crash line in:\n${host.log()}`);
  const file = join(host.dir, '10-faulty.so');
  const named = new RegExp(`^microsockets: fatal: ${signal}.* on worker ${worker} in plugin 'faulty' \\(([^,]+), ` +
                           `modified \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\) handler for event '${event}'`);
  const match = line.match(named);
  assert.ok(match, `the crash line does not name the plugin and event: ${line}`);
  assert.equal(match[1], file);
  // backtrace_symbols_fd's frames, then the last line.
  assert.match(host.log(), /\(\+0x[0-9a-f]+\)\[0x[0-9a-f]+\]\n/);
  assert.match(host.log(), new RegExp(`^microsockets: end of backtrace, dying of ${signal}$`, 'm'));
}

test('a handler that dereferences null: the line names the plugin file and the event, and the host dies of SIGSEGV', async (t) => {
  const { host, exit, worker } = await crashOn(t, 'crash_null', 2);
  assert.deepEqual(exit, { code: null, signal: 'SIGSEGV' });
  assertCrashLine(host, 'SIGSEGV', worker, 'crash_null');
  assert.match(host.log(), /SIGSEGV at address 0x0 /);
});

test('a handler that aborts: the line names the plugin file and the event, and the host dies of SIGABRT', async (t) => {
  const { host, exit, worker } = await crashOn(t, 'crash_abort', 1);
  assert.deepEqual(exit, { code: null, signal: 'SIGABRT' });
  assertCrashLine(host, 'SIGABRT', worker, 'crash_abort');
});

test('a handler that overflows its stack is reported too (the handler runs on its own stack)', async (t) => {
  const { host, exit, worker } = await crashOn(t, 'crash_overflow', 1);
  assert.deepEqual(exit, { code: null, signal: 'SIGSEGV' });
  assertCrashLine(host, 'SIGSEGV', worker, 'crash_overflow');
});

test('a fault outside plugin code says so', async (t) => {
  const host = await startHost({ plugins: { '10-faulty.so': testPlugin('faulty') }, extraEnv: sanitizerLetsThrough });
  t.after(() => host.stop({ killed: true }));
  host.proc.kill('SIGSEGV');  // to the process: a thread without a plugin call takes it
  const exit = await exitWithin(host, 30000, 'the host to die');
  assert.deepEqual(exit, { code: null, signal: 'SIGSEGV' });
  assert.match(host.log(), /^microsockets: fatal: SIGSEGV .*on \w[\w ]+ in the host \(no plugin code was running on this thread\); backtrace:$/m);
});
