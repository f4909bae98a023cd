// Reads vitest's JSON report and prints the count of real-material tests and a plain closing line
// "N passed, N failed". Tests on real material carry "[real]" in their name.
import { readFileSync } from 'node:fs';

const [file, rcText] = process.argv.slice(2);
const rc = Number(rcText ?? 0);
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  // No report: the build, type check or lint failed before vitest ran.
  console.log(`no test report (${file}); npm test exited ${rc}`);
  console.log(`0 passed, ${rc === 0 ? 0 : 1} failed`);
  process.exit(0);
}
let passed = 0;
let failed = 0;
let skipped = 0;
let realRan = 0;
for (const suite of report.testResults ?? []) {
  for (const t of suite.assertionResults ?? []) {
    if (t.status === 'passed') passed++;
    else if (t.status === 'failed') failed++;
    else skipped++;
    const name = `${(t.ancestorTitles ?? []).join(' ')} ${t.title ?? ''}`;
    if (name.includes('[real]') && (t.status === 'passed' || t.status === 'failed')) realRan++;
  }
  if ((suite.assertionResults ?? []).length === 0 && suite.status === 'failed') failed++;
}
if (rc !== 0 && failed === 0) failed = 1;
console.log(`real-material tests run: ${realRan}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
