// Lists the longest functions outside tests/: JavaScript through the
// TypeScript parser (every function, method, arrow function and class static
// block, nested ones on their own, lines from its first to its last), C++ by
// its braces (a definition starts at column 0 and ends at the first `}` at
// column 0). `--max N` exits 1 when one is longer than N lines.
// Usage: node scripts/function-lengths.mjs [--max 80] [--top 20]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const max = option('--max', Infinity);
const top = option('--top', 20);

function files(dir, test) {
  const out = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!['node_modules', 'dist', 'out'].includes(entry.name)) out.push(...files(rel, test));
    } else if (test(entry.name)) out.push(rel);
  }
  return out;
}

function jsFunctions(file) {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const out = [];
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      const end = source.getLineAndCharacterOfPosition(node.end).line + 1;
      const name = node.name?.getText() ?? (ts.isVariableDeclaration(node.parent) ? node.parent.name.getText() : '(anonymous)');
      out.push({ file, name, start, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function cppFunctions(file) {
  const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  const out = [];
  let start = -1;
  let name = '';
  lines.forEach((line, i) => {
    if (start < 0 && /^[A-Za-z].*\)\s*(const\s*)?(override\s*)?\{\s*$/.test(line) && !/^(namespace|class|struct|enum|extern)\b/.test(line)) {
      start = i;
      name = (line.match(/([A-Za-z_:~]+)\s*\(/) ?? [])[1] ?? line.trim();
    } else if (start >= 0 && /^\}/.test(line)) {
      out.push({ file, name, start: start + 1, lines: i - start + 1 });
      start = -1;
    }
  });
  return out;
}

const js = [...files('web', (n) => n.endsWith('.js')), ...files('scripts', (n) => /\.m?js$/.test(n))];
const cpp = [...files('src', (n) => n.endsWith('.cc')), ...files('bindings', (n) => n.endsWith('.cc'))];
const all = [...js.flatMap(jsFunctions), ...cpp.flatMap(cppFunctions)].sort((a, b) => b.lines - a.lines);
for (const f of all.slice(0, top)) console.log(`${String(f.lines).padStart(5)}  ${f.file}:${f.start}  ${f.name}`);
const over = all.filter((f) => f.lines > max);
console.log(`function lengths: ${all.length} functions in ${js.length + cpp.length} files; longest ${all[0]?.lines ?? 0} lines` +
  (Number.isFinite(max) ? `; ${over.length} over ${max}` : ''));
process.exit(over.length > 0 ? 1 : 0);
