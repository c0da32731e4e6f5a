/**
 * A reverse proxy standing for one of our providers' public address: Fedify's requests go through it,
 * so a test sees which signature each one carried and how it was answered.
 */
export { type SeenRequest as ProxiedRequest, TestFront as RecordingFront } from "@mimi/testkit";
