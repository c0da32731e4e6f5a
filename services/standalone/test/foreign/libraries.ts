// Third-party libraries the foreign provider builds on, none of them this project's own packages.
// None is a dependency of this package, so they are imported from where the workspace installed
// them for other packages; adding `ts-mls`, `@peculiar/x509` and `cborg` to this package's
// devDependencies would let these lines become plain package imports.
import "reflect-metadata";

export { decode } from "../../../../packages/client/node_modules/cborg";
export * as x509 from "../../../../packages/credentials/node_modules/@peculiar/x509";
export * as mls from "../../../../packages/mls/node_modules/ts-mls/dist/src/index.js";
export {
  decodeKeyPackage as decodeBareKeyPackage,
  encodeKeyPackage as encodeBareKeyPackage,
  verifyKeyPackage,
} from "../../../../packages/mls/node_modules/ts-mls/dist/src/keyPackage.js";
