export * from "./access-policy.js";
export { AuthCache } from "./auth-cache.js";
export { Authenticator, MISSING_CREDENTIAL, unauthenticated, type AuthOutcome, type AuthenticatorDeps } from "./authenticator.js";
export { credentialFromHeaders, credentialFromMetadata, credentialShape, stripBearer, MAX_CREDENTIAL_LENGTH } from "./credentials.js";
export { loadOrCreateRootToken, ROOT_TOKEN_FILE, type RootToken } from "./root-token.js";
export { stampAuthCall } from "./grant-params.js";
export { atExpiry } from "./expiry-timer.js";
export { modelGlobMatches, modelOf, onlyModelScoped, scopeAllows, splitScope } from "./model-scopes.js";
