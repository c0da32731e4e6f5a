// Counts one vitest JSON report the way CI's summary line does: a suite that failed without a failed
// test (it crashed while loading) counts as failed tests of its own.
export function countReport(result) {
  let failed = result.numFailedTests;
  if (result.numFailedTestSuites > 0 && failed === 0) failed += result.numFailedTestSuites;
  return {
    passed: result.numPassedTests,
    failed,
    skipped: result.numPendingTests + (result.numTodoTests ?? 0),
  };
}
