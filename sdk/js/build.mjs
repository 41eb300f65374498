// Writes dist/microsockets.global.js (and its source map): the client as a
// minified classic script that defines the global MicroSocket, for pages that
// load it with a <script> tag. Runs on npm install / npm pack (prepare).
import { build } from 'esbuild';

await build({
  stdin: {
    contents: "import { MicroSocket } from './microsockets.js';\nglobalThis.MicroSocket = MicroSocket;\n",
    resolveDir: new URL('./src/', import.meta.url).pathname,
    sourcefile: 'global.js',
  },
  bundle: true,
  format: 'iife',
  minify: true,
  sourcemap: true,
  target: 'es2022',
  legalComments: 'none',
  banner: { js: '/*! microsockets client, MIT license */' },
  outfile: new URL('./dist/microsockets.global.js', import.meta.url).pathname,
  logLevel: 'warning',
});
