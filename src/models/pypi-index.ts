/**
 * Resolves a pypi: source to one distribution file through the simple index's JSON form
 * (PEP 691: GET <index>/<project>/ with Accept: application/vnd.pypi.simple.v1+json). The
 * index gives each file's sha256, which the download is checked against.
 */
import { ModelError } from "./model-errors.js";
import { describeFetchError } from "./http-download.js";

export interface Distribution {
  filename: string;
  url: string;
  sha256?: string;
  size?: number;
}

interface SimpleFile {
  filename: string;
  url: string;
  hashes?: Record<string, string>;
  size?: number;
  yanked?: boolean | string;
}

/** PEP 503 normalisation: runs of -, _ and . become one -, lowercase. */
export function normalizeProject(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/** Does a distribution file name belong to this project and version? */
function matches(filename: string, project: string, version: string): "wheel" | "sdist" | undefined {
  const p = normalizeProject(project);
  if (filename.endsWith(".whl")) {
    const [name, ver] = filename.split("-");
    return normalizeProject(name) === p && ver === version ? "wheel" : undefined;
  }
  const m = /^(.+)-([^-]+)\.(tar\.gz|zip)$/.exec(filename);
  return m && normalizeProject(m[1]) === p && m[2] === version ? "sdist" : undefined;
}

/**
 * Finds the file to download: a pure-Python wheel (py3-none-any) first, then any wheel, then the
 * sdist; `dist` restricts to one kind. Rejects with FetchFailed naming the index and what it lists.
 */
export async function resolvePypi(index: string, project: string, version: string, dist: "wheel" | "sdist" | undefined, signal?: AbortSignal): Promise<Distribution> {
  const page = `${index.replace(/\/+$/, "")}/${normalizeProject(project)}/`;
  let res: Response;
  try {
    res = await fetch(page, { headers: { accept: "application/vnd.pypi.simple.v1+json" }, signal });
  } catch (e) {
    if (signal?.aborted) throw new ModelError("Cancelled", `lookup of ${project} cancelled`);
    throw new ModelError("FetchFailed", `the package index ${page} could not be reached: ${describeFetchError(e)}`);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new ModelError("FetchFailed", `the package index ${page} answered HTTP ${res.status}${res.status === 404 ? ` (no project ${project})` : ""}`);
  }
  let body: { files?: SimpleFile[] };
  try {
    body = (await res.json()) as { files?: SimpleFile[] };
  } catch {
    throw new ModelError("FetchFailed", `the package index ${page} did not answer JSON (does it support PEP 691, application/vnd.pypi.simple.v1+json?)`);
  }
  const files = (body.files ?? []).filter((f) => !f.yanked && typeof f.filename === "string");
  const candidates = files.map((f) => ({ f, kind: matches(f.filename, project, version) })).filter((c) => c.kind && (!dist || c.kind === dist));
  const rank = (c: { f: SimpleFile; kind?: string }) => (c.kind === "wheel" ? (c.f.filename.endsWith("-py3-none-any.whl") ? 0 : 1) : 2);
  candidates.sort((a, b) => rank(a) - rank(b));
  const pick = candidates[0]?.f;
  if (!pick) {
    const versions = [...new Set(files.map((f) => f.filename.split("-")[1]).filter(Boolean))].slice(-10);
    throw new ModelError("FetchFailed", `${page} has no ${dist ?? "wheel or sdist"} for ${project}==${version}${versions.length ? ` (files for: ${versions.join(", ")})` : ""}`);
  }
  return {
    filename: pick.filename,
    url: new URL(pick.url, page).toString(),
    ...(pick.hashes?.sha256 ? { sha256: pick.hashes.sha256.toLowerCase() } : {}),
    ...(typeof pick.size === "number" ? { size: pick.size } : {}),
  };
}
