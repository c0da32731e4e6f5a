export {
  type ProviderConfig,
  parseTrustProxy,
  providerConfigSpec,
  type RawProviderConfig,
  readProviderConfig,
} from "./config.js";
export { runService } from "./run-service.js";
export { openProviderDatabase, type ServeOptions, serveProvider } from "./serve.js";
export {
  buildService,
  type ComposedServices,
  type ConfiguredService,
  configure,
  createShutdownStack,
  type Deployment,
  migrationsOf,
  type ProviderService,
  type ServiceDefinition,
  type ServiceDeps,
  type ServiceParts,
  type ShutdownStack,
  serviceBus,
  startServices,
} from "./services.js";
