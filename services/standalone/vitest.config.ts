import { packageTestConfig } from "../../vitest.shared.ts";

// Each test starts whole providers (PGlite, five services' migrations), which takes seconds on 2 cores.
export default packageTestConfig({ testTimeout: 90_000 });
