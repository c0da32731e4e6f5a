/** A development host mapping (`MIMI_DEV_CONNECT_TO`): each host name to a port on 127.0.0.1. */
export function connectToLocal(hosts: Iterable<readonly [string, number]>): string {
  return [...hosts].map(([host, port]) => `${host}=127.0.0.1:${port}`).join(",");
}

/**
 * The environment of a standalone provider under test: `domain` at `http://<domain>`, listening on
 * `port`, its state in `dataDir`, other hosts through `connectTo`; logs silent unless
 * MIMI_TEST_LOG_LEVEL says otherwise.
 */
export function providerEnv(options: {
  domain: string;
  port: number;
  dataDir: string;
  connectTo: string;
}): Record<string, string> {
  return {
    MIMI_DOMAIN: options.domain,
    MIMI_PUBLIC_URL: `http://${options.domain}`,
    PORT: String(options.port),
    MIMI_DATA_DIR: options.dataDir,
    MIMI_DEV_CONNECT_TO: options.connectTo,
    LOG_LEVEL: process.env.MIMI_TEST_LOG_LEVEL ?? "silent",
  };
}
