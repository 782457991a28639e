export * from "./version.js";
export * from "./error-codes.js";
export * from "./errors.js";
export * from "./messages.js";
export * from "./framing.js";
export * from "./connection.js";
export * from "./peer.js";
export * from "./cancellation.js";
