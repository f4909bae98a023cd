#!/usr/bin/env node
/**
 * Makes the bad-input corpus of the hardening tests into a folder, outside the tests:
 *
 *   npm run build && node scripts/make-bad-corpus.mjs /tmp/steady-corpus [case ...]
 *
 * The recipes live in one place, test/support/bad-input-corpus.ts (the tests use it directly). That file
 * imports only `node:*`, so this script transpiles it alone with the project's TypeScript compiler into a
 * temporary .mjs, imports it, and runs it with the ffmpeg steady itself resolves (dist/video/binaries.js).
 * With case names, only those cases (and the files they are cut from) are made.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = new URL('..', import.meta.url);
const [dirArg, ...only] = process.argv.slice(2);
if (dirArg === undefined || dirArg === '--help' || dirArg === '-h') {
  process.stdout.write('Usage: node scripts/make-bad-corpus.mjs <folder> [case ...]\n');
  process.exit(dirArg === undefined ? 2 : 0);
}
const dir = resolve(dirArg);
mkdirSync(dir, { recursive: true });

const source = readFileSync(new URL('test/support/bad-input-corpus.ts', root), 'utf8');
const { outputText } = ts.transpileModule(source, {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
});
const work = mkdtempSync(join(tmpdir(), 'steady-corpus-module-'));
try {
  const modulePath = join(work, 'bad-input-corpus.mjs');
  writeFileSync(modulePath, outputText);
  const corpus = await import(pathToFileURL(modulePath).href);
  let resolveFfmpeg;
  try {
    ({ resolveFfmpeg } = await import(new URL('dist/video/binaries.js', root).href));
  } catch {
    process.stderr.write('make-bad-corpus: dist/ is missing; run `npm run build` first\n');
    process.exit(1);
  }
  const made = await corpus.makeBadInputCorpus(dir, { ffmpegPath: resolveFfmpeg().path, ...(only.length > 0 ? { only } : {}) });
  for (const c of corpus.CORPUS_CASES) {
    const p = made.paths[c.name];
    if (p !== undefined) process.stdout.write(`${c.name.padEnd(20)} ${p}\n    ${c.description}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
