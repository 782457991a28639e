/**
 * bkg users add|list|delete and bkg keys create|list|revoke|rotate: the auth plugin's methods
 * (auth.createUser, auth.createKey, ...) over the unix socket, which is trusted by its file
 * mode, so these work before any user or key exists. The audit log records the actor as
 * `cli:<os user>`. Secrets (a new key) are printed once, on stdout, and nowhere else.
 */
import { userInfo } from "node:os";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { configOrExit, withClient, type GlobalOptions } from "./connect-daemon.js";
import { CliExit, EXIT, describeError, printJson, printTable } from "./output.js";

const ROLES = ["viewer", "operator", "admin"];

interface KeyView {
  id: string;
  name: string;
  role: string;
  scopes: string[];
  owner: { id: string; username: string } | null;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  key?: string;
}

const when = (t: number | null) => (t === null ? "-" : new Date(t).toISOString().slice(0, 16).replace("T", " "));

function roleOf(r: string | undefined): string {
  if (!r || !ROLES.includes(r)) throw new CliExit(EXIT.usage, `bkg: --role must be one of ${ROLES.join(", ")}`);
  return r;
}

function daysOf(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0)) throw new CliExit(EXIT.usage, `bkg: --expires-in-days must be a positive number, got ${v}`);
  return n;
}

/** Reads a password from stdin (--password-stdin), or asks twice on a terminal without echoing it. */
async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    let text = "";
    for await (const chunk of process.stdin) text += chunk;
    return text.replace(/\r?\n$/, "");
  }
  if (!process.stdin.isTTY) throw new CliExit(EXIT.usage, "bkg: no terminal to ask for the password; pipe it in with --password-stdin");
  const ask = (q: string) =>
    new Promise<string>((resolve) => {
      const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
        if (s.includes(q)) process.stdout.write(q);
      };
      rl.question(q, (a) => {
        rl.close();
        process.stdout.write("\n");
        resolve(a);
      });
    });
  const a = await ask("password: ");
  if ((await ask("again: ")) !== a) throw new CliExit(EXIT.usage, "bkg: the passwords differ");
  return a;
}

