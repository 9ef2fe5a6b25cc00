// A module resolve hook (module.register) that gives processors importing only `Processor` and
// `extendLogger` from "@rdfc/js-runner" (3.x) the runner's own small module with those two exports
// (js-runner-shim.mjs) instead of the package, whose import costs about 300 ms of gRPC and protobuf.
// Anything else falls through to the real package: another version, a module that imports other names
// from it (Runner, RpcTransport, ...), a namespace import, a re-export or a dynamic import.

import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const SHIM = new URL("./js-runner-shim.mjs", import.meta.url).href;
const CHEAP = new Set(["Processor", "extendLogger"]);
const versions = new Map(); // package.json URL -> major version (number) or null
const importers = new Map(); // importer URL -> whether it only imports cheap names

async function majorVersion(entryUrl) {
  const at = entryUrl.lastIndexOf("/node_modules/@rdfc/js-runner/");
  if (at < 0) return null;
  const pkg = entryUrl.slice(0, at) + "/node_modules/@rdfc/js-runner/package.json";
  if (!versions.has(pkg)) {
    let major = null;
    try {
      major = Number(JSON.parse(await readFile(fileURLToPath(pkg), "utf8")).version.split(".")[0]);
    } catch {}
    versions.set(pkg, major);
  }
  return versions.get(pkg);
}

/** Whether every mention of "@rdfc/js-runner" in the importer is `import { <cheap names> } from`. */
export function importsOnlyCheap(source) {
  const mentions = source.match(/(["'])@rdfc\/js-runner\1/g)?.length ?? 0;
  let named = 0;
  for (const [, names] of source.matchAll(/\bimport\s*\{([^}]*)\}\s*from\s*(["'])@rdfc\/js-runner\2/g)) {
    named++;
    for (const part of names.split(",")) {
      const name = part.trim().split(/\s+as\s+/)[0].trim();
      if (name !== "" && !CHEAP.has(name)) return false;
    }
  }
  return mentions > 0 && named === mentions;
}

async function cheapImporter(parentURL) {
  if (!importers.has(parentURL)) {
    let cheap = false;
    try {
      cheap = importsOnlyCheap(await readFile(fileURLToPath(parentURL), "utf8"));
    } catch {}
    importers.set(parentURL, cheap);
  }
  return importers.get(parentURL);
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (specifier !== "@rdfc/js-runner" || !context.parentURL?.startsWith("file:")) return resolved;
  if ((await majorVersion(resolved.url)) !== 3 || !(await cheapImporter(context.parentURL))) return resolved;
  return { url: `${SHIM}?real=${encodeURIComponent(resolved.url)}`, format: "module", shortCircuit: true };
}
