/**
 * No extension or dashboard source turns strings into markup. `web-ext lint` warns UNSAFE_VAR_ASSIGNMENT about
 * one `innerHTML` assignment in the Firefox build: Preact's own support for
 * `dangerouslySetInnerHTML`, bundled with the runtime. That path only runs for an element given
 * that prop, so this test keeps the warning harmless by failing if any source under the folders
 * the extension is built from uses it, or any other HTML sink. Sources are parsed, not grepped:
 * a comment saying what is never used does not count, a computed `el['innerHTML']` does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
/** The folders the extension and the web dashboard are built from. */
const SCANNED = ['components', 'dashboard', 'entrypoints', 'lib', 'worker'];
/** Properties and props that parse a string as HTML. */
const HTML_SINKS: ReadonlySet<string> = new Set(['dangerouslySetInnerHTML', 'innerHTML', 'outerHTML', 'insertAdjacentHTML']);
const DOCUMENT_WRITES: ReadonlySet<string> = new Set(['write', 'writeln']);

/** Each use of an HTML sink in `source`, as `line: code`. */
function htmlSinks(fileName: string, source: string): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, fileName.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: string[] = [];
  const report = (node: ts.Node): void => {
    const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
    found.push(`${line + 1}: ${node.getText(file)}`);
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isIdentifier(node) || ts.isStringLiteralLike(node)) && HTML_SINKS.has(node.text)) report(node);
    if (
      ts.isPropertyAccessExpression(node) &&
      DOCUMENT_WRITES.has(node.name.text) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'document'
    ) {
      report(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(entry.name) ? [path] : [];
  });
}

describe('no HTML sinks in the extension', () => {
  test.each([
    ['a Preact prop', 'export const A = () => <div dangerouslySetInnerHTML={{ __html: x }} />;', 'view.tsx'],
    ['an innerHTML assignment', 'el.innerHTML = text;', 'dom.ts'],
    ['outerHTML read through brackets', "const html = el['outerHTML'];", 'dom.ts'],
    ['insertAdjacentHTML', "el.insertAdjacentHTML('beforeend', text);", 'dom.ts'],
    ['document.write', 'document.write(text);', 'dom.ts'],
    ['document.writeln', 'document.writeln(text);', 'dom.ts'],
  ])('the check finds %s', (_, code, fileName) => {
    expect(htmlSinks(fileName, code)).toHaveLength(1);
  });

  test('the check ignores comments and lookalike names', () => {
    const code = [
      '// never innerHTML or dangerouslySetInnerHTML here',
      '/** not document.write either */',
      'el.textContent = text;',
      'stream.write(chunk);',
      'const innerHTMLish = 1;',
    ].join('\n');
    expect(htmlSinks('ok.ts', code)).toEqual([]);
  });

  test.each(SCANNED)('%s/ uses none', (folder) => {
    const files = sourceFiles(join(repoRoot, folder));
    expect(files.length).toBeGreaterThan(0);
    const uses = files.flatMap((path) => htmlSinks(path, readFileSync(path, 'utf8')).map((use) => `${relative(repoRoot, path)}:${use}`));
    expect(uses).toEqual([]);
  });
});
