/**
 * Fedify 2.3 needs Node 22 or later. CI runs the packages' tests under Node 24 and everything again
 * under Node 20; there each suite shows up as skipped with this in its name, never as passed.
 */
export const fedifyRuns = Number(process.versions.node.split(".")[0]) >= 22;
export const NEEDS_NODE_22 = "needs Node 22+ for Fedify";
