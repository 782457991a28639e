/** Which part a ready instance of a generation plays: taking calls, a warm spare, or surplus. */
import type { Generation } from "./plugin-host-types.js";
import type { PluginInstance } from "./plugin-instance.js";

/**
 * Decides what a newly ready instance of the serving generation is for: taking calls while
 * fewer than `instances` do, else a warm spare while fewer than `standby` wait, else surplus
 * (stopped). Returns false for surplus.
 */
export function assignRole(gen: Generation, inst: PluginInstance): boolean {
  const role = roleFor(gen, inst);
  if (role === "serving") inst.role = "serving";
  else if (role === "standby") {
    inst.role = "standby";
    inst.state = "standby";
  } else {
    void inst.stop("surplus instance");
    return false;
  }
  return true;
}

/** Taking calls while fewer than `instances` do, else a warm spare while fewer than `standby` wait, else surplus (undefined). */
function roleFor(gen: Generation, inst: PluginInstance): "serving" | "standby" | undefined {
  const others = [...gen.instances].filter((i) => i !== inst && i.state !== "exited" && i.state !== "draining");
  const serving = others.filter((i) => i.role === "serving" && i.state === "ready").length;
  const spares = others.filter((i) => i.role === "standby" && i.state === "standby").length;
  if (serving < gen.manifest.instances) return "serving";
  if (spares < gen.manifest.standby) return "standby";
  return undefined;
}

/** A warm spare ready to take a dead serving instance's place. */
export function warmSpare(gen: Generation): PluginInstance | undefined {
  return [...gen.instances].find((i) => i.role === "standby" && i.state === "standby");
}

/** How many spares a generation should still start (after a hot swap). */
export function missingSpares(gen: Generation): number {
  const spares = [...gen.instances].filter((i) => i.role === "standby").length;
  return Math.max(0, gen.manifest.standby - spares);
}
