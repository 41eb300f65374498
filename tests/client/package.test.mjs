// The npm package as a user gets it: `npm pack`, then installed from the
// tarball in a clean folder (offline: it has no dependencies), then imported
// as an ES module, loaded as a <script>, and type-checked.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { env, startHost, testPlugin } from '../integration/harness.mjs';

const require = createRequire(import.meta.url);
let base;
let app;
let tarball;
before(() => {
  base = mkdtempSync(join(tmpdir(), 'microsockets-npm-'));
  // Packed from a copy, so that its build (npm's prepare) never rewrites the
  // dist/ another test is reading.
  const source = join(base, 'source');
  cpSync(env.sdkJs, source, { recursive: true, filter: (p) => !/\/(node_modules|dist)$/.test(p) });
  symlinkSync(join(env.sdkJs, 'node_modules'), join(source, 'node_modules'));
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', base], { cwd: source, encoding: 'utf8' });
  tarball = join(base, name.trim().split('\n').pop());
  app = join(base, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app });
});
after(() => rmSync(base, { recursive: true, force: true }));

// Runs an ES module in the app folder; returns what it printed, parsed.
function runInApp(code, extraEnv = {}) {
  writeFileSync(join(app, 'check.mjs'), code);
  const r = spawnSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8', env: { ...process.env, ...extraEnv } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('the tarball holds the sources, the minified script with its map, the types and the license', () => {
  const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
  assert.deepEqual(files, [
    'package/LICENSE',
    'package/README.md',
    'package/dist/microsockets.global.js',
    'package/dist/microsockets.global.js.map',
    'package/global.d.ts',
    'package/microsockets.d.ts',
    'package/package.json',
    'package/src/microsockets.js',
  ]);
  assert.match(readFileSync(join(app, 'node_modules/microsockets/LICENSE'), 'utf8'), /^MIT License/);
});

test('the installed package imports as an ES module and talks to the real host', async (t) => {
  const host = await startHost({ plugins: { '10-probe.so': testPlugin('probe') } });
  t.after(() => host.stop());
  const result = runInApp(`
    import { MicroSocket } from 'microsockets';
    import { createRequire } from 'node:module';
    const pkg = createRequire(import.meta.url)('microsockets/package.json');
    const { WebSocket } = await import(process.env.UNDICI);
    const ws = MicroSocket(process.env.URL, undefined, { WebSocket });
    ws.on('echo', (payload) => {
      console.log(JSON.stringify({ version: pkg.version, payload, reconnecting: typeof MicroSocket.reconnecting }));
      ws.close();
    });
    ws.addEventListener('open', () => ws.send('echo', 'from the tarball'));
  `, { URL: host.url, UNDICI: require.resolve('undici') });
  assert.deepEqual(result, { version: '1.1.0', payload: 'from the tarball', reconnecting: 'function' });
});

test('without any WebSocket implementation the error says what to do', () => {
  const result = runInApp(`
    delete globalThis.WebSocket;  // as on Node.js before 22
    import { MicroSocket, ReconnectingMicroSocket } from 'microsockets';
    const messages = [];
    for (const make of [() => MicroSocket('ws://127.0.0.1:1'), () => new ReconnectingMicroSocket('ws://127.0.0.1:1')])
      try { make(); } catch (e) { messages.push(e instanceof TypeError && e.message); }
    console.log(JSON.stringify(messages));
  `);
  assert.equal(result.length, 2);
  for (const message of result) assert.match(message, /no WebSocket implementation.*pass one as the WebSocket option/);
});

test('microsockets/global is the minified <script> build, with its source map', () => {
  const result = runInApp(`
    import { createRequire } from 'node:module';
    import { readFileSync } from 'node:fs';
    import { runInThisContext } from 'node:vm';
    const file = createRequire(import.meta.url).resolve('microsockets/global');
    const code = readFileSync(file, 'utf8');
    runInThisContext(code);
    const map = JSON.parse(readFileSync(file + '.map', 'utf8'));
    console.log(JSON.stringify({
      defined: typeof globalThis.MicroSocket, lines: code.trim().split('\\n').length,
      mapped: code.endsWith('//# sourceMappingURL=microsockets.global.js.map\\n'), sources: map.sources,
    }));
  `);
  assert.equal(result.defined, 'function');
  assert.ok(result.lines <= 4, 'minified');
  assert.ok(result.mapped);
  assert.ok(result.sources.some((s) => s.endsWith('src/microsockets.js')), result.sources.join());
});

test('the types of the installed package check, for the module and for ./global', () => {
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022', 'dom'], types: [],
      skipLibCheck: true, // the standard library's declarations are not ours to check; ours are, through usage.ts
    },
    files: ['usage.ts'],
  }));
  writeFileSync(join(app, 'usage.ts'), `
    import { MicroSocket } from 'microsockets';
    import 'microsockets/global';
    const ws = MicroSocket('ws://127.0.0.1:8000/');
    ws.on<string>('joined', (payload) => payload.length);
    const global = globalThis.MicroSocket('ws://127.0.0.1:8000/');
    global.send('join', 'tea');
    // @ts-expect-error an event name is a string: the types are really checked
    global.on(42, () => {});
  `);
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(app, 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
