export * from "./events.js";
export { EventBus, type Subscription } from "./event-bus.js";
