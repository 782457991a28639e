export { Router, type RouteOptions } from "./router.js";
