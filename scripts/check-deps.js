#!/usr/bin/env node
// File-level dependency cycles in the built C code. A file depends on
// another when it uses a symbol the other defines (nm on the objects the
// libraries and apps are built from: calls, and globals read or written).
// A cycle is a group of files each reaching every other (a strongly
// connected component of more than one file). Every cycle found must be
// listed, exactly, in scripts/dependency-cycles.txt, and every cycle listed
// must still be found: the list only shrinks, and a new cycle or a file
// joining an old one fails the check.
//
// Libraries too: a file may use a symbol of another of our libraries only
// if its own library links that one, directly or through another (the
// link lines CMake wrote to <build>/meeshy-link-lines.txt). A call up the
// stack (storage calling signaling, say) fails here even where the final
// link of meeshy-call, which has every library, would let it through.
//
//   node scripts/check-deps.js [BUILD_DIR]      exit 1 on any difference
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const build = path.resolve(process.argv[2] || path.join(root, 'build'));
const listPath = path.join(__dirname, 'dependency-cycles.txt');

// The objects of our libraries and programs (not tests, benches or the
// ns-3 build, which compiles the same sources again), as each target's
// DependInfo.cmake lists them: an object left in the build folder by a
// source that moved or went is not one of them.
function objects(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) objects(p, out);
    else if (e.name === 'DependInfo.cmake' &&
      /\/CMakeFiles\/(meeshy_[a-z]+|meeshy-call)\.dir$/.test(dir) && !/meeshy_core_ns3/.test(dir)) {
      const text = fs.readFileSync(p, 'utf8');
      for (const m of text.matchAll(/"[^"]+\.c" "([^"]+\.c\.o)"/g))
        out.push(path.join(build, m[1]));
    }
  }
  return out;
}

// the library (CMake target) an object belongs to
function libraryOf(obj) {
  return /\/CMakeFiles\/([^/]+)\.dir\//.exec(obj)[1];
}

// lib -> the libraries it may use: its link line, and theirs, and so on
function allowedLibraries() {
  const file = path.join(build, 'meeshy-link-lines.txt');
  const direct = new Map();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\S+):(.*)$/.exec(line);
    if (m) direct.set(m[1], m[2].trim().split(/\s+/).filter(Boolean));
  }
  const closure = new Map();
  const reach = (lib, seen = new Set()) => {
    for (const d of direct.get(lib) || [])
      if (!seen.has(d)) { seen.add(d); reach(d, seen); }
    return seen;
  };
  for (const lib of direct.keys()) closure.set(lib, reach(lib));
  return closure;
}

// the source a CMake object came from: <build>/<dir>/CMakeFiles/<t>.dir/<rel>.c.o
function sourceOf(obj) {
  const rel = path.relative(build, obj);
  const m = /^(.*?)\/?CMakeFiles\/[^/]+\.dir\/(.*)\.o$/.exec(rel);
  return path.normalize(path.join(m[1], m[2]));
}

function symbols(obj) {
  const text = execFileSync('nm', [obj], { encoding: 'utf8' });
  const defined = [];
  const used = [];
  for (const line of text.split('\n')) {
    const m = /^(?:[0-9a-f]+)?\s+([A-Za-z])\s+(\S+)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'U') used.push(m[2]);
    else if (/[BCDGRSTVW]/.test(m[1])) defined.push(m[2]); // global only
  }
  return { defined, used };
}

// Tarjan's strongly connected components
function cycles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const visit = (v) => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); on.add(v);
    for (const w of graph.get(v)) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do { w = stack.pop(); on.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1) out.push(scc.sort().join(' '));
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out.sort();
}

function main() {
  const objs = objects(build);
  if (!objs.length) {
    console.error(`check-deps: no objects under ${build}: build first`);
    process.exit(1);
  }
  const owner = new Map();
  const uses = new Map();
  const libOf = new Map();
  for (const o of objs) {
    const src = sourceOf(o);
    const { defined, used } = symbols(o);
    for (const s of defined) owner.set(s, src);
    uses.set(src, used);
    libOf.set(src, libraryOf(o));
  }
  const allowed = allowedLibraries();
  const upward = [];
  for (const [src, used] of uses) {
    const lib = libOf.get(src);
    if (lib === 'meeshy-call') continue; // the program: it may use all
    if (!allowed.has(lib)) {
      upward.push(`${lib} (${src}) has no link line in meeshy-link-lines.txt: add it to meeshy_libs in CMakeLists.txt`);
      continue;
    }
    for (const s of used) {
      const o = owner.get(s);
      const to = o && libOf.get(o);
      if (to && to !== lib && !allowed.get(lib).has(to))
        upward.push(`${src} (${lib}) uses ${s} of ${o} (${to}), which ${lib} does not link`);
    }
  }
  const graph = new Map();
  for (const [src, used] of uses) {
    const to = new Set();
    for (const s of used) {
      const o = owner.get(s);
      if (o && o !== src) to.add(o);
    }
    graph.set(src, [...to].sort());
  }
  const found = cycles(graph);
  const listed = fs.readFileSync(listPath, 'utf8').split('\n')
    .map((l) => l.replace(/#.*/, '').trim()).filter(Boolean).map((l) => l.split(/\s+/).sort().join(' ')).sort();
  const unlisted = found.filter((c) => !listed.includes(c));
  const gone = listed.filter((c) => !found.includes(c));
  console.log(`check-deps: ${graph.size} files, ${found.length} cycles (${listed.length} listed as known)`);
  for (const c of found) console.log(`  cycle: ${c}`);
  for (const c of unlisted) console.error(`check-deps: a cycle not in scripts/dependency-cycles.txt: ${c}`);
  for (const c of gone) console.error(`check-deps: listed but no longer a cycle, take it off the list: ${c}`);
  console.log(`check-deps: ${allowed.size} libraries, ${upward.length} uses outside their link lines`);
  for (const u of [...new Set(upward)]) console.error(`check-deps: ${u}`);
  process.exit(unlisted.length || gone.length || upward.length ? 1 : 0);
}

main();
