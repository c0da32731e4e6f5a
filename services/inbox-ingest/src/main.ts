import { runService } from "@mimi/provider-config";
import { inboxIngestService } from "./factory.js";

/** Split-deployment entry point: `node dist/main.js` (or `... migrate` to apply migrations and exit). */
runService(inboxIngestService);
