/**
 * What a benchmark ran on, for its report: CPU model and cores, memory, OS, and the WebGPU
 * adapter.
 *
 * @module
 */

import { errorMessage } from "../src/errors.ts";
import { cpus } from "node:os";

/** The machine a benchmark ran on. */
export interface MachineInfo {
  /** CPU model name, e.g. "AMD EPYC 7B13" ("unknown" where the OS does not say). */
  cpu: string;
  /** Logical cores available to the process. */
  cores: number;
  /** Total memory in GiB, when readable. */
  memoryGiB?: number;
  /** OS and architecture, e.g. "linux x86_64". */
  os: string;
  /** The WebGPU adapter's description, or why there is none. */
  adapter: string;
}

/** The CPU model name (needs --allow-sys=cpus); "unknown" when it cannot be read. */
function cpuModel(): string {
  try {
    return cpus()[0]?.model.trim() || "unknown";
  } catch {
    return "unknown";
  }
}

/** The description of the adapter resin would use, or why there is none. */
async function adapterDescription(): Promise<string> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return "none (navigator.gpu is missing)";
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) return "none (no adapter)";
    const { description, vendor, device } = adapter.info;
    return description || `${vendor} ${device}`.trim() || "unknown adapter";
  } catch (err) {
    return `none (${errorMessage(err)})`;
  }
}

/** Collects the machine description (CPU model and memory need --allow-sys). */
export async function machineInfo(): Promise<MachineInfo> {
  let memoryGiB: number | undefined;
  try {
    memoryGiB = Math.round(Deno.systemMemoryInfo().total / 2 ** 30);
  } catch {
    memoryGiB = undefined;
  }
  return {
    cpu: cpuModel(),
    cores: navigator.hardwareConcurrency,
    memoryGiB,
    os: `${Deno.build.os} ${Deno.build.arch}`,
    adapter: await adapterDescription(),
  };
}

/** One line naming the machine, e.g. "AMD EPYC, 2 cores, 8 GiB, linux x86_64; GPU: llvmpipe". */
export function machineLine(m: MachineInfo): string {
  const memory = m.memoryGiB === undefined ? "" : `, ${m.memoryGiB} GiB`;
  return `${m.cpu}, ${m.cores} cores${memory}, ${m.os}; GPU: ${m.adapter}`;
}
