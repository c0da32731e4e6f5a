export { type CreatedAccount, createAccountAt, postNote } from "./accounts.js";
export { type PublishedBatch, publishedOn, type RecordingBus, recordingBus } from "./bus.js";
export {
  createTestDatabase,
  insertAccount,
  openPglite,
  openPostgres,
  type TestBackend,
} from "./database.js";
export { E2E_SUITE_DIR, runE2eSuite } from "./e2e-suite.js";
export {
  type FakeActor,
  type FakeAnswer,
  FakeRemote,
  type FakeRemoteOptions,
  keyStoreResolver,
  type ReceivedPost,
  type ReceivedRequest,
  startFakeRemote,
} from "./fake-remote.js";
export { type SeenRequest, TestFront } from "./front.js";
export { type HostileActor, HostileProvider, sendRaw, sendSigned } from "./hostile.js";
export { type CapturedLogs, captureLogs } from "./logs.js";
export { closeNow, freePort, listenLocal } from "./net.js";
export { connectToLocal, providerEnv } from "./provider-env.js";
export { FAST_DELIVERY_ENV, type InfraUrls, infraFromEnv, sleep, waitFor } from "./wait.js";
