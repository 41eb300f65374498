// The Debian package as dpkg and systemd see it: what it installs where, the
// runtime dependencies it declares, its maintainer scripts, and a unit that
// systemd-analyze accepts with a low exposure score.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { env } from '../integration/harness.mjs';

const work = join(env.build, 'tests/package/deb');
const run = (command, args) => execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('cpack -G DEB makes a package with the host, the SDK, the plugins beside the loaded folder, and a sandboxed unit', () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  run(process.env.CPACK_COMMAND, ['-G', 'DEB', '-B', work, '--config', join(env.build, 'CPackConfig.cmake')]);
  const [deb] = readdirSync(work).filter((f) => /^microsockets_.*_amd64\.deb$/.test(f)).map((f) => join(work, f));
  assert.ok(deb, 'a microsockets_<version>_amd64.deb');

  const field = (name) => run('dpkg-deb', ['-f', deb, name]).trim();
  assert.equal(field('Package'), 'microsockets');
  assert.match(field('Version'), /^\d+\.\d+\.\d+$/);
  const depends = field('Depends').split(/,\s*/).map((d) => d.split(' ')[0]);
  for (const library of ['libboost-json1.81.0', 'libboost-program-options1.81.0', 'libboost-url1.81.0', 'libfmt9',
    'libstdc++6', 'libc6', 'procps'])
    assert.ok(depends.includes(library), `Depends names ${library}: ${field('Depends')}`);

  const files = run('dpkg-deb', ['-c', deb]).split('\n').map((line) => line.split(/\s+/)[5]).filter(Boolean);
  for (const file of ['./usr/bin/microsockets', './usr/lib/systemd/system/microsockets.service',
    './usr/lib/microsockets/plugins/', './usr/lib/microsockets/plugins-available/05-token_auth.so',
    './usr/lib/microsockets/plugins-available/10-json_payload.so', './usr/include/microsockets/plugin.h',
    './usr/lib/cmake/microsockets/microsocketsConfig.cmake', './usr/lib/pkgconfig/microsockets.pc',
    './usr/share/microsockets/chat/index.html', './usr/share/doc/microsockets/copyright'])
    assert.ok(files.includes(file), `the package holds ${file}`);
  assert.deepEqual(files.filter((f) => f.startsWith('./usr/lib/microsockets/plugins/') && f !== './usr/lib/microsockets/plugins/'), [],
    'nothing is enabled by default');
  assert.ok(files.every((f) => f.startsWith('./usr/')), 'everything under /usr');

  const root = join(work, 'root');
  run('dpkg-deb', ['-x', deb, root]);
  assert.match(run(join(root, 'usr/bin/microsockets'), ['--version']), /^microsockets \d+\.\d+\.\d+/);
  const control = join(work, 'control');
  run('dpkg-deb', ['-e', deb, control]);
  for (const script of ['postinst', 'prerm', 'postrm']) run('sh', ['-n', join(control, script)]);

  const unit = readFileSync(join(root, 'usr/lib/systemd/system/microsockets.service'), 'utf8');
  for (const line of ['Type=notify', 'ExecStart=/usr/bin/microsockets --plugins /usr/lib/microsockets/plugins $MICROSOCKETS_ARGS',
    'ExecReload=kill -HUP $MAINPID', 'DynamicUser=yes', 'NoNewPrivileges=yes', 'ProtectSystem=strict',
    'ProtectHome=yes', 'PrivateTmp=yes'])
    assert.ok(unit.split('\n').includes(line), `the unit says ${line}`);
  // systemd-analyze checks that ExecStart exists: point it at the unpacked binary.
  const checked = join(work, 'microsockets.service');
  writeFileSync(checked, unit.replaceAll('/usr/bin/microsockets', join(root, 'usr/bin/microsockets')));
  const verify = spawnSync('systemd-analyze', ['verify', checked], { encoding: 'utf8' });
  assert.deepEqual([verify.status, verify.stdout + verify.stderr], [0, ''], 'systemd-analyze verify: no error, no warning');
  // Exposure 0 (locked down) to 10 (none): systemd calls up to 2.0 "OK".
  const security = run('systemd-analyze', ['security', '--offline=yes', '--threshold=20', checked]);
  assert.match(security, /Overall exposure level for microsockets\.service: [01]\.\d OK/);
});
