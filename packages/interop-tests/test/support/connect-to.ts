import { connect } from "node:net";
import { Agent, buildConnector, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from "undici";

/**
 * Routes the global `fetch` (the one Fedify uses) for the given hosts to local ports, like curl's
 * `--connect-to` and the provider's MIMI_DEV_CONNECT_TO: URL, Host header and every signed component
 * stay those of the public name; only the socket goes to 127.0.0.1. An `https:` URL of a mapped host
 * is spoken as plain HTTP on that port (the test stands for a TLS-terminating front), because Fedify
 * looks up `acct:` WebFinger resources over https only. Loopback addresses (the test's direct calls)
 * connect as usual; any other host is refused, so a test never reaches the network. Returns a function
 * restoring the previous dispatcher.
 */
export function routeFetchToLocalPorts(ports: ReadonlyMap<string, number>): () => Promise<void> {
  const previous: Dispatcher = getGlobalDispatcher();
  const direct = buildConnector({});
  const agent = new Agent({
    connect: (options, callback) => {
      const hostname = options.hostname.toLowerCase();
      if (hostname === "127.0.0.1" || hostname === "localhost") {
        direct(options, callback);
        return;
      }
      const port = ports.get(hostname);
      if (port === undefined) {
        callback(new Error(`no local route for ${options.hostname} in this test`), null);
        return;
      }
      const socket = connect({ host: "127.0.0.1", port });
      socket.once("connect", () => callback(null, socket));
      socket.once("error", (error) => callback(error, null));
    },
  });
  setGlobalDispatcher(agent);
  return async () => {
    setGlobalDispatcher(previous);
    await agent.close();
  };
}
