// Reads jest's --json results and prints the CI summary line `N passed, N failed`.
// Usage: node .ci/summarize-jest.mjs <results.json> <jest exit status> [<results.json> <status> ...]
// (several jest runs add up into one line). Runs on any Node >= 18 (the machine's node is enough).
import { readFileSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
let passed = 0;
let failed = 0;
let exitStatus = 0;
for (let i = 0; i < args.length; i += 2) {
  const file = args[i];
  const jestStatus = Number(args[i + 1] ?? '0') || 0;
  let results;
  try {
    results = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    // Jest crashed before writing results (e.g. globalSetup threw): count it as one failure.
    console.log(`no jest results in ${file} (${e.code ?? e.message}); jest exit status ${jestStatus}`);
    failed += 1;
    exitStatus = exitStatus || jestStatus || 1;
    continue;
  }
  passed += results.numPassedTests ?? 0;
  // A test file that fails to load (syntax/import error) has no failing tests of its
  // own; count each such file as one failure so the summary never says "0 failed"
  // for a broken run.
  const runFailed = (results.numFailedTests ?? 0) + (results.numRuntimeErrorTestSuites ?? 0);
  failed += runFailed;
  for (const suite of results.testResults ?? []) {
    if (suite.status === 'failed') console.log(`FAILED ${path.relative(process.cwd(), suite.name)}`);
  }
  if (jestStatus !== 0 && runFailed === 0) {
    console.log(`jest (${file}) exited with status ${jestStatus} although no test failed (open handles, timeout?)`);
  }
  exitStatus = exitStatus || jestStatus;
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : exitStatus);
