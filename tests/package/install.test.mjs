// Installed as a plugin author finds it: `cmake --install` into a prefix, the
// plugin template built with find_package(microsockets), a C plugin built with
// plain cc and pkg-config, both against that prefix only, then the installed
// host serving both from its plugins folder.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, env, startHost, stopAfter } from '../integration/harness.mjs';

const source = process.env.MICROSOCKETS_SOURCE;
// A fixed folder, so ccache finds the plugins' compilations of the last run.
const work = join(env.build, 'tests/package/install');
const prefix = join(work, 'prefix');

function run(command, args, options = {}) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  } catch (e) {
    throw new Error(`${command} ${args.join(' ')} failed:\n${e.stdout}${e.stderr}`);
  }
}
const pkgConfig = (...args) =>
  run('pkg-config', [...args, 'microsockets'], { env: { ...process.env, PKG_CONFIG_PATH: join(prefix, 'lib/pkgconfig') } })
    .trim().split(/\s+/).filter(Boolean);

// The include folders of every compilation in a CMake build, which must all be in the prefix.
function includeDirs(buildDir) {
  const commands = JSON.parse(readFileSync(join(buildDir, 'compile_commands.json'), 'utf8'));
  return commands.flatMap((c) => [...c.command.matchAll(/(?:^|\s)-(?:I|isystem\s+)(\S+)/g)].map((m) => m[1]));
}

test('plugins built against an installed prefix only are served by the installed host', async (t) => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  run(process.env.CMAKE_COMMAND, ['--install', env.build, '--prefix', prefix]);
  for (const file of ['bin/microsockets', 'include/microsockets/abi.h', 'include/microsockets/plugin.h',
    'include/microsockets/plugin.hpp', 'lib/cmake/microsockets/microsocketsConfig.cmake',
    'lib/cmake/microsockets/microsocketsConfigVersion.cmake', 'lib/pkgconfig/microsockets.pc',
    'lib/microsockets/plugins-available/05-token_auth.so', 'lib/microsockets/plugins-available/10-json_payload.so',
    'share/microsockets/chat/index.html', 'lib/systemd/system/microsockets.service'])
    assert.ok(existsSync(join(prefix, file)), `${file} is installed`);
  const plugins = join(prefix, 'lib/microsockets/plugins');
  assert.ok(existsSync(plugins), 'the plugins folder exists, empty: nothing that refuses clients is enabled');

  // The package's version is the plugin ABI's: the same major, at most this minor.
  const versions = join(work, 'versions');
  mkdirSync(versions);
  writeFileSync(join(versions, 'CMakeLists.txt'), `cmake_minimum_required(VERSION 3.25)
project(versions LANGUAGES NONE)
foreach(asked 1 1.0 1.1 1.2 1.3 2 0.9)
  find_package(microsockets \${asked} QUIET)
  message(STATUS "asked \${asked}: \${microsockets_FOUND}")
endforeach()
`);
  const found = run(process.env.CMAKE_COMMAND, ['-S', versions, '-B', join(versions, 'build'), `-DCMAKE_PREFIX_PATH=${prefix}`]);
  assert.deepEqual([...found.matchAll(/asked ([\d.]+): (\w+)/g)].map((m) => `${m[1]} ${m[2]}`),
    ['1 1', '1.0 1', '1.1 1', '1.2 1', '1.3 0', '2 0', '0.9 0']);

  // The template, copied out of the tree as a person would, built with clang++ (the
  // helper adds -fno-gnu-unique for g++ only) and tested by its own test.
  const hello = join(work, 'hello');
  cpSync(join(source, 'template'), hello, { recursive: true });
  run(process.env.CMAKE_COMMAND, ['-S', hello, '-B', join(hello, 'build'), '-G', 'Ninja',
    `-DCMAKE_PREFIX_PATH=${prefix}`, '-DCMAKE_CXX_COMPILER=clang++', '-DCMAKE_CXX_COMPILER_LAUNCHER=ccache',
    '-DCMAKE_EXPORT_COMPILE_COMMANDS=ON']);
  run(process.env.CMAKE_COMMAND, ['--build', join(hello, 'build')]);
  for (const dir of includeDirs(join(hello, 'build'))) assert.ok(dir.startsWith(prefix), `${dir} is in the prefix`);
  assert.match(run(process.env.CTEST_COMMAND, ['--test-dir', join(hello, 'build'), '--output-on-failure']),
    /100% tests passed/);

  // A C plugin with plain cc and pkg-config.
  const cSource = join(work, 'c_echo.c');
  copyFileSync(join(source, 'examples/c-echo/c_echo.c'), cSource);
  const cflags = pkgConfig('--cflags');
  assert.ok(cflags.every((f) => !f.startsWith('-I') || f.startsWith(`-I${prefix}`)), cflags.join(' '));
  run('ccache', ['cc', '-shared', '-Wall', '-Wextra', '-Werror', ...cflags, '-o', join(plugins, '30-c_echo.so'), cSource]);
  // The same with c++ for a C++ plugin, with the flags g++ needs on top.
  const helloByPkgConfig = join(work, 'hello-pkg-config.so');
  run('ccache', ['c++', '-shared', ...cflags, ...pkgConfig('--variable=cxxflags'), ...pkgConfig('--variable=gcc_cxxflags'),
    '-o', helloByPkgConfig, join(hello, 'hello.cpp')]);
  assert.deepEqual(run('nm', ['-D', '--defined-only', helloByPkgConfig]).match(/microsockets_\w+/g).sort(),
    ['microsockets_abi_version', 'microsockets_plugin_init']);
  assert.doesNotMatch(run('readelf', ['--syms', '--wide', helloByPkgConfig]), /UNIQUE/);

  copyFileSync(join(hello, 'build/50-hello.so'), join(plugins, '50-hello.so'));
  const host = stopAfter(t, await startHost({ plugins, binary: join(prefix, 'bin/microsockets') }));
  assert.match(host.log(), /loaded plugin 'c_echo' \(30-c_echo\.so\)/);
  assert.match(host.log(), /loaded plugin 'hello' \(50-hello\.so\)/);
  const c = await Client.open(host.url);
  assert.equal(await c.ask('hello', 'ann'), 'hello, ann');
  assert.equal(await c.ask('echo', 'from C'), 'from C');
  await c.close();
});
