// Builds the PWA into app/dist (served by fieldsync from server.static_dir):
//   assets/app-<hash>.js, .css   the app, bundled by esbuild (content-hashed: immutable)
//   index.html                   the shell, naming the hashed files
//   manifest.webmanifest, icons/ the web app manifest and its PNG icons (drawn here)
//   sw.js                        the service worker, with the precache list and the build's
//                                version (a hash of everything it caches) baked in
//   <file>.gz                    gzip of every text file, which fieldsync serves as is
// Usage: node app/build.mjs [--no-minify]
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { icon } from './icons.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const minify = !process.argv.includes('--no-minify');
const started = Date.now();

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'icons'), { recursive: true });

const app = await esbuild.build({
  entryPoints: { app: join(here, 'src/main.ts') },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify,
  sourcemap: 'linked',
  entryNames: 'assets/[name]-[hash]',
  assetNames: 'assets/[name]-[hash]',
  outdir: dist,
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.keys(app.metafile.outputs).map((p) => '/' + relative(dist, p).split('\\').join('/'));
const js = outputs.find((p) => p.endsWith('.js'));
const css = outputs.find((p) => p.endsWith('.css'));
if (!js || !css) throw new Error('build: esbuild produced no script or style');

writeFileSync(join(dist, 'index.html'), readFileSync(join(here, 'index.html'), 'utf8').replace('%JS%', js).replace('%CSS%', css));

const icons = [
  { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
  { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
  { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
];
writeFileSync(join(dist, 'icons/icon-192.png'), icon(192));
writeFileSync(join(dist, 'icons/icon-512.png'), icon(512));
writeFileSync(join(dist, 'icons/maskable-512.png'), icon(512, { maskable: true }));
const manifest = {
  id: '/',
  name: 'Fieldsync Field Sales',
  short_name: 'Fieldsync',
  description: 'KPIs, accounts, visit reports and opportunities for field sales, offline first.',
  start_url: '/',
  scope: '/',
  display: 'standalone',
  orientation: 'any',
  background_color: '#f4f6f9',
  theme_color: '#0b4f94',
  lang: 'en',
  categories: ['business', 'productivity'],
  icons,
};
writeFileSync(join(dist, 'manifest.webmanifest'), JSON.stringify(manifest, null, 2) + '\n');

// The service worker caches the shell: everything above but maps.
const precache = ['/index.html', js, css, '/manifest.webmanifest', ...icons.map((i) => i.src)];
const version = createHash('sha256');
for (const p of precache) version.update(p).update(readFileSync(join(dist, p.slice(1))));
const appVersion = version.digest('hex').slice(0, 12);
await esbuild.build({
  entryPoints: [join(here, 'src/sw.ts')],
  bundle: true,
  format: 'iife',
  target: 'es2022',
  minify,
  outfile: join(dist, 'sw.js'),
  define: { __APP_VERSION__: JSON.stringify(appVersion), __PRECACHE__: JSON.stringify(precache) },
  logLevel: 'warning',
});
writeFileSync(join(dist, 'version.json'), JSON.stringify({ version: appVersion, built: new Date().toISOString() }) + '\n');

// Precompressed copies, written after the files so they are never older than them.
const text = /\.(html|js|css|json|webmanifest|map|svg|txt)$/;
let bytes = 0;
let gz = 0;
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else {
      bytes += statSync(p).size;
      if (text.test(name)) {
        const z = gzipSync(readFileSync(p), { level: 9 });
        writeFileSync(p + '.gz', z);
        gz += z.length;
      }
    }
  }
};
walk(dist);
console.log(`app: built ${relative(process.cwd(), dist) || dist} (version ${appVersion}, ${Math.round(bytes / 1024)} KiB, ${Math.round(gz / 1024)} KiB gzipped) in ${Date.now() - started} ms`);
