/** The protocol version this build speaks. Peers must agree on the major version (semver). */
export const PROTOCOL_VERSION = "1.0.0";
/** The range a daemon accepts by default from a plugin that declares no `protocol` in its manifest. */
export const PROTOCOL_RANGE = "^1.0.0";
