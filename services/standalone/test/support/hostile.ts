export { type HostileActor, HostileProvider, sendRaw, sendSigned } from "@mimi/testkit";
