#!/usr/bin/env node
// Fails when src/ has an import cycle, between files or between modules (a folder under src/infra or
// src/modules, src/config, src/common). Type-only imports count: a layer that names another's types
// depends on it. Spec files are leaves and are left out. Run by `npm run lint`; no plugin needed.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
const srcDir = join(root, 'src');

function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every relative module specifier a file names: imports, re-exports, `import()` and `import x = require()`. */
function specifiersOf(path) {
  const file = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, false);
  const found = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) found.push(expression.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteralLike(argument)) found.push(argument.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found.filter((specifier) => specifier.startsWith('.'));
}

function resolveImport(from, specifier, known) {
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((candidate) => known.has(candidate));
}

/** The module a file belongs to: infra/<name>, modules/<name>, config, common, or app for src/*.ts. */
function moduleOf(path) {
  const parts = relative(srcDir, path).split(sep);
  if ((parts[0] === 'infra' || parts[0] === 'modules') && parts.length > 2) return `${parts[0]}/${parts[1]}`;
  return parts.length > 1 ? parts[0] : 'app';
}

/** Tarjan's strongly connected components; each component of two or more nodes (or a self-loop) is a cycle. */
function cyclesOf(graph) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const connect = (node) => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        connect(target);
        low.set(node, Math.min(low.get(node), low.get(target)));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node), index.get(target)));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)?.has(node)) cycles.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) connect(node);
  return cycles;
}

const files = sourceFiles(srcDir);
const known = new Set(files);
const fileGraph = new Map(files.map((file) => [file, new Set()]));
const moduleGraph = new Map();
const moduleEdgeWitness = new Map();
for (const file of files) {
  for (const specifier of specifiersOf(file)) {
    const target = resolveImport(file, specifier, known);
    if (!target) continue;
    fileGraph.get(file).add(target);
    const [from, to] = [moduleOf(file), moduleOf(target)];
    if (from === to) continue;
    if (!moduleGraph.has(from)) moduleGraph.set(from, new Set());
    moduleGraph.get(from).add(to);
    const edge = `${from} -> ${to}`;
    if (!moduleEdgeWitness.has(edge)) moduleEdgeWitness.set(edge, `${relative(root, file)} imports '${specifier}'`);
  }
}

/** One shortest loop through `start` inside its component, as the list of files along it. */
function loopThrough(start, members) {
  const cameFrom = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const target of fileGraph.get(node)) {
      if (target === start) {
        const path = [node];
        while (cameFrom.get(path[0])) path.unshift(cameFrom.get(path[0]));
        return [...path, start];
      }
      if (members.has(target) && !cameFrom.has(target)) {
        cameFrom.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start];
}

const show = (path) => relative(root, path);
const problems = [];
for (const cycle of cyclesOf(fileGraph)) {
  const loop = loopThrough(cycle[0], new Set(cycle));
  problems.push(`file cycle (${cycle.length} files), for example:\n  ${loop.map(show).join('\n  -> ')}`);
}
for (const cycle of cyclesOf(moduleGraph)) {
  const members = new Set(cycle);
  const edges = [...moduleEdgeWitness].filter(([edge]) => {
    const [from, to] = edge.split(' -> ');
    return members.has(from) && members.has(to);
  });
  problems.push(
    `module cycle between ${cycle.join(', ')}:\n${edges.map(([edge, why]) => `  ${edge}: ${why}`).join('\n')}`,
  );
}

if (problems.length > 0) {
  console.error(
    `${problems.join('\n\n')}\n\n${problems.length} import cycle(s) in src/ (scripts/check-import-cycles.mjs)`,
  );
  process.exit(1);
}
console.log(`No import cycles in src/ (${files.length} files, ${moduleGraph.size} modules).`);
