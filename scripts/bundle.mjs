// Writes the modules the package ships, minified, each with a source map:
// - web/dist/sse-balancer.js: the Emscripten glue (web/dist/sse-balancer-core.js,
//   which defines createSseBalancerCore), the core's tables read from this
//   build, and web/index.js. One module instead of a chain (index.js, then
//   the glue it imports): a page waits for one file before the .wasm, not
//   two, and parses less.
// - web/dist/sse-balancer-share.js: web/share.js, which index.js imports
//   only for a balancer with `share`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { minify } from 'vite';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'web/dist');
const glueFile = path.join(dist, 'sse-balancer-core.js');

const glue = fs.readFileSync(glueFile, 'utf8');
// EXPORT_ES6 ends the glue with its factory as the default export; the
// bundle exports only the public API of web/index.js.
const exportLine = /\nexport default createSseBalancerCore;\s*$/;
if (!exportLine.test(glue)) {
  throw new Error(`bundle: ${glueFile} does not end with 'export default createSseBalancerCore;' (was it built with -sEXPORT_ES6?)`);
}
// The glue returns its factory in parentheses, which V8 reads as "called at
// once" and compiles eagerly while the module loads; without them it is
// compiled when first called (in a task after the import).
const wrapped = /return \(\s*\nfunction\(createSseBalancerCore\) \{([\s\S]*)\n\}\n\);\n\}\)\(\);\n$/;
if (!wrapped.test(glue.replace(exportLine, '\n'))) throw new Error(`bundle: ${glueFile} does not return its factory as Emscripten 3.1.6 does`);
const lazyGlue = glue.replace(exportLine, '\n').replace(wrapped, 'return function(createSseBalancerCore) {$1\n};\n})();\n');
const tables = await readCoreTables();
const read = (file) => fs.readFileSync(path.join(root, file), 'utf8');
const main = await minifyModule(
  'sse-balancer.js',
  `${lazyGlue}\n// ---- the core's tables, read from this build of it ----\n` +
    `const CORE_TABLES = ${JSON.stringify(tables.text)};\nconst CORE_DEFAULTS = ${JSON.stringify(tables.defaults)};\n` +
    `// ---- web/index.js ----\n${read('web/index.js')}`,
);
// Bundlers find the .wasm and the share chunk through these patterns; they must survive minifying.
if (!/new URL\(["'`]\.\/sse-balancer-core\.wasm["'`],\s*import\.meta\.url\)/.test(main.code)) {
  throw new Error("bundle: the minified module lost new URL('./sse-balancer-core.wasm', import.meta.url)");
}
const imports = main.code.match(/\bimport\([^)]*\)/g) ?? [];
if (imports.length !== 1 || !/^import\(["'`]\.\/sse-balancer-share\.js["'`]\)$/.test(imports[0])) {
  throw new Error(`bundle: the module's only dynamic import() must be './sse-balancer-share.js', found ${imports.join(', ') || 'none'}`);
}
const share = await minifyModule('sse-balancer-share.js', read('web/share.js'));
if (/\bimport\b/.test(share.code.replace(/import\.meta/g, ''))) throw new Error('bundle: the share chunk must import nothing');
// Written only once both passed every check: a failed build leaves no half-made pair in web/dist.
for (const { name, code, map } of [main, share]) {
  const file = path.join(dist, name);
  write(`${file}.map`, JSON.stringify(map));
  write(file, `${code}\n//# sourceMappingURL=${name}.map\n`);
}

/** Minifies `source` (named web/dist/`name`) with its source map. */
async function minifyModule(name, source) {
  const srcName = name.replace(/\.js$/, '.src.js');
  const { code, map, errors } = await minify(srcName, source, { module: true, compress: true, mangle: true, sourcemap: true });
  if (errors.length > 0) throw new Error(`bundle: minifying ${name} failed: ${errors.map((e) => e.message).join('; ')}`);
  return { name, code, map };
}

function write(file, text) {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

/**
 * The core's tables (codes, names, option defaults), read from the built
 * core here: web/index.js validates options and answers before the .wasm
 * has loaded, and checks at load that the core is this build.
 */
async function readCoreTables() {
  const wasmFile = path.join(dist, 'sse-balancer-core.wasm');
  const bytes = fs.readFileSync(wasmFile);
  const { default: createCore } = await import(pathToFileURL(glueFile).href);
  let failed;
  const failure = new Promise((_, reject) => (failed = reject));
  const core = await Promise.race([
    createCore({
      instantiateWasm(imports, receive) {
        WebAssembly.instantiate(bytes, imports).then(({ instance, module }) => receive(instance, module), failed);
        return {};
      },
    }),
    failure,
  ]);
  const text = core.textOf(0, -2);
  const table = (name) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}=`));
    if (line === undefined) throw new Error(`bundle: the core has no '${name}' table`);
    const list = line.slice(name.length + 1);
    return list === '' ? [] : list.split(',');
  };
  const opDefault = table('ops').indexOf('default');
  if (opDefault < 0) throw new Error("bundle: the core has no 'default' op");
  const defaults = table('options').map((name, i) => core.call(0, opDefault, i, 0));
  // JSON (the module's CORE_DEFAULTS) holds finite numbers only.
  const bad = table('options').filter((name, i) => !Number.isFinite(defaults[i]));
  if (bad.length > 0) throw new Error(`bundle: the core's defaults of ${bad.join(', ')} are not finite numbers`);
  return { text, defaults };
}
