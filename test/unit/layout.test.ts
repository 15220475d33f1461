/**
 * The layout rules that keep the code base readable, checked on the sources (parsed, not grepped):
 * no product file over 400 lines, no function over 150, no import circle, browser globals only in
 * the hosts, and topic names built only by the topic table. README's "Where things live" says why.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Every folder the extension, the dashboard and the server are built from. */
const PRODUCT = ['lib', 'worker', 'server', 'components', 'dashboard', 'entrypoints'];
/** Where a browser's globals may be touched: the hub's hosts and the views' entry points. */
const HOSTS = ['worker/hosts/', 'entrypoints/', 'dashboard/'];
const BROWSER_GLOBALS: ReadonlySet<string> = new Set(['chrome', 'browser', 'navigator', 'self', 'indexedDB']);
/** `[importer prefix, imported prefix, the one importer allowed]`: edges that must not exist. */
const FORBIDDEN: ReadonlyArray<readonly [string, string, string?]> = [
  ...['worker/', 'server/', 'components/', 'dashboard/', 'entrypoints/'].map((dest) => ['lib/', dest] as const),
  ['lib/wire/', 'lib/rpc/'],
  ...['server/', 'components/', 'dashboard/', 'entrypoints/'].map((dest) => ['worker/', dest] as const),
  // Only the composition root wires the IndexedDB stores in; no core part knows a host.
  ['worker/core/', 'worker/store/', 'worker/core/hub.ts'],
  ['worker/core/', 'worker/hosts/'],
  ['worker/store/', 'worker/hosts/'],
  ...['worker/', 'lib/rpc/', 'components/', 'dashboard/', 'entrypoints/'].map((dest) => ['server/', dest] as const),
  ...['worker/', 'server/'].map((dest) => ['components/', dest] as const),
];
const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 150;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

const files = PRODUCT.flatMap((folder) => sourceFiles(join(repoRoot, folder)));
const parsed = new Map(
  files.map((path) => {
    const text = readFileSync(path, 'utf8');
    const kind = path.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
    return [path, ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, kind)] as const;
  }),
);
const where = (file: ts.SourceFile, node: ts.Node): string =>
  `${relative(repoRoot, file.fileName)}:${file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1}`;

function visitAll(visit: (file: ts.SourceFile, node: ts.Node) => void): void {
  for (const file of parsed.values()) {
    const walk = (node: ts.Node): void => {
      visit(file, node);
      ts.forEachChild(node, walk);
    };
    walk(file);
  }
}

/** The project file an import specifier names, or `null` for a package. */
function resolveImport(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.') && !specifier.startsWith('@/')) return null;
  const base = specifier.startsWith('@/') ? join(repoRoot, specifier.slice(2)) : resolve(dirname(from), specifier);
  for (const candidate of [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts'), base]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

function importsOf(file: ts.SourceFile): string[] {
  const found: string[] = [];
  file.forEachChild((node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const target = resolveImport(file.fileName, node.moduleSpecifier.text);
      if (target) found.push(target);
    }
  });
  return found;
}

/** Strongly connected components with more than one module (Tarjan). */
function importCircles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const connect = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const circle: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      circle.push(relative(repoRoot, member));
    } while (member !== node);
    if (circle.length > 1) circles.push(circle.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) connect(node);
  return circles;
}

/** True where an identifier names a global the code reads, not a property or a declaration. */
function readsGlobal(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if ((ts.isPropertySignature(parent) || ts.isPropertyDeclaration(parent) || ts.isPropertyAssignment(parent)) && parent.name === node) return false;
  if ((ts.isMethodDeclaration(parent) || ts.isMethodSignature(parent) || ts.isParameter(parent) || ts.isVariableDeclaration(parent)) && parent.name === node) return false;
  if (ts.isImportSpecifier(parent) || ts.isBindingElement(parent) || ts.isQualifiedName(parent) || ts.isTypeReferenceNode(parent)) return false;
  return true;
}

