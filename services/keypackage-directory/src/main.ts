import "reflect-metadata";
import { runService } from "@mimi/provider-config";
import { keyPackageDirectoryService } from "./factory.js";

/** Split-deployment entry point: `node dist/main.js` (or `... migrate` to apply migrations and exit). */
runService(keyPackageDirectoryService);
