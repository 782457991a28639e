export { Router, type RouteOptions, type CallObserver, type RemoteRoutes, type RemoteCall } from "./router.js";
