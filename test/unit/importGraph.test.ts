/**
 * The layering the README draws, enforced: no import circle among the non-test sources (type imports
 * included), nothing in the core imports `examples/`, and workflows import only contracts, domain and
 * each other (activities by type, through contracts/activities.ts).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SKIP = new Set(['node_modules', '.git', 'test', '.tools', '.vigil', 'dist']);
const CORE = ['activities/', 'workflows/', 'domain/', 'monitoring/', 'client/', 'adapters/', 'runbooks/', 'contracts/', 'ports/'];
const IMPORT = /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, e.name);
      if (e.isDirectory() && !SKIP.has(e.name)) walk(rel);
      else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
    }
  };
  walk('.');
  return out.map((f) => path.posix.normalize(f));
}

/** File → the files it imports (relative specifiers resolved to .ts sources). */
function importGraph(): Map<string, string[]> {
  const files = new Set(sources());
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
    const targets: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? '';
      const base = path.posix.normalize(path.posix.join(path.posix.dirname(f), spec));
      const hit = [base, base.replace(/\.m?js$/, '.ts'), `${base}.ts`, `${base}/index.ts`].find((c) => files.has(c));
      if (hit) targets.push(hit);
    }
    graph.set(f, targets);
  }
  return graph;
}

/** Strongly connected components of two or more files (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('import graph of the sources', () => {
  const graph = importGraph();

  it('has no import circle', () => {
    assert.ok(graph.size > 50, `found only ${graph.size} source files`);
    assert.deepEqual(circles(graph), []);
  });

  it('keeps the core free of examples/', () => {
    const offending = [...graph].flatMap(([f, targets]) =>
      CORE.some((c) => f.startsWith(c)) ? targets.filter((t) => t.startsWith('examples/')).map((t) => `${f} -> ${t}`) : [],
    );
    assert.deepEqual(offending, []);
  });

  it('lets workflows import only contracts, domain and other workflows', () => {
    const offending = [...graph].flatMap(([f, targets]) =>
      f.startsWith('workflows/') ? targets.filter((t) => !/^(contracts|domain|workflows)\//.test(t)).map((t) => `${f} -> ${t}`) : [],
    );
    assert.deepEqual(offending, []);
  });

  it('finds a circle when there is one (the checker itself)', () => {
    const g = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    assert.deepEqual(circles(g), [['a.ts', 'b.ts', 'c.ts']]);
  });
});
