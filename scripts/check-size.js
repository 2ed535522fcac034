#!/usr/bin/env node
// Functions and files a reader can take in: no C function over 80 lines
// (main() and the tests and benches aside), no C file over 1,000 lines
// (sim/ aside). A file still over the limit must be
// listed, with its line count, in scripts/oversize-files.txt; the list only
// shrinks: a listed file that grew, or one no longer over, fails too
// (update the list: take it off, or lower its count).
//
//   node scripts/check-size.js      exit 1 on any finding
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const FN_MAX = 80;
const FILE_MAX = 1000;
const listPath = path.join(__dirname, 'oversize-files.txt');

const files = execFileSync('git', ['ls-files', '*.c', '*.h'], { cwd: root, encoding: 'utf8' })
  .split('\n').filter((f) => f && !/^(tests|bench|sim)\//.test(f));

// A definition in the tree's style: its signature starts at column 0 and
// its body is a '{' line and a '}' line at column 0 (clang-format keeps
// it so).
function longFunctions(file, lines) {
  const out = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] !== '{') continue;
    let start = i - 1;
    while (start > 0 && /^[\t ]/.test(lines[start]) && lines[start - 1].trim() &&
      !/[;}]$/.test(lines[start - 1])) start--;
    let end = i + 1;
    while (end < lines.length && lines[end] !== '}') end++;
    const n = end - start + 1;
    const name = (/([A-Za-z_][A-Za-z0-9_]*)\s*\(/.exec(lines[start]) || [])[1] || '?';
    if (n > FN_MAX && name !== 'main') out.push(`${file}:${start + 1}: ${name}() is ${n} lines (at most ${FN_MAX})`);
    i = end;
  }
  return out;
}

const listed = new Map();
for (const line of fs.readFileSync(listPath, 'utf8').split('\n')) {
  const m = /^(\S+)\s+(\d+)/.exec(line);
  if (m) listed.set(m[1], Number(m[2]));
}

const problems = [];
const oversize = new Map();
for (const f of files) {
  const lines = fs.readFileSync(path.join(root, f), 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  problems.push(...longFunctions(f, lines));
  if (lines.length > FILE_MAX) oversize.set(f, lines.length);
}
for (const [f, n] of oversize) {
  if (!listed.has(f)) problems.push(`${f}: ${n} lines (at most ${FILE_MAX}; not in scripts/oversize-files.txt)`);
  else if (n > listed.get(f)) problems.push(`${f}: ${n} lines, more than the ${listed.get(f)} listed: it may only shrink`);
}
for (const [f, n] of listed) {
  if (!oversize.has(f)) problems.push(`${f}: listed as oversize but no longer over ${FILE_MAX} lines: take it off the list`);
  else if (oversize.get(f) < n) problems.push(`${f}: ${oversize.get(f)} lines now: lower its count in the list from ${n}`);
}
for (const p of problems) console.error(p);
console.log(`check-size: ${files.length} files; functions over ${FN_MAX} lines outside main(): ` +
  `${problems.filter((p) => p.includes('()')).length}; files over ${FILE_MAX} lines: ` +
  `${[...oversize].map(([f, n]) => `${f} (${n})`).join(', ') || 'none'}`);
process.exit(problems.length ? 1 : 0);
