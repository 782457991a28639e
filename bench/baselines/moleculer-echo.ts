/**
 * The Moleculer baseline's serving node: a ServiceBroker with the NATS transporter and one
 * service, echo, whose action returns its params. The calling broker is in the benchmark process.
 * argv: <nats url>. Prints "ready" once connected; exits on SIGTERM.
 */
import moleculer from "moleculer";

const broker = new moleculer.ServiceBroker({ nodeID: "bench-server", transporter: { type: "NATS", options: { url: process.argv[2] } }, logger: false });
broker.createService({ name: "echo", actions: { echo: (ctx: moleculer.Context) => ctx.params } });
await broker.start();
process.stdout.write("ready\n");
process.on("SIGTERM", () => void broker.stop().then(() => process.exit(0)));
