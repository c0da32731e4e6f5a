export {
  type BenchMember,
  listenToMailbox,
  mailboxCursorOf,
  storedState,
  waitUntil,
  waitUntilAsync,
} from "./bench-members.js";
export { parseConsoleTables } from "./console-table.js";
export {
  type BenchEnvironment,
  benchDatabaseUrl,
  openBenchBus,
  openBenchSql,
  readBenchEnvironment,
} from "./environment.js";
export {
  createHttpClient,
  type HttpAnswer,
  type LoadResult,
  type PacedRunResult,
  type PreparedRequest,
  runClosedLoop,
  runHttpLoad,
  runPacedSequence,
} from "./load.js";
export { profiled } from "./profile.js";
export {
  actorDocument,
  closeServer,
  connectToMapping,
  type FakeActor,
  type KeyServer,
  listenLocally,
  portOf,
  startKeyServer,
} from "./remote-actors.js";
export {
  describeTarget,
  type Metric,
  renderTable,
  shareOfReference,
  TABLE_COLUMNS,
  type Target,
  tableRows,
  type Verdict,
  verdictOf,
} from "./report.js";
export type { Scenario, ScenarioResult } from "./scenario.js";
export {
  formatNumber,
  type LatencySummary,
  median,
  percentile,
  ratePerSecond,
  summarizeLatencies,
} from "./stats.js";
