/** A bkg.v1.Bus client from schemas/bkg.proto, as a program outside bkg would build one. */
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ROOT } from "./daemon.js";

export type BusClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

const def = protoLoader.loadSync(join(ROOT, "schemas", "bkg.proto"), { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
export const Bus = (grpc.loadPackageDefinition(def) as unknown as { bkg: { v1: { Bus: new (addr: string, creds: grpc.ChannelCredentials) => BusClient } } }).bkg.v1.Bus;
