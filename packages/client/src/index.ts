export { type AccountInfo, MimiApiError, ProviderApi, type ProviderApiOptions } from "./api.js";
export { mimiHome, StateStore, type StoredAccount, writeJsonAtomic } from "./state.js";
