// Third-party libraries the foreign provider builds on, none of them this project's own packages.
import "reflect-metadata";

export * as x509 from "@peculiar/x509";
export { decode } from "cborg";
export * as mls from "ts-mls";
export {
  decodeKeyPackage as decodeBareKeyPackage,
  encodeKeyPackage as encodeBareKeyPackage,
  verifyKeyPackage,
} from "ts-mls/keyPackage.js";
