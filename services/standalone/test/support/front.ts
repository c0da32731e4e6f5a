export { type SeenRequest, TestFront } from "@mimi/testkit";
