// @peculiar/x509 needs the Reflect metadata polyfill loaded once before it; importing this package
// (or any of its modules, through ./x509-library.ts) takes care of that.
import "reflect-metadata";

export {
  createMimiAuthenticationService,
  type MimiAuthenticationService,
  type MimiAuthenticationServiceOptions,
  x509Credential,
} from "./authentication-service.js";
export {
  CA_COMMON_NAME_SUFFIX,
  createDomainCa,
  DEFAULT_CA_VALIDITY_DAYS,
  type DomainCa,
  type DomainCaMaterial,
  domainOfCaCertificate,
  loadDomainCa,
} from "./ca.js";
export {
  buildMimiConfiguration,
  MIMI_CONFIGURATION_PATH,
  type MimiConfiguration,
  type MimiConfigurationResult,
  mimiConfigurationUrl,
  parseMimiConfiguration,
} from "./configuration.js";
export {
  ACCT_SCHEME,
  acctUri,
  CLIENT_ID_SCHEME,
  type ClientIdentity,
  clientIdUri,
  isValidClientId,
  isValidDomain,
  isValidUser,
  parseAcctUri,
  parseClientIdUri,
  validateClientIdentity,
} from "./identifiers.js";
export {
  type ClientCertificateRequest,
  DEFAULT_CLIENT_CERTIFICATE_VALIDITY_DAYS,
  type IssuedClientCertificate,
  issueClientCertificate,
  NOT_BEFORE_BACKDATE_MS,
} from "./issue.js";
export {
  type ConfigurationLookup,
  createIssuersFetcher,
  type IssuersFetcher,
  type IssuersFetcherOptions,
} from "./issuers-fetcher.js";
export {
  createChallenge,
  isWellFormedChallenge,
  PROOF_OF_POSSESSION_CONTEXT,
  type ProofOfPossessionFields,
  proofOfPossessionMessage,
  signProofOfPossession,
  verifyProofOfPossession,
} from "./proof-of-possession.js";
export {
  type ClientCertificateContents,
  type CredentialFailure,
  type CredentialFailureReason,
  type CredentialVerification,
  type IssuersFor,
  type IssuersResult,
  readClientCertificate,
  type VerifiedClientIdentity,
  type VerifyClientCredentialOptions,
  verifyClientCredential,
} from "./verify.js";
