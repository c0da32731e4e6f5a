import { parse } from "@mimi/service-kit";

/** Identity's own settings, beside the provider-wide ones in @mimi/provider-config. */
export const identityConfigSpec = {
  openRegistrations: {
    env: "MIMI_OPEN_REGISTRATIONS",
    schema: parse.boolean(),
    default: "true",
    description: "whether anyone may create an account through the API",
  },
};
