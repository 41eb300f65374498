// Starts the real host binary on an ephemeral port with a plugins directory of
// its own, and gives tests WebSocket clients that queue what they receive.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Agent, setGlobalDispatcher } from 'undici';
import WebSocket from 'ws';

export const env = {
  host: process.env.MICROSOCKETS_HOST,
  testPlugins: process.env.MICROSOCKETS_TEST_PLUGINS,
  plugins: process.env.MICROSOCKETS_PLUGINS,
  chatPlugins: process.env.MICROSOCKETS_CHAT_PLUGINS,
  build: process.env.MICROSOCKETS_BUILD,
  chatWww: process.env.MICROSOCKETS_CHAT_WWW,
  sdkJs: process.env.MICROSOCKETS_SDK_JS,
  // ASan keeps freed memory in quarantine: memory figures mean nothing there.
  sanitized: process.env.MICROSOCKETS_SANITIZED === '1',
};
for (const [k, v] of Object.entries(env)) if (v === undefined) throw new Error(`set ${k} (ctest does)`);

// The transport a suite runs on: plain TCP, or TLS when ctest sets
// MICROSOCKETS_TRANSPORT=tls (the suites of the limits and of the frame codec
// run on both). Over TLS every host gets a test certificate, and every client
// here (raw sockets, ws, fetch) trusts it.
export const transport = process.env.MICROSOCKETS_TRANSPORT === 'tls' ? useTls() : { tls: false, hostArgs: [] };