export function registerAuthCommands(program: Command, globals: () => GlobalOptions): void {
  const actor = `cli:${userInfo().username}`;
  /** Calls <auth plugin>.auth.<method> over the socket; failures become one line and exit 1. */
  const auth = <T>(method: string, params: Record<string, unknown>) =>
    withClient(globals(), async (c) => {
      const plugin = configOrExit(globals()).auth.plugin;
      try {
        return await c.call<T>(`${plugin}.auth.${method}`, params);
      } catch (e) {
        throw new CliExit(EXIT.error, `bkg: ${plugin}.auth.${method}: ${describeError(e)}`);
      }
    });

  const users = program.command("users").description("users of the HTTP, WebSocket and gRPC APIs (through the auth plugin)");
  users
    .command("add <username>")
    .description("create a user; the password is asked for, or read from stdin with --password-stdin")
    .requiredOption("--role <role>", "viewer | operator | admin")
    .option("--password-stdin", "read the password from stdin")
    .option("--json", "print JSON")
    .action(async (username: string, o: { role: string; passwordStdin?: boolean; json?: boolean }) => {
      const role = roleOf(o.role);
      const password = await readPassword(Boolean(o.passwordStdin));
      const u = await auth<{ id: string; username: string; role: string }>("createUser", { username, password, role, actor });
      if (o.json) return printJson(u);
      process.stdout.write(`created user ${u.username} (${u.id}), role ${u.role}\n`);
    });
  users
    .command("list")
    .description("every user")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      const { users: list } = await auth<{ users: { id: string; username: string; role: string; createdAt: number }[] }>("listUsers", {});
      if (o.json) return printJson(list);
      printTable(
        ["ID", "USERNAME", "ROLE", "CREATED"],
        list.map((u) => [u.id, u.username, u.role, when(u.createdAt)]),
      );
    });
  users
    .command("delete <user>")
    .description("delete a user (by username or id) and revoke their keys and sessions")
    .action(async (ref: string) => {
      const r = await auth<{ username: string; revokedKeys: string[] }>("deleteUser", { ...(ref.startsWith("usr_") ? { id: ref } : { username: ref }), actor });
      process.stdout.write(`deleted user ${r.username}; revoked ${r.revokedKeys.length} key(s)\n`);
    });

  const keys = program.command("keys").description("API keys for the HTTP, WebSocket and gRPC APIs (through the auth plugin)");
  keys
    .command("create <name>")
    .description("create an API key; the secret is printed once")
    .requiredOption("--role <role>", "viewer | operator | admin")
    .option("--scope <pattern...>", 'what it may do: "echo.*", "echo.reverse", "bkg.plugins.*", "*" (default "*"); ":<model glob>" limits a scope to models, e.g. "llmserver.chat:smollm2-*"')
    .option("--expires-in-days <n>", "lifetime in days (default: never expires)")
    .option("--owner <user>", "the user (username or id) it belongs to; its role may not exceed theirs")
    .option("--json", "print JSON (the secret is in .key)")
    .action(async (name: string, o: { role: string; scope?: string[]; expiresInDays?: string; owner?: string; json?: boolean }) => {
      const params: Record<string, unknown> = { name, role: roleOf(o.role), scopes: o.scope?.length ? o.scope : ["*"], actor };
      const days = daysOf(o.expiresInDays);
      if (days !== undefined) params.expiresInDays = days;
      if (o.owner) params.owner = o.owner;
      const k = await auth<KeyView>("createKey", params);
      if (o.json) return printJson(k);
      process.stdout.write(`created key ${k.id} "${k.name}" (role ${k.role}, scopes ${k.scopes.join(" ")}, expires ${when(k.expiresAt)})\n`);
      process.stdout.write(`secret (shown this once; use it as Authorization: Bearer <secret> or X-API-Key):\n${k.key}\n`);
    });
  keys
    .command("list")
    .description("API keys (never their secrets)")
    .option("--active", "leave out revoked keys")
    .option("--json", "print JSON")
    .action(async (o: { active?: boolean; json?: boolean }) => {
      const { keys: list } = await auth<{ keys: KeyView[] }>("listKeys", { includeRevoked: !o.active });
      if (o.json) return printJson(list);
      printTable(
        ["ID", "NAME", "ROLE", "SCOPES", "OWNER", "EXPIRES", "LAST USED", "REVOKED"],
        list.map((k) => [k.id, k.name, k.role, k.scopes.join(" "), k.owner?.username ?? "-", when(k.expiresAt), when(k.lastUsedAt), when(k.revokedAt)]),
      );
    });
  keys
    .command("revoke <id>")
    .description("revoke a key; it stops working at once")
    .option("--reason <text>", "recorded in the audit log")
    .action(async (id: string, o: { reason?: string }) => {
      const r = await auth<KeyView & { alreadyRevoked: boolean }>("revokeKey", { id, actor, ...(o.reason ? { reason: o.reason } : {}) });
      process.stdout.write(r.alreadyRevoked ? `key ${r.id} was already revoked\n` : `revoked key ${r.id} "${r.name}"\n`);
    });
  keys
    .command("rotate <id>")
    .description("give a key a new secret (printed once); the old one stops working at once")
    .option("--expires-in-days <n>", "a new lifetime in days")
    .option("--json", "print JSON (the secret is in .key)")
    .action(async (id: string, o: { expiresInDays?: string; json?: boolean }) => {
      const days = daysOf(o.expiresInDays);
      const k = await auth<KeyView>("rotateKey", { id, actor, ...(days !== undefined ? { expiresInDays: days } : {}) });
      if (o.json) return printJson(k);
      process.stdout.write(`rotated key ${k.id} "${k.name}"; new secret (shown this once):\n${k.key}\n`);
    });
}
