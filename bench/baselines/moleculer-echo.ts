/**
 * The Moleculer baseline's serving node: a ServiceBroker with one service, echo, whose action
 * returns its params. The calling broker is in the benchmark process.
 *   argv: nats <nats url>                      — the NATS transporter (the cluster scenario)
 *   argv: tcp <own port> <caller port>         — the TCP transporter, no UDP discovery: the two
 *                                                brokers know each other from static urls
 *                                                (the socket scenario)
 * Prints "ready" once connected; exits on SIGTERM.
 */
import moleculer from "moleculer";

const [kind, a, b] = process.argv.slice(2);
const transporter: moleculer.BrokerOptions["transporter"] =
  kind === "tcp" ? { type: "TCP", options: { udpDiscovery: false, port: Number(a), urls: `127.0.0.1:${b}/bench-caller` } } : { type: "NATS", options: { url: kind === "nats" ? a : kind } };
const broker = new moleculer.ServiceBroker({ nodeID: "bench-server", transporter, logger: false });
broker.createService({ name: "echo", actions: { echo: (ctx: moleculer.Context) => ctx.params } });
await broker.start();
process.stdout.write("ready\n");
process.on("SIGTERM", () => void broker.stop().then(() => process.exit(0)));
