// Reads jest's --json results and prints the CI summary line `N passed, N failed`.
// Usage: node .ci/summarize-jest.mjs <results.json> <jest exit status>
// Runs on any Node >= 18 (the machine's node is enough).
import { readFileSync } from 'node:fs';
import path from 'node:path';

const [file, statusArg = '0'] = process.argv.slice(2);
const jestStatus = Number(statusArg) || 0;

let results;
try {
  results = JSON.parse(readFileSync(file, 'utf8'));
} catch (e) {
  // Jest crashed before writing results (e.g. globalSetup threw): count it as one failure.
  console.log(`no jest results in ${file} (${e.code ?? e.message}); jest exit status ${jestStatus}`);
  console.log('0 passed, 1 failed');
  process.exit(jestStatus || 1);
}

const passed = results.numPassedTests ?? 0;
// A test file that fails to load (syntax/import error) has no failing tests of its
// own; count each such file as one failure so the summary never says "0 failed"
// for a broken run.
const failed = (results.numFailedTests ?? 0) + (results.numRuntimeErrorTestSuites ?? 0);

for (const suite of results.testResults ?? []) {
  if (suite.status === 'failed') console.log(`FAILED ${path.relative(process.cwd(), suite.name)}`);
}
if (jestStatus !== 0 && failed === 0) {
  console.log(`jest exited with status ${jestStatus} although no test failed (open handles, timeout?)`);
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : jestStatus);
