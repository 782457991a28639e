/**
 * A bare nats.js echo, the NATS round trip with nothing of bkg or Moleculer around it: it
 * subscribes to `argv[3]` (default `hops.echo`), parses each message's JSON and publishes
 * `{ result: <it> }` to the message's reply subject. Used by bench/tools/cluster-hops.ts.
 *   argv: <nats url> [subject]
 * Prints "ready" once subscribed; exits on SIGTERM.
 */
import { connect } from "@nats-io/transport-node";

const [url, subject = "hops.echo"] = process.argv.slice(2);
const nc = await connect({ servers: url });
nc.subscribe(subject, {
  callback: (err, m) => {
    if (err || !m.reply) return;
    const value: unknown = JSON.parse(Buffer.from(m.data).toString("utf8"));
    nc.publish(m.reply, Buffer.from(JSON.stringify({ result: value })));
  },
});
await nc.flush();
process.stdout.write("ready\n");
process.on("SIGTERM", () => void nc.close().then(() => process.exit(0)));
