/**
 * Preload module of every service process: `node --import <this module> dist/main.js`. When the
 * standard OTEL_* variables ask for traces it installs the module loader hook and the instrumentations
 * before the service's own modules are linked, so express, pg, ioredis and kafkajs are patched; the
 * service's entry point then starts the SDK (`startTracing`). Without those variables it does nothing.
 */
import { preloadInstrumentations } from "./tracing.js";

await preloadInstrumentations();
