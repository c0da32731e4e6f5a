export { type AddressCategory, classifyAddress, isBlockedAddress } from "./address-policy.js";
export { type ConnectTarget, parseConnectTarget, parseConnectTo } from "./connect-to.js";
export {
  createOutboundHttp,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TOTAL_TIMEOUT_MS,
  DEFAULT_USER_AGENT,
  type HttpMethod,
  type JsonResult,
  type OutboundFailureReason,
  type OutboundHttp,
  type OutboundHttpOptions,
  type OutboundRequestInit,
  type OutboundResult,
} from "./outbound-http.js";
