export {
  databaseUrlFor,
  deleteTopicsWithPrefixes,
  type E2eDeploymentDescription,
  ensureDatabase,
  entryPointOf,
  labelOf,
  REPOSITORY_ROOT,
  type ServiceProcess,
  type ServiceStatus,
  type SplitDeployment,
  type SplitDeploymentOptions,
  type SplitProvider,
  serviceEnvironment,
  startSplitDeployment,
} from "./deployment.js";
export { type FrontOptions, type RunningFront, startFront } from "./front.js";
export { freePort, logTail, type StartingProcess, waitReady } from "./processes.js";
export { routeFor, SERVICES, type ServiceName } from "./routes.js";
export {
  DEFAULT_RESTART_POLICY,
  describeExit,
  nextRestartAttempt,
  type RestartPolicy,
  type RestartRecord,
  restartDelayMs,
  restartLine,
} from "./supervision.js";
