export * as calls from "./calls.js";
export * as large from "./large.js";
export * as lifecycle from "./lifecycle.js";
export * as outbound from "./outbound.js";
export * as protocol from "./protocol.js";