function useTls() {
  const dir = mkdtempSync(join(tmpdir(), 'microsockets-cert-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const { cert, key, pem } = makeCertificate(dir, 'microsockets-test');
  setGlobalDispatcher(new Agent({ connect: { ca: pem } }));
  return { tls: true, ca: pem, hostArgs: ['--tls-cert', cert, '--tls-key', key] };
}

// A socket to 127.0.0.1:port over the suite's transport, or over plain TCP
// with { tls: false }; `ready` runs once bytes can be sent (after the TLS
// handshake).
export function connectSocket(port, ready, { tls = transport.tls } = {}) {
  return tls ? tlsConnect({ host: '127.0.0.1', port, ca: transport.ca }, ready) : netConnect(port, '127.0.0.1', ready);
}

export const DEADLINE_MS = 5000;
// The host gives clients 5 s to answer its 1001 close at shutdown; past that
// and some slack (ASan is slower), a host that has not exited is stuck.
export const STOP_TIMEOUT_MS = 15000;

// Polls `check` until it returns a truthy value or the deadline passes.
export async function waitFor(check, what, ms = DEADLINE_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// files: { '10-probe.so': '/path/to/probe.so', 'notes.txt': { text: '...' } }
export function pluginDir(files) {
  const dir = mkdtempSync(join(tmpdir(), 'microsockets-test-'));
  for (const [name, source] of Object.entries(files)) {
    if (typeof source === 'string') copyFileSync(source, join(dir, name));
    else writeFileSync(join(dir, name), source.text);
  }
  return dir;
}

export const testPlugin = (name) => join(env.testPlugins, `${name}.so`);

// binary: another host executable than the build's, e.g. an installed one.
// beforeStart(pid), if given, runs before the host binary does, knowing the
// pid it will have: a shell with that pid waits for it, then execs the host.
// fdLimit: the host starts under `ulimit -n fdLimit` (exec'd too: same pid).
export async function startHost({ plugins, args = [], extraEnv = {}, port = 0, binary = env.host, beforeStart, fdLimit }) {
  const dir = typeof plugins === 'string' ? plugins : pluginDir(plugins);
  const tlsArgs = args.includes('--tls-cert') ? [] : transport.hostArgs;
  const argv = ['--port', String(port), '--plugins', dir, '--log-level', 'debug', ...tlsArgs, ...args];
  const options = { env: { ...process.env, ...extraEnv }, stdio: [beforeStart ? 'pipe' : 'ignore', 'pipe', 'pipe'] };
  const prelude = (fdLimit ? `ulimit -n ${Number(fdLimit)} && ` : '') + (beforeStart ? 'read go && ' : '');
  const proc = prelude
    ? spawn('sh', ['-c', `${prelude}exec "$0" "$@"`, binary, ...argv], options)
    : spawn(binary, argv, options);
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  // 'close', not 'exit': a sanitizer's report at exit is in the log only once
  // the host's output streams have been read to the end.
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  let exit = null;
  exited.then((e) => (exit = e));

  if (beforeStart) {
    await beforeStart(proc.pid);
    proc.stdin.end('go\n');
  }
  const listening = await waitFor(() => {
    if (exit) throw new Error(`host exited (${JSON.stringify(exit)}) before listening:\n${log}`);
    return log.match(/listening on (wss?):\/\/[\d.]+:(\d+)/);
  }, 'the host to listen');
  const [, scheme, boundPort] = listening;

  return {
    port: Number(boundPort),
    url: `${scheme}://127.0.0.1:${boundPort}`,
    httpUrl: `${scheme === 'wss' ? 'https' : 'http'}://127.0.0.1:${boundPort}`,
    dir,
    proc,
    log: () => log,
    exited,
    waitForLog: (pattern) => waitFor(() => pattern.test(log), `log line ${pattern}`),
    // Ends the host as a user would, with SIGTERM, so that its shutdown path
    // runs (and LeakSanitizer checks it, in the sanitizer build); fails unless
    // it exits 0 without a sanitizer report. SIGKILL only after STOP_TIMEOUT_MS,
    // and that fails too. A test that killed the host on purpose says so:
    // stop({ killed: true }) accepts the exit it already saw.
    async stop({ keepPlugins = false, killed = false } = {}) {
      let timedOut = false;
      if (!exit) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => {
          timedOut = true;
          proc.kill('SIGKILL');
        }, STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      if (!keepPlugins) rmSync(dir, { recursive: true, force: true });
      const report = log.match(/(ERROR: \w+Sanitizer|runtime error:).*/);
      if (report) throw new Error(`sanitizer report from the host: ${report[0]}\n${log}`);
      if (timedOut) throw new Error(`host did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM; killed:\n${log}`);
      if (!killed && (exit.code !== 0 || exit.signal))
        throw new Error(`host exited uncleanly (${JSON.stringify(exit)}):\n${log}`);
    },
  };
}

// A client that keeps every event it receives, for tests to take in order.
export class Client {
  // options: ws's, e.g. headers, or ca for a wss:// host with a test certificate.
  static async open(url, { protocols, ...options } = {}) {
    const client = new Client(new WebSocket(url, protocols, { ca: transport.ca, ...options }));
    await new Promise((resolve, reject) => {
      client.ws.once('open', resolve);
      client.ws.once('error', reject);
      client.ws.once('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })));
      });
    });
    return client;
  }

  constructor(ws) {
    this.ws = ws;
    this.inbox = [];
    this.closed = null;
    ws.on('message', (data, isBinary) => this.inbox.push(isBinary ? { binary: data } : JSON.parse(data.toString())));
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    ws.on('error', () => {});
  }

  send(event, payload = '') {
    this.ws.send(JSON.stringify({ event, payload }));
  }

  sendRaw(data, options) {
    this.ws.send(data, options);
  }

  // The next message received, which must be `event`; returns its payload.
  async next(event, ms = DEADLINE_MS) {
    const message = await waitFor(() => this.inbox.shift(), `event "${event}"`, ms);
    if (message.event !== event) throw new Error(`expected "${event}", got ${JSON.stringify(message)}`);
    return message.payload;
  }

  // Sends `event` and returns the payload of the reply, by default of the same name.
  async ask(event, payload = '', reply = event) {
    this.send(event, payload);
    return this.next(reply);
  }

  async waitClosed(ms = DEADLINE_MS) {
    return waitFor(() => this.closed, 'the connection to close', ms);
  }

  close(code) {
    this.ws.close(code);
    return this.waitClosed();
  }
}

// The host's /metrics page as { name: number }: the name without the
// microsockets_ prefix, with its labels as written, e.g.
// metrics.connections_open, metrics['plugin_reloads_total{plugin="chat"}'].
export async function metrics(host) {
  const answer = await fetch(`${host.httpUrl}/metrics`);
  // A 503 (the host is past --max-connections) has no samples: not a reading of zero.
  if (!answer.ok) throw new Error(`/metrics answered ${answer.status}`);
  const text = await answer.text();
  const samples = {};
  for (const line of text.trim().split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples[line.slice(0, space).replace(/^microsockets_/, '')] = Number(line.slice(space + 1));
  }
  return samples;
}

// Stops `host` when test `t` ends, passed or failed.
export function stopAfter(t, host) {
  t.after(() => host.stop());
  return host;
}

// A self-signed certificate for 127.0.0.1 in `dir`, made with openssl as a user
// would: { cert, key } paths and the certificate's PEM text.
export function makeCertificate(dir, name) {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  return { cert, key, pem: readFileSync(cert, 'utf8') };
}
