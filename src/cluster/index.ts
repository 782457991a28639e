export { Cluster, type ClusterBusStatus, type ClusterDeps, type ClusterPluginRow } from "./cluster.js";
export { CLUSTER_PROTOCOL, subjects } from "./wire.js";
