/**
 * `deno task fetch`: gets a registry model by name into the cache (from the cache, a mirror
 * directory or its public URL), verified and converted, and prints the model folder.
 *
 * ```
 * deno task fetch <name> [--cache DIR] [--mirror DIR] [--force] [--allow-unverified]
 * deno task fetch --list [--cache DIR] [--mirror DIR]
 * ```
 *
 * Exit codes: 0 success, 1 error (one line on stderr), 2 usage error.
 *
 * @module
 */

import { errorMessage } from "../src/errors.ts";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { REGISTRY } from "../src/registry/models.ts";
import {
  defaultCacheDir,
  defaultMirrorDir,
  ensureModel,
  findInMirror,
  formatBytes,
  isCached,
} from "./model_cache.ts";

const USAGE = "Usage: deno task fetch <name> [--cache DIR] [--mirror DIR] [--force] " +
  "[--allow-unverified] | --list [--cache DIR] [--mirror DIR]";

/** Prints the registry as a table: name, size, format, whether in the mirror and cached. */
async function printList(cacheDir: string, mirror: string | undefined): Promise<void> {
  const rows = [["name", "size", "format", "in mirror", "cached"]];
  for (const entry of REGISTRY) {
    const inMirror = mirror === undefined
      ? "-"
      : (await findInMirror(mirror, entry.file) ? "yes" : "no");
    const cached = await isCached(entry, join(cacheDir, entry.name)) ? "yes" : "no";
    rows.push([entry.name, formatBytes(entry.size), entry.format, inMirror, cached]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) {
    console.log(row.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd());
  }
}

/** Parses the command line and runs; returns the exit code. */
async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        cache: { type: "string" },
        mirror: { type: "string" },
        force: { type: "boolean" },
        list: { type: "boolean" },
        "allow-unverified": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    console.error(`fetch: ${(err as Error).message}. ${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.list ? positionals.length !== 0 : positionals.length !== 1) {
    console.error(`fetch: expected one model name, or --list alone. ${USAGE}`);
    return 2;
  }
  try {
    const cacheDir = values.cache ?? defaultCacheDir();
    const mirror = values.mirror ?? defaultMirrorDir();
    if (values.list) {
      await printList(cacheDir, mirror);
    } else {
      console.log(
        await ensureModel(positionals[0], {
          cacheDir,
          mirror,
          force: values.force,
          allowUnverified: values["allow-unverified"],
        }),
      );
    }
    return 0;
  } catch (err) {
    const message = errorMessage(err);
    console.error(`fetch: ${message.replaceAll("\n", " ")}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