function parse(code: string): ts.SourceFile {
  return ts.createSourceFile(join(repoRoot, 'snippet.ts'), code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

function nodesOf(file: ts.SourceFile, keep: (node: ts.Node) => boolean): ts.Node[] {
  const found: ts.Node[] = [];
  const walk = (node: ts.Node): void => {
    if (keep(node)) found.push(node);
    ts.forEachChild(node, walk);
  };
  walk(file);
  return found;
}

/** Each browser global `file` reads, as `path:line name`. */
function browserGlobalsIn(file: ts.SourceFile): string[] {
  return nodesOf(file, (node) => ts.isIdentifier(node) && BROWSER_GLOBALS.has(node.text) && readsGlobal(node)).map(
    (node) => `${where(file, node)} ${node.getText(file)}`,
  );
}

/** Each topic name `file` writes by hand instead of asking `lib/wire/topics.ts`. */
function handmadeTopicsIn(file: ts.SourceFile): string[] {
  return nodesOf(
    file,
    (node) =>
      (ts.isTemplateExpression(node) && /^(feed|alerts|prices):$/.test(node.head.text)) ||
      (ts.isStringLiteralLike(node) && /^(news|prices:\*|(feed|alerts|prices):.+)$/.test(node.text)),
  ).map((node) => `${where(file, node)} ${node.getText(file)}`);
}

describe('layout', () => {
  test('the scan sees the product sources', () => {
    expect(files.length).toBeGreaterThan(100);
  });

  test(`no product file is over ${MAX_FILE_LINES} lines`, () => {
    const long = [...parsed.values()]
      .map((file) => [relative(repoRoot, file.fileName), file.getLineAndCharacterOfPosition(file.end).line + 1] as const)
      .filter(([, lines]) => lines > MAX_FILE_LINES);
    expect(long).toEqual([]);
  });

  test(`no function is over ${MAX_FUNCTION_LINES} lines`, () => {
    const long: string[] = [];
    visitAll((file, node) => {
      if (!ts.isFunctionLike(node) || !('body' in node) || !node.body) return;
      const lines = file.getLineAndCharacterOfPosition(node.end).line - file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1;
      if (lines > MAX_FUNCTION_LINES) long.push(`${where(file, node)} (${lines} lines)`);
    });
    expect(long).toEqual([]);
  });

  test('no import circle', () => {
    const graph = new Map([...parsed.values()].map((file) => [file.fileName, importsOf(file)] as const));
    expect(importCircles(graph)).toEqual([]);
  });

  test('dependencies point one way', () => {
    const wrong: string[] = [];
    for (const file of parsed.values()) {
      const from = relative(repoRoot, file.fileName);
      for (const target of importsOf(file)) {
        const to = relative(repoRoot, target);
        const rule = FORBIDDEN.find(([source, dest, except]) => from.startsWith(source) && to.startsWith(dest) && from !== except);
        if (rule) wrong.push(`${from} imports ${to}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test('the circle check finds one', () => {
    const a = join(repoRoot, 'a.ts');
    const b = join(repoRoot, 'b.ts');
    expect(importCircles(new Map([[a, [b]], [b, [a]]]))).toEqual([['a.ts', 'b.ts']]);
  });

  test('browser globals appear only in the hosts', () => {
    const outside = [...parsed.values()].filter((file) => !HOSTS.some((host) => relative(repoRoot, file.fileName).startsWith(host)));
    expect(outside.flatMap(browserGlobalsIn)).toEqual([]);
  });

  test('the globals check finds a global read, not a property of that name', () => {
    const file = parse('const online = navigator.onLine; const db = platform.indexedDB; interface P { indexedDB: IDBFactory } const s = { self };');
    expect(browserGlobalsIn(file)).toEqual(['snippet.ts:1 navigator', 'snippet.ts:1 self']);
  });

  test('topic names are built and parsed only in lib/wire/topics.ts', () => {
    const others = [...parsed.values()].filter((file) => file.fileName !== join(repoRoot, 'lib/wire/topics.ts'));
    expect(others.flatMap(handmadeTopicsIn)).toEqual([]);
  });

  test('the topic check finds names written by hand', () => {
    const file = parse("const a = `feed:${user}`; const b = 'news'; const c = 'prices:*'; const d = 'News';");
    expect(handmadeTopicsIn(file)).toEqual(['snippet.ts:1 `feed:${user}`', "snippet.ts:1 'news'", "snippet.ts:1 'prices:*'"]);
  });
});
