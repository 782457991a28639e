export { Router, type RouteOptions, type CallObserver } from "./router.js";
