import { packageTestConfig } from "../../vitest.shared.ts";

// Each file starts a whole standalone provider (PGlite, five services' migrations): seconds on 2 cores.
export default packageTestConfig({ testTimeout: 90_000 });
