// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect metadata
// polyfill to be loaded before the library itself; every module here imports x509 through this file.
import "reflect-metadata";

export * from "@peculiar/x509";
